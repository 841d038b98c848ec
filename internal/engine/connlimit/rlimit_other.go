//go:build !unix

package connlimit

// DescriptorLimit returns 0: the descriptor limit is not known on this platform.
func DescriptorLimit() uint64 { return 0 }
