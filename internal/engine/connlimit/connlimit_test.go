package connlimit

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/configerr"
)

// fakeConn is a connection from a chosen address that records its close.
type fakeConn struct {
	net.Conn // nil: only RemoteAddr and Close are used
	remote   net.Addr
	closed   atomic.Bool
}

func (f *fakeConn) RemoteAddr() net.Addr { return f.remote }
func (f *fakeConn) Close() error         { f.closed.Store(true); return nil }

func from(addr string) *fakeConn {
	return &fakeConn{remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr))}
}

// fakeListener hands out queued connections, then reports itself closed.
type fakeListener struct{ conns chan net.Conn }

func (f *fakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-f.conns:
		return c, nil
	default:
		return nil, net.ErrClosed
	}
}
func (f *fakeListener) Close() error   { return nil }
func (f *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func testLimiter(cfg Config, hooks Hooks) (*Limiter, *clock) {
	cfg.setDefaults(0)
	l := newLimiter(cfg, hooks)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	l.now = clk.now
	return l, clk
}

func TestPerClientCap(t *testing.T) {
	t.Parallel()
	var refused []Reason
	l, _ := testLimiter(Config{Max: 10, MaxPerClient: 2}, Hooks{OnRefuse: func(r Reason) { refused = append(refused, r) }})
	a1, a2, a3, b1 := from("127.0.0.2:1001"), from("127.0.0.2:1002"), from("127.0.0.2:1003"), from("127.0.0.3:1001")
	ln := l.Listener(&fakeListener{conns: make(chan net.Conn, 4)})
	fl := ln.(*listener).Listener.(*fakeListener)
	for _, c := range []net.Conn{a1, a2, a3, b1} {
		fl.conns <- c
	}
	var got []net.Conn
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		got = append(got, c)
	}
	if len(got) != 3 || !a3.closed.Load() || a1.closed.Load() || b1.closed.Load() {
		t.Fatalf("accepted %d, a3 closed %v: want a1, a2, b1 accepted and a3 closed", len(got), a3.closed.Load())
	}
	if len(refused) != 1 || refused[0] != ReasonClientLimit {
		t.Fatalf("refusals %v, want [client_limit]", refused)
	}
	// A closed connection frees its client's slot.
	got[0].Close()
	got[0].Close() // twice: counted out once
	if c, _, r := l.admit(from("127.0.0.2:1004")); c == nil {
		t.Fatalf("after a close, refused: %s", r)
	}
	if l.Open() != 3 {
		t.Fatalf("open %d, want 3", l.Open())
	}
}

func TestOverallCapClosesTheOldestIdle(t *testing.T) {
	t.Parallel()
	var idleClosed []Reason
	l, clk := testLimiter(Config{Max: 3, MaxPerClient: -1, IdleTimeoutUnderPressure: time.Hour},
		Hooks{OnIdleClose: func(r Reason) { idleClosed = append(idleClosed, r) }})
	admit := func(addr string) (*conn, *fakeConn, Reason) {
		f := from(addr)
		c, victims, r := l.admit(f)
		for _, v := range victims {
			v.c.Conn.Close()
			idleClosed = append(idleClosed, v.reason)
		}
		return c, f, r
	}
	c1, f1, _ := admit("127.0.0.2:1")
	c2, f2, _ := admit("127.0.0.2:2")
	c3, _, _ := admit("127.0.0.2:3")
	l.ConnState(c2, http.StateIdle)
	clk.t = clk.t.Add(time.Second)
	l.ConnState(c1, http.StateIdle)
	l.ConnState(c3, http.StateActive)

	// At the cap: the longest idle (c2) makes room.
	if c, _, r := admit("127.0.0.9:1"); c == nil {
		t.Fatalf("refused at the cap with idle connections: %s", r)
	}
	if !f2.closed.Load() || f1.closed.Load() {
		t.Fatalf("closed c2 %v, c1 %v: want the longest idle (c2) closed", f2.closed.Load(), f1.closed.Load())
	}
	// An idle connection that turned active is not a candidate.
	l.ConnState(c1, http.StateActive)
	if c, _, r := admit("127.0.0.9:2"); c != nil || r != ReasonLimit {
		t.Fatalf("at the cap with nothing idle: admitted %v, reason %q; want refused (limit)", c != nil, r)
	}
	if len(idleClosed) != 1 || idleClosed[0] != ReasonLimit {
		t.Fatalf("idle closes %v, want [limit]", idleClosed)
	}
	// A late StateIdle of a closed connection does not list it again.
	l.ConnState(c2, http.StateIdle)
	if l.idle.Len() != 0 {
		t.Fatalf("%d idle listed, want 0", l.idle.Len())
	}
}

