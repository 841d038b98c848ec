// Package connlimit caps the connections a listener holds, overall and per client address,
// and closes idle keep-alive connections under pressure, so that a flood of idle connections
// can neither exhaust the process's file descriptors nor lock out new clients.
//
// Accept never blocks on a full listener (golang.org/x/net/netutil.LimitListener does, which
// leaves every new client waiting in the kernel's backlog until a holder lets go): a new
// connection over its client's cap is closed at once, before a byte is read; at the overall
// cap the oldest idle keep-alive connection is closed to make room, and only when none is idle
// is the new connection closed. Above a high-water mark (three quarters of the cap), keep-alive
// connections idle for longer than IdleTimeoutUnderPressure are closed as new ones arrive.
package connlimit

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/contractgate/contractgate/internal/engine/configerr"
)

// Defaults.
const (
	// DefaultMax caps the derived default of Config.Max.
	DefaultMax = 10000
	// DefaultMaxPerClient is the default of Config.MaxPerClient.
	DefaultMaxPerClient = 256
	// DefaultIdleTimeoutUnderPressure is the default of Config.IdleTimeoutUnderPressure.
	DefaultIdleTimeoutUnderPressure = 5 * time.Second
	// minReserve is the fewest descriptors left for everything but client connections.
	minReserve = 64
)

// Config caps a listener's connections.
type Config struct {
	// Max caps the open client connections. Default: three quarters of the process's file
	// descriptor limit (RLIMIT_NOFILE), at most 10000; a quarter (at least 64) is left for
	// upstream connections, stores and files, and a larger value is refused.
	Max int `yaml:"max"`
	// MaxPerClient caps the open connections of one client address (an IPv4 address, an IPv6
	// /64). -1 disables the cap (behind a proxy that does not preserve client addresses).
	// Default 256, at most Max.
	MaxPerClient int `yaml:"maxPerClient"`
	// IdleTimeoutUnderPressure: once open connections pass three quarters of Max, keep-alive
	// connections idle this long are closed as new connections arrive. Default 5s.
	IdleTimeoutUnderPressure time.Duration `yaml:"idleTimeoutUnderPressure"`
}

// SetDefaults fills unset fields, deriving Max from the process's descriptor limit.
func (c *Config) SetDefaults() { c.setDefaults(DescriptorLimit()) }

// Validate checks the configuration against the process's descriptor limit; every problem
// is a *configerr.FieldError.
func (c *Config) Validate() error { return c.validate(DescriptorLimit()) }

// allowed is the most client connections a descriptor limit leaves room for (0: unknown).
func allowed(nofile uint64) int {
	if nofile == 0 {
		return 0
	}
	reserve := max(nofile/4, minReserve)
	if nofile <= reserve {
		return 1
	}
	return int(min(nofile-reserve, 1<<30))
}

func (c *Config) setDefaults(nofile uint64) {
	if c.Max == 0 {
		c.Max = DefaultMax
		if a := allowed(nofile); a > 0 {
			c.Max = min(c.Max, a)
		}
	}
	if c.MaxPerClient == 0 {
		c.MaxPerClient = min(DefaultMaxPerClient, max(c.Max, 1))
	}
	if c.IdleTimeoutUnderPressure == 0 {
		c.IdleTimeoutUnderPressure = DefaultIdleTimeoutUnderPressure
	}
}

func (c *Config) validate(nofile uint64) error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &configerr.FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	if c.Max < 1 {
		bad("max", "must be at least 1, got %d", c.Max)
	} else if a := allowed(nofile); a > 0 && c.Max > a {
		bad("max", "%d leaves too few of the process's %d file descriptors (RLIMIT_NOFILE) for upstream connections and files: at most %d, or raise the limit", c.Max, nofile, a)
	}
	if c.MaxPerClient < -1 || c.MaxPerClient == 0 {
		bad("maxPerClient", "must be at least 1, or -1 for no cap, got %d", c.MaxPerClient)
	} else if c.Max >= 1 && c.MaxPerClient > c.Max {
		bad("maxPerClient", "must be at most max (%d), got %d", c.Max, c.MaxPerClient)
	}
	if c.IdleTimeoutUnderPressure <= 0 {
		bad("idleTimeoutUnderPressure", "must be a positive duration, got %s", c.IdleTimeoutUnderPressure)
	}
	return errors.Join(errs...)
}

// Reason says why a connection was refused or closed; the values are a fixed set, fit for a
// metric label.
type Reason string

// Reasons.
const (
	// ReasonLimit: the listener held Max connections (refused: none of them was idle).
	ReasonLimit Reason = "limit"
	// ReasonClientLimit: the client address held MaxPerClient connections.
	ReasonClientLimit Reason = "client_limit"
	// ReasonPressure: idle longer than IdleTimeoutUnderPressure above the high-water mark.
	ReasonPressure Reason = "pressure"
)

// Hooks report what the limiter does (for metrics). Nil hooks are skipped. They are called
// from the accepting goroutine, without the limiter's lock held.
type Hooks struct {
	// OnRefuse is called for a new connection closed at once (ReasonLimit, ReasonClientLimit).
	OnRefuse func(Reason)
	// OnIdleClose is called for an idle keep-alive connection closed to make room
	// (ReasonLimit) or under pressure (ReasonPressure).
	OnIdleClose func(Reason)
}

