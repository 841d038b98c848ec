// Package redistest starts real Redis topologies on free loopback ports for tests: one
// redis-server (Start), a Redis Cluster of masters (StartCluster), and a master with a replica
// watched by three sentinels (StartSentinel). The binary comes from PATH (Debian's
// redis-server, which also runs as a sentinel with --sentinel); without it a test is skipped
// locally and fails under CI=true, where .ci/run installs it.
package redistest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server (or sentinel).
type Server struct {
	Addr string
	Port int
	cmd  *exec.Cmd
	bin  string
	args []string
	dir  string
	tls  *tls.Config // the server speaks only TLS
}

// Start runs redis-server (no persistence) until the test ends and returns it once it
// answers PING.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, t.TempDir(), nil)
}

// start runs redis-server on a free loopback port with the arguments extra returns (nil:
// none), data in dir. A port taken between FreePort choosing it and the server binding it
// (by another test's server, which then answers in its place) is given up for another.
func start(t testing.TB, dir string, extra func() []string) *Server {
	t.Helper()
	bin := binary(t)
	for attempt := 1; ; attempt++ {
		port := FreePort(t)
		s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, bin: bin, dir: dir}
		s.args = []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir}
		if extra != nil {
			s.args = append(s.args, extra()...)
		}
		err := s.tryRun()
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		s.Stop()
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatal(err)
		}
	}
}

// errPortTaken: the server answering on a started server's address is another process.
var errPortTaken = errors.New("another process answers on the port")

// binary is redis-server's path; missing, the test is skipped, or fails under CI=true.
func binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed (CI=true): %v", err)
		}
		t.Skip("redis-server not on PATH; install Debian's redis-server (CI fails instead of skipping)")
	}
	return bin
}

// FreePort returns a loopback TCP port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

func (s *Server) run(t testing.TB) {
	t.Helper()
	if err := s.tryRun(); err != nil {
		t.Fatal(err)
	}
}

// tryRun starts the server and waits until it answers; errPortTaken when what answers is
// another process (its INFO gives another process id).
func (s *Server) tryRun() error {
	s.cmd = exec.Command(s.bin, s.args...)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	if err := s.waitReady(10 * time.Second); err != nil {
		return err
	}
	pid, err := s.processID()
	if err != nil {
		return err
	}
	if pid != 0 && pid != s.cmd.Process.Pid {
		return fmt.Errorf("redis-server on %s: %w (process %d, not %d)", s.Addr, errPortTaken, pid, s.cmd.Process.Pid)
	}
	return nil
}

// processID is the process id the server on s.Addr reports (INFO server), or 0 when it asks
// for a password first.
func (s *Server) processID() (int, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return 0, err
	}
	if s.tls != nil {
		conn = tls.Client(conn, s.tls)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprint(conn, "INFO server\r\n"); err != nil {
		return 0, err
	}
	r := bufio.NewReader(conn)
	head, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(head, "-NOAUTH") {
		return 0, nil
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, fmt.Errorf("redis-server on %s: no process_id in INFO server: %w", s.Addr, err)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
}

// Stop kills the server with SIGKILL (as a crash would). Safe to call twice.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same address, with the same arguments, after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.run(t)
}

func (s *Server) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond); err == nil {
			if s.tls != nil {
				conn = tls.Client(conn, s.tls)
			}
			_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
			_, _ = fmt.Fprint(conn, "PING\r\n")
			line, _ := bufio.NewReader(conn).ReadString('\n')
			_ = conn.Close()
			// A server requiring a password answers, refusing: it is up.
			if strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH") {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s did not answer PING within %s", s.Addr, within)
}
