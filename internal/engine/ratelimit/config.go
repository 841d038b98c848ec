package ratelimit

import (
	"fmt"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"net/netip"
	"strings"
	"time"
)

// Defaults applied by SetDefaults.
const (
	DefaultRequests         = 100
	DefaultWindow           = time.Minute
	DefaultMaxKeys          = 1_000_000
	DefaultRedisTimeout     = 50 * time.Millisecond
	DefaultIPv6PrefixLength = 64
	DefaultForwardedHeader  = HeaderXForwardedFor
	// DefaultAuthFailures is the default budget of failed authentications per client
	// address and DefaultAuthFailuresWindow its window (AuthFailures).
	DefaultAuthFailures       = 20
	DefaultAuthFailuresWindow = time.Minute
)

// Headers that can carry the client address behind trusted proxies (Config.ForwardedHeader).
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded"
)

// Config configures rate limiting. The zero value, after SetDefaults, limits every contract
// operation to 100 requests per minute per client, in memory.
type Config struct {
	// Disabled turns rate limiting off: the middleware is a pass-through. Default false.
	Disabled bool `yaml:"disabled"`
	// Default is the policy of every contract operation without an x-ratelimit extension.
	// Default 100 requests per 1m, burst = requests.
	Default Policy `yaml:"default"`
	// TrustedProxies are the CIDRs (or single addresses) of the proxies in front of the
	// gateway. Only when the peer is one of them is ForwardedHeader read, right to left, and
	// the rightmost address that is not a trusted proxy taken as the client. Default none:
	// the peer address is the client.
	TrustedProxies []string `yaml:"trustedProxies"`
	// ForwardedHeader is the header the trusted proxies append to: X-Forwarded-For (default)
	// or Forwarded (RFC 7239). Only that one is read, so a client cannot smuggle an address
	// in the other.
	ForwardedHeader string `yaml:"forwardedHeader"`
	// IPv6PrefixLength groups IPv6 clients by network prefix (a subscriber usually holds a
	// whole /64). 1..128, default 64. IPv4 clients are limited per address.
	IPv6PrefixLength int `yaml:"ipv6PrefixLength"`
	// MaxKeys caps the entries of the in-memory store (also the local fallback of the Redis
	// store): one entry per client and policy, about 38 bytes each (measured: 38 MB at the
	// default). The store has 64 shards of MaxKeys/64 entries; a new key in a full shard
	// evicts expired entries, else the sampled entry closest to expiry (forgiving that
	// client's remaining debt). At least 64, default 1000000.
	MaxKeys int `yaml:"maxKeys"`
	// Store is where limits live: memory (default; per replica) or redis, shared by every
	// replica through the process's Redis client (the top-level redis block).
	Store string `yaml:"store"`
	// Redis tunes the redis store.
	Redis Redis `yaml:"redis"`
	// AuthFailures limits failed authentications per client address (see NewAuthGuard).
	// Default 20 per 1m, burst 20. Independent of Disabled.
	AuthFailures AuthFailures `yaml:"authFailures"`
	// Hooks observe decisions and fallbacks (for metrics). Not configuration: set in code.
	Hooks Hooks `yaml:"-"`
}

// Policy is a GCRA quota: Requests per Window on average, at most Burst at once.
type Policy struct {
	// Requests is the quota per window. Default 100.
	Requests int `yaml:"requests"`
	// Window is the quota's period, a whole number of seconds. Default 1m.
	Window time.Duration `yaml:"window"`
	// Burst is how many requests may arrive at once, 1..Requests. Default Requests.
	Burst int `yaml:"burst"`
}

// AuthFailures is the budget of failed authentications (credentials presented and refused)
// of one client address: Requests per Window on average, at most Burst at once. An address
// that has spent it answers 429 on every secured operation, without its credentials being
// verified, until the budget allows one more failure. It keys on the client address (with
// TrustedProxies, IPv6PrefixLength), never on identity, and lives in the same store as the
// other limits (memory, or Redis when configured).
type AuthFailures struct {
	// Disabled turns the limit off. Default false.
	Disabled bool `yaml:"disabled"`
	// Requests is the number of failures allowed per Window. Default 20.
	Requests int `yaml:"requests"`
	// Window is the budget's period, a whole number of seconds. Default 1m.
	Window time.Duration `yaml:"window"`
	// Burst is how many failures may come at once, 1..Requests. Default Requests.
	Burst int `yaml:"burst"`
}

// policy returns the budget as a Policy.
func (a AuthFailures) policy() Policy {
	return Policy{Requests: a.Requests, Window: a.Window, Burst: a.Burst}
}

// The stores (Config.Store).
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"
)

// Redis tunes the shared store (Store: redis). Limits are kept in Redis with
// go-redis/redis_rate (GCRA in one atomic Lua script on one key, one round trip, on the
// Redis server's clock: replicas with skewed clocks agree; Cluster safe). When Redis fails
// or does not answer within Timeout, the gateway limits locally (fails open), logs once per
// outage, and returns to Redis once it answers a probe (at most one probe per second).
// Where Redis is (standalone, Sentinel or Cluster) is the process's redis block.
type Redis struct {
	// Timeout bounds one rate-limit call, connecting included. Default 50ms.
	Timeout time.Duration `yaml:"timeout"`
}