// Limiter tracks the connections of the listeners it wraps. Safe for concurrent use.
type Limiter struct {
	cfg       Config
	hooks     Hooks
	highWater int
	now       func() time.Time

	mu        sync.Mutex
	open      int
	perClient map[netip.Addr]int
	idle      idleList // longest idle first
}

// New returns a limiter; cfg is defaulted and validated.
func New(cfg Config, hooks Hooks) (*Limiter, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("connlimit: %w", err)
	}
	return newLimiter(cfg, hooks), nil
}

func newLimiter(cfg Config, hooks Hooks) *Limiter {
	return &Limiter{cfg: cfg, hooks: hooks, highWater: max(cfg.Max*3/4, 1), now: time.Now, perClient: map[netip.Addr]int{}}
}

// Open returns the number of open connections.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Idle returns the number of idle keep-alive connections.
func (l *Limiter) Idle() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idle.Len()
}

// Listener wraps ln: its connections count against the limits.
func (l *Limiter) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, l: l} }

// ConnState tracks idle keep-alive connections; install it as http.Server.ConnState (TLS
// connections are unwrapped). Connections of other listeners are ignored.
func (l *Limiter) ConnState(nc net.Conn, st http.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released {
		return
	}
	if st == http.StateIdle {
		if !c.idle {
			c.idleSince = l.now()
			l.idle.pushBack(c)
		}
		return
	}
	l.unidle(c)
}

type listener struct {
	net.Listener
	l *Limiter
}

// Accept returns the next connection within the limits; the others are closed at once.
func (ln *listener) Accept() (net.Conn, error) {
	for {
		nc, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c, victims, reason := ln.l.admit(nc)
		for _, v := range victims {
			_ = v.c.Conn.Close()
			if ln.l.hooks.OnIdleClose != nil {
				ln.l.hooks.OnIdleClose(v.reason)
			}
		}
		if c != nil {
			return c, nil
		}
		_ = nc.Close()
		if ln.l.hooks.OnRefuse != nil {
			ln.l.hooks.OnRefuse(reason)
		}
	}
}

type victim struct {
	c      *conn
	reason Reason
}

// admit counts nc in, or returns why not; victims are idle connections it released to make
// room, for the caller to close outside the lock.
func (l *Limiter) admit(nc net.Conn) (*conn, []victim, Reason) {
	key, keyed := clientKey(nc.RemoteAddr())
	keyed = keyed && l.cfg.MaxPerClient > 0
	l.mu.Lock()
	defer l.mu.Unlock()
	if keyed && l.perClient[key] >= l.cfg.MaxPerClient {
		return nil, nil, ReasonClientLimit
	}
	var victims []victim
	if l.open >= l.highWater {
		now := l.now()
		for c := l.idle.front; c != nil; c = l.idle.front {
			if now.Sub(c.idleSince) < l.cfg.IdleTimeoutUnderPressure {
				break
			}
			l.release(c)
			victims = append(victims, victim{c, ReasonPressure})
		}
	}
	if l.open >= l.cfg.Max {
		c := l.idle.front
		if c == nil {
			return nil, victims, ReasonLimit
		}
		l.release(c)
		victims = append(victims, victim{c, ReasonLimit})
	}
	l.open++
	if keyed {
		l.perClient[key]++
	}
	return &conn{Conn: nc, l: l, key: key, keyed: keyed}, victims, ""
}

// release counts c out (once); l.mu is held.
func (l *Limiter) release(c *conn) {
	if c.released {
		return
	}
	c.released = true
	l.open--
	if c.keyed {
		if n := l.perClient[c.key] - 1; n > 0 {
			l.perClient[c.key] = n
		} else {
			delete(l.perClient, c.key)
		}
	}
	l.unidle(c)
}

// unidle takes c off the idle list; l.mu is held.
func (l *Limiter) unidle(c *conn) {
	if c.idle {
		l.idle.remove(c)
	}
}

// clientKey is the address a client's connections are counted under: the IPv4 address, or
// the IPv6 /64 (one subscriber's allocation). Only TCP peers have one.
func clientKey(a net.Addr) (netip.Addr, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	ip := ta.AddrPort().Addr().Unmap().WithZone("")
	if !ip.IsValid() {
		return netip.Addr{}, false
	}
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err != nil {
			return netip.Addr{}, false
		}
		return p.Addr(), true
	}
	return ip, true
}

// conn is a connection counted by its limiter until closed. The fields other than Conn and
// l are guarded by l.mu.
type conn struct {
	net.Conn
	l          *Limiter
	key        netip.Addr
	keyed      bool
	released   bool
	idle       bool  // on the idle list
	prev, next *conn // on the idle list
	idleSince  time.Time
}

// idleList is the idle connections, longest idle first, threaded through the connections
// themselves: a connection going idle after every answer allocates nothing.
type idleList struct {
	front, back *conn
	n           int
}

func (l *idleList) Len() int { return l.n }

func (l *idleList) pushBack(c *conn) {
	c.prev, c.next, c.idle = l.back, nil, true
	if l.back != nil {
		l.back.next = c
	} else {
		l.front = c
	}
	l.back = c
	l.n++
}

func (l *idleList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.front = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.back = c.prev
	}
	c.prev, c.next, c.idle = nil, nil, false
	l.n--
}

// Close counts the connection out and closes it.
func (c *conn) Close() error {
	c.l.mu.Lock()
	c.l.release(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// CloseWrite half-closes a TCP connection (net/http uses it to let the client read a final
// answer before the close).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
