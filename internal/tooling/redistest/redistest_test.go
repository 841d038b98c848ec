package redistest

import (
	"net"
	"testing"
)

func TestStartStop(t *testing.T) {
	s := Start(t)
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	s.Stop()
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Fatal("still listening after Stop")
	}
	s.Restart(t)
	if c, err := net.Dial("tcp", s.Addr); err != nil {
		t.Fatal("not listening after Restart")
	} else {
		c.Close()
	}
}
