// Package ratelimit limits each client's requests per contract operation (GCRA, in memory or
// shared in Redis) and reports the quota in the IETF RateLimit fields.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/textproto"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Response header names (IETF httpapi ratelimit-headers draft, and RFC 9110 Retry-After).
const (
	HeaderRateLimit       = "RateLimit"
	HeaderRateLimitPolicy = "RateLimit-Policy"
	HeaderRetryAfter      = "Retry-After"
)

// The header keys as http.Header stores them, computed once: Set would canonicalise (and
// allocate) on every request.
var (
	canonicalRateLimit  = textproto.CanonicalMIMEHeaderKey(HeaderRateLimit)
	canonicalPolicy     = textproto.CanonicalMIMEHeaderKey(HeaderRateLimitPolicy)
	canonicalRetryAfter = textproto.CanonicalMIMEHeaderKey(HeaderRetryAfter)
)

// store decides one request of client k against policy p, atomically. Implementations are
// safe for concurrent use and never fail: the Redis store answers locally while Redis is down.
type store interface {
	allow(ctx context.Context, p *policy, k clientKey) decision
}

// options are the seams tests use; New uses the real clock and a one-second probe.
type options struct {
	now           func() int64
	probeInterval time.Duration
	stores        *Stores // nil: the step's own (WithStores)
	redis         redis.UniversalClient
}

// Option is a dependency given to New or NewAuthGuard.
type Option func(*options)

// WithRedis is the process's Redis client (package redisclient), required by Store: redis.
// The limiter shares it and never closes it.
func WithRedis(c redis.UniversalClient) Option { return func(o *options) { o.redis = c } }

