//go:build unix

package connlimit

import "syscall"

// DescriptorLimit returns the process's limit on open file descriptors (RLIMIT_NOFILE, which
// Go raises to the hard limit at start-up), or 0 when it cannot be read.
func DescriptorLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur) // int64 on some platforms
}