func TestPressureClosesLongIdle(t *testing.T) {
	t.Parallel()
	l, clk := testLimiter(Config{Max: 8, MaxPerClient: -1, IdleTimeoutUnderPressure: 5 * time.Second}, Hooks{})
	var conns []*conn
	for range 5 {
		c, _, _ := l.admit(from("127.0.0.2:1"))
		conns = append(conns, c)
	}
	l.ConnState(conns[0], http.StateIdle)
	l.ConnState(conns[1], http.StateIdle)
	clk.t = clk.t.Add(4 * time.Second)
	l.ConnState(conns[2], http.StateIdle)
	clk.t = clk.t.Add(2 * time.Second) // conns 0 and 1 idle 6 s, conn 2 idle 2 s

	// Below the high-water mark (6 of 8): nothing is closed.
	c, victims, _ := l.admit(from("127.0.0.3:1"))
	if c == nil || len(victims) != 0 {
		t.Fatalf("below the high-water mark: admitted %v, %d closed", c != nil, len(victims))
	}
	// At it: the connections idle longer than 5 s are closed, not the younger one.
	c, victims, _ = l.admit(from("127.0.0.3:2"))
	if c == nil || len(victims) != 2 || victims[0].c != conns[0] || victims[1].c != conns[1] || victims[0].reason != ReasonPressure {
		t.Fatalf("at the high-water mark: admitted %v, closed %v", c != nil, victims)
	}
	if l.Open() != 5 {
		t.Fatalf("open %d, want 5", l.Open())
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 1}, "2001:db8:1:2::"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::1"), Port: 1, Zone: "eth0"}, "2001:db8:1:2::"},
		{&net.UnixAddr{Name: "/tmp/s", Net: "unix"}, ""},
	}
	for _, tt := range tests {
		got, ok := clientKey(tt.addr)
		if s := got.String(); ok != (tt.want != "") || ok && s != tt.want {
			t.Errorf("clientKey(%v) = %s, %v; want %q", tt.addr, s, ok, tt.want)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		cfg      Config
		nofile   uint64
		wantMax  int
		wantPer  int
		problems []string // paths
	}{
		{"derived from a large limit", Config{}, 1 << 20, DefaultMax, DefaultMaxPerClient, nil},
		{"derived from 20000", Config{}, 20000, DefaultMax, DefaultMaxPerClient, nil},
		{"derived from 1024", Config{}, 1024, 768, DefaultMaxPerClient, nil},
		{"derived from 200", Config{}, 200, 136, 136, nil},
		{"limit unknown", Config{}, 0, DefaultMax, DefaultMaxPerClient, nil},
		{"explicit within the limit", Config{Max: 15000, MaxPerClient: 10}, 20000, 15000, 10, nil},
		{"explicit over the limit", Config{Max: 15001}, 20000, 15001, DefaultMaxPerClient, []string{"max"}},
		{"per client off", Config{Max: 100, MaxPerClient: -1}, 0, 100, -1, nil},
		{"per client over max", Config{Max: 100, MaxPerClient: 101}, 0, 100, 101, []string{"maxPerClient"}},
		{"negative", Config{Max: -1, MaxPerClient: -2, IdleTimeoutUnderPressure: -time.Second}, 0, -1, -2, []string{"max", "maxPerClient", "idleTimeoutUnderPressure"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := tt.cfg
			c.setDefaults(tt.nofile)
			if c.Max != tt.wantMax || c.MaxPerClient != tt.wantPer {
				t.Fatalf("defaults: max %d, maxPerClient %d; want %d, %d", c.Max, c.MaxPerClient, tt.wantMax, tt.wantPer)
			}
			var paths []string
			for _, fe := range configerr.List(c.validate(tt.nofile)) {
				paths = append(paths, fe.Path)
			}
			if len(paths) != len(tt.problems) {
				t.Fatalf("problems at %v, want %v", paths, tt.problems)
			}
			for i := range paths {
				if paths[i] != tt.problems[i] {
					t.Fatalf("problems at %v, want %v", paths, tt.problems)
				}
			}
		})
	}
}

func TestNewRefusesABadConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Max: -5}, Hooks{})
	var fe *configerr.FieldError
	if !errors.As(err, &fe) || fe.Path != "max" {
		t.Fatalf("New: %v, want a FieldError at max", err)
	}
}