func applyOptions(o options, opts []Option) options {
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// New returns the rate limiter; Close releases its background work (the sweep of idle keys,
// the Redis connections and probe). cfg must be defaulted (Config.SetDefaults, which
// config.Load applies); New validates it and reads every operation's x-ratelimit from table
// once: a malformed one is an *ExtensionError naming the operation.
//
// Per request, the middleware reads the operation routes.Match resolved; a request outside the
// contract (ops endpoints, unknown routes) passes through unlimited. The request is charged to
// the authenticated subject (identity.FromContext), else to the client address (see
// Config.TrustedProxies), under the operation's policy: its own x-ratelimit, named by its
// operationId, or the default policy, named "default" and shared by every operation without
// one. Every limited response, success or error, carries
//
//	RateLimit-Policy: "default";q=100;w=60
//	RateLimit: "default";r=42;t=17
//
// (q requests per w seconds; r requests remaining now; t whole seconds, rounded up, until the
// quota is fully restored). A request over the quota gets apierror.ErrRateLimitExceeded with
// t and Retry-After both the whole seconds (at least 1) until the next request is allowed:
// the earliest moment a retry can succeed. Place it after authentication, so that callers are limited by identity.
//
// Limits live in memory, per replica and bounded by cfg.MaxKeys, unless cfg.Store is redis:
// then they are shared through the client WithRedis gives, with the local limiter as the
// fallback (see Redis). The middleware is safe for concurrent use. With cfg.Disabled it is a
// pass-through.
func New(cfg Config, table *routes.Table, logger *slog.Logger, opts ...Option) (*Limiter, error) {
	return newWithOptions(cfg, table, logger, applyOptions(options{now: monotonic(), probeInterval: time.Second}, opts))
}

// Limiter is the rate-limit step. Safe for concurrent use.
type Limiter struct {
	mw     echo.MiddlewareFunc
	closer io.Closer
}

// Middleware returns the middleware: after routes.Match and authentication.
func (l *Limiter) Middleware() echo.MiddlewareFunc { return l.mw }

// Close stops the background work and closes Redis connections. Safe to call twice.
func (l *Limiter) Close() error { return l.closer.Close() }

func newWithOptions(cfg Config, table *routes.Table, logger *slog.Logger, o options) (*Limiter, error) {
	if cfg.Disabled {
		return &Limiter{mw: func(next echo.HandlerFunc) echo.HandlerFunc { return next }, closer: nopCloser{}}, nil
	}
	if table == nil || logger == nil {
		return nil, fmt.Errorf("ratelimit: New needs a route table and a logger")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	byOp, err := policies(cfg.Default, table)
	if err != nil {
		return nil, err
	}
	kr, err := newKeyer(cfg)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}

	if o.stores != nil {
		if !o.stores.Compatible(cfg) {
			return nil, errIncompatible
		}
		for _, p := range byOp {
			p.seeds = o.stores.seedsOf(p.name)
		}
		return &Limiter{mw: middleware(o.stores.limits, byOp, kr, cfg.Hooks), closer: nopCloser{}}, nil
	}
	st, cl, err := newStore(cfg, logger, o)
	if err != nil {
		return nil, err
	}
	return &Limiter{mw: middleware(st, byOp, kr, cfg.Hooks), closer: cl}, nil
}

// newStore builds the decision store of cfg: in memory, or Redis with a memory store as its
// fallback. The memory store, and each of also, is swept until the closer is closed.
func newStore(cfg Config, logger *slog.Logger, o options, also ...*memoryStore) (store, *closer, error) {
	if cfg.Store == StoreRedis && o.redis == nil {
		return nil, nil, errors.New("ratelimit: store is redis but no Redis client was given (redis.addrs)")
	}
	local := newMemoryStore(cfg.MaxKeys, o.now)
	cl := &closer{done: make(chan struct{})}
	for _, m := range append([]*memoryStore{local}, also...) {
		cl.wg.Add(1)
		go func() {
			defer cl.wg.Done()
			m.sweepEvery(sweepInterval, cl.done)
		}()
	}
	if cfg.Store != StoreRedis {
		return local, cl, nil
	}
	rs := newRedisStore(o.redis, cfg.Redis, local, logger, cfg.Hooks.OnFallback, o.probeInterval)
	rs.start()
	cl.redis = rs
	return rs, cl, nil
}

func middleware(st store, byOp map[*routes.Operation]*policy, kr keyer, hooks Hooks) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := byOp[routes.Current(c)]
			if p == nil {
				return next(c)
			}
			req := c.Request()
			d := st.allow(req.Context(), p, kr.key(req))
			if hooks.OnDecision != nil {
				hooks.OnDecision(p.name, d.allowed)
			}
			reset := ceilSeconds(d.resetAfter)
			if !d.allowed {
				// Over the quota, t says when the next request is allowed (the earliest
				// moment a retry can succeed), and Retry-After repeats it.
				reset = max(1, ceilSeconds(d.retryAfter))
			}
			// Both headers' values in one allocation (what two Header.Set calls would allocate
			// three times for).
			hv := new(headerValues)
			hv.values[0] = p.header
			hv.values[1] = p.appendRateLimit(hv.text[:0], d.remaining, reset)
			h := c.Response().Header()
			h[canonicalPolicy] = hv.values[0:1:1]
			h[canonicalRateLimit] = hv.values[1:2:2]
			if d.allowed {
				return next(c)
			}
			return apierror.ErrRateLimitExceeded.
				WithHeader(HeaderRetryAfter, strconv.FormatInt(reset, 10)).
				Wrap(fmt.Errorf("ratelimit: policy %q exhausted", p.name))
		}
	}
}

// headerValues holds the RateLimit-Policy and RateLimit values of one answer, and the text of
// the latter.
type headerValues struct {
	values [2]string
	text   [rateLimitText]byte
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// closer stops the sweep and the Redis store once.
type closer struct {
	once  sync.Once
	done  chan struct{}
	wg    sync.WaitGroup
	redis *redisStore
	err   error
}

// Close stops background work and closes Redis connections. Safe to call twice.
func (c *closer) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.wg.Wait()
		if c.redis != nil {
			c.err = c.redis.Close()
		}
	})
	return c.err
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