// Hooks are called on the request path; they must be fast and safe for concurrent use. Nil
// hooks are skipped.
type Hooks struct {
	// OnDecision is called once per limited request with the policy name ("default" or the
	// operation id) and whether the request was allowed.
	OnDecision func(policy string, allowed bool)
	// OnFallback is called once per request decided by the local limiter because Redis
	// failed or is down.
	OnFallback func()
}

// SetDefaults fills every unset field with its documented default.
func (c *Config) SetDefaults() {
	c.Default.setDefaults(DefaultRequests, DefaultWindow)
	if c.ForwardedHeader == "" {
		c.ForwardedHeader = DefaultForwardedHeader
	}
	if c.IPv6PrefixLength == 0 {
		c.IPv6PrefixLength = DefaultIPv6PrefixLength
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	af := c.AuthFailures.policy()
	af.setDefaults(DefaultAuthFailures, DefaultAuthFailuresWindow)
	c.AuthFailures.Requests, c.AuthFailures.Window, c.AuthFailures.Burst = af.Requests, af.Window, af.Burst
	if c.Store == "" {
		c.Store = StoreMemory
	}
	if c.Redis.Timeout == 0 {
		c.Redis.Timeout = DefaultRedisTimeout
	}
}

func (p *Policy) setDefaults(requests int, window time.Duration) {
	if p.Requests == 0 {
		p.Requests = requests
	}
	if p.Window == 0 {
		p.Window = window
	}
	if p.Burst == 0 {
		p.Burst = p.Requests
	}
}

// FieldError is one configuration problem at a key path relative to Config, e.g.
// "default.burst" or "trustedProxies[1]".
type FieldError = configerr.FieldError

// FieldErrors is every problem Validate found, in key order.
type FieldErrors []*FieldError

// Error returns one "path: problem" line per problem.
func (fe FieldErrors) Error() string {
	s := make([]string, len(fe))
	for i, e := range fe {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (fe FieldErrors) Unwrap() []error {
	errs := make([]error, len(fe))
	for i, e := range fe {
		errs[i] = e
	}
	return errs
}

// Validate checks a defaulted Config and returns nil or FieldErrors naming every problem.
func (c *Config) Validate() error {
	var errs FieldErrors
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	for _, e := range c.Default.problems() {
		bad("default."+e.Path, "%s", e.Problem)
	}
	if !c.AuthFailures.Disabled {
		for _, e := range c.AuthFailures.policy().problems() {
			bad("authFailures."+e.Path, "%s", e.Problem)
		}
	}
	for i, s := range c.TrustedProxies {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("trustedProxies[%d]", i), "must be a CIDR or an IP address, got %q", s)
		}
	}
	if c.ForwardedHeader != HeaderXForwardedFor && c.ForwardedHeader != HeaderForwarded {
		bad("forwardedHeader", "must be %q or %q, got %q", HeaderXForwardedFor, HeaderForwarded, c.ForwardedHeader)
	}
	if c.IPv6PrefixLength < 1 || c.IPv6PrefixLength > 128 {
		bad("ipv6PrefixLength", "must be between 1 and 128, got %d", c.IPv6PrefixLength)
	}
	if c.MaxKeys < numShards {
		bad("maxKeys", "must be at least %d, got %d", numShards, c.MaxKeys)
	}
	if c.Store != StoreMemory && c.Store != StoreRedis {
		bad("store", "must be %q or %q, got %q", StoreMemory, StoreRedis, c.Store)
	}
	if c.Redis.Timeout <= 0 {
		bad("redis.timeout", "must be a positive duration, got %s", c.Redis.Timeout)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// problems checks a defaulted policy; paths are relative to the policy.
func (p Policy) problems() FieldErrors {
	var errs FieldErrors
	if p.Requests < 1 {
		errs = append(errs, &FieldError{Path: "requests", Problem: fmt.Sprintf("must be at least 1, got %d", p.Requests)})
	}
	switch {
	case p.Window < time.Second || p.Window%time.Second != 0:
		errs = append(errs, &FieldError{Path: "window", Problem: fmt.Sprintf("must be a whole number of seconds, at least 1s, got %s", p.Window)})
	case p.Requests >= 1 && p.Window/time.Duration(p.Requests) < time.Microsecond:
		errs = append(errs, &FieldError{Path: "requests", Problem: fmt.Sprintf("must be at most one per microsecond of the window, got %d per %s", p.Requests, p.Window)})
	}
	if p.Burst < 1 || (p.Requests >= 1 && p.Burst > p.Requests) {
		errs = append(errs, &FieldError{Path: "burst", Problem: fmt.Sprintf("must be between 1 and requests (%d), got %d", p.Requests, p.Burst)})
	}
	return errs
}

// parsePrefix accepts a CIDR or a single address (as a /32 or /128). IPv4-mapped IPv6
// forms are unmapped, as client addresses are.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("not an IP address: %q", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix shorter than /96: %q", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
