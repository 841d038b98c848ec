package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

// AuthFailuresPolicyName names the failed-authentication budget in the RateLimit fields and
// in Hooks.OnDecision.
const AuthFailuresPolicyName = "auth-failures"

// ErrAuthFailures is the cause (logged, never shown) of a 429 for an address that has spent
// its budget of failed authentications.
var ErrAuthFailures = errors.New("ratelimit: too many failed authentications from this address")

// AuthGuard limits failed authentications per client address (Config.AuthFailures), so that
// nobody can guess keys or make the gateway verify signatures without end. The auth
// middleware calls Check before it verifies any credential and Fail for every credential it
// refused.
//
// Only failures are charged to the shared store (memory or Redis); Check reads a local deny
// list, filled when a failure spends the budget, so authenticated traffic pays one map
// lookup and never a Redis round trip. With several replicas, an address blocked through
// another replica costs this replica one more verification before it is blocked here too.
// Safe for concurrent use. A disabled guard (Config.AuthFailures.Disabled) allows everything.
type AuthGuard struct {
	p       *policy // nil when disabled
	st      store
	blocked *memoryStore
	kr      keyer
	hooks   Hooks
	closer  *closer
}

// NewAuthGuard returns the guard configured by cfg.AuthFailures, keyed by client address as
// cfg says (TrustedProxies, ForwardedHeader, IPv6PrefixLength), stored as cfg says (MaxKeys in
// memory, or Redis), reporting to cfg.Hooks (OnDecision with AuthFailuresPolicyName for every
// failure charged and every request refused). Close releases its background work. cfg must be
// defaulted (Config.SetDefaults, which config.Load applies).
func NewAuthGuard(cfg Config, logger *slog.Logger, opts ...Option) (*AuthGuard, error) {
	return newAuthGuard(cfg, logger, applyOptions(options{now: monotonic(), probeInterval: time.Second}, opts))
}

func newAuthGuard(cfg Config, logger *slog.Logger, o options) (*AuthGuard, error) {
	if logger == nil {
		return nil, errors.New("ratelimit: NewAuthGuard needs a logger")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	if cfg.AuthFailures.Disabled {
		return &AuthGuard{}, nil
	}
	p, err := newPolicy(AuthFailuresPolicyName, cfg.AuthFailures.policy())
	if err != nil {
		return nil, err
	}
	p.redisKey = "contractgate-auth-failures:" // apart from every operation's keys
	kr, err := newKeyer(cfg)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	if o.stores != nil {
		if !o.stores.Compatible(cfg) {
			return nil, errIncompatible
		}
		p.seeds = o.stores.seedsOf(p.name)
		return &AuthGuard{p: p, st: o.stores.guard, blocked: o.stores.blocked, kr: kr, hooks: cfg.Hooks}, nil
	}
	blocked := newMemoryStore(cfg.MaxKeys, o.now)
	st, cl, err := newStore(cfg, logger, o, blocked)
	if err != nil {
		return nil, err
	}
	return &AuthGuard{p: p, st: st, blocked: blocked, kr: kr, hooks: cfg.Hooks, closer: cl}, nil
}

// Check returns nil when the request's client address may still fail authentication, else
// apierror.ErrRateLimitExceeded with Retry-After and the RateLimit fields. It only reads a
// local map: cheap enough for every request of a secured operation.
func (g *AuthGuard) Check(r *http.Request) error {
	if g == nil || g.p == nil {
		return nil
	}
	wait := g.blocked.blockedFor(g.kr.addrKey(r).hash(g.p))
	if wait <= 0 {
		return nil
	}
	g.decided(false)
	return g.refusal(wait)
}

// Fail charges one refused credential to the request's client address. It returns nil
// while the budget allows it (answer the 401), else the 429 to answer instead. The failure
// that spends the last of the budget blocks the address until one more is allowed.
func (g *AuthGuard) Fail(r *http.Request) error {
	if g == nil || g.p == nil {
		return nil
	}
	k := g.kr.addrKey(r)
	d := g.st.allow(r.Context(), g.p, k)
	g.decided(d.allowed)
	h := k.hash(g.p)
	if !d.allowed {
		g.blocked.block(h, d.retryAfter)
		return g.refusal(d.retryAfter)
	}
	if d.remaining == 0 {
		// GCRA: the next failure is allowed once the TAT is within the tolerance again.
		g.blocked.block(h, d.resetAfter+time.Duration(g.p.interval-g.p.tolerance))
	}
	return nil
}

func (g *AuthGuard) decided(allowed bool) {
	if g.hooks.OnDecision != nil {
		g.hooks.OnDecision(g.p.name, allowed)
	}
}

// refusal is the 429 for an address blocked for wait. It is built by hand (one copy of the
// template, one header map), since blocked addresses are the ones sending many requests.
func (g *AuthGuard) refusal(wait time.Duration) error {
	t := max(1, ceilSeconds(wait))
	e := apierror.ErrRateLimitExceeded.Wrap(ErrAuthFailures)
	e.Message = "Too many failed authentications from this address"
	e.Header = http.Header{
		canonicalRetryAfter: {strconv.FormatInt(t, 10)},
		canonicalPolicy:     {g.p.header},
		canonicalRateLimit:  {g.p.rateLimit(0, t)},
	}
	return e
}

// Close stops background work and closes Redis connections. Safe to call twice.
func (g *AuthGuard) Close() error {
	if g == nil || g.closer == nil {
		return nil
	}
	return g.closer.Close()
}
