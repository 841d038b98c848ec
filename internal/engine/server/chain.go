package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/edge"
	"github.com/contractgate/contractgate/internal/engine/httpcache"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/engine/metrics"
	"github.com/contractgate/contractgate/internal/engine/observe"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
	"github.com/contractgate/contractgate/internal/engine/routes"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// chain is every step of the request path (DESIGN section 1), built once at start-up. Each
// step has the same shape: pkg.New(cfg, deps...) (*T, error), then (*T).Middleware(), and
// Close when it holds resources. Per-operation steps resolve their settings per operation
// here, once; per request they read the operation routes.Match resolved (routes.Current).
type chain struct {
	correlation *correlation.Correlation
	observe     *observe.Observer
	edge        *edge.Edge
	table       *routes.Table
	cache       *httpcache.Cache
	auth        *auth.Authenticator
	authGuard   *ratelimit.AuthGuard
	limiter     *ratelimit.Limiter
	idempotency *idempotency.Idempotency
	validation  *validation.Validator
}

// newChain builds the steps from the validated (defaulted) configuration; on an error, what
// was built is closed. rc is the process's Redis client (nil without redis.addrs), shared by
// the stores that select it and closed by the server, not by the chain.
func newChain(cfg *config.Config, table *routes.Table, m *metrics.Metrics, logger *slog.Logger, rc redis.UniversalClient) (_ *chain, err error) {
	ch := &chain{table: table, correlation: correlation.New()}
	defer func() {
		if err != nil {
			_ = ch.Close()
		}
	}()
	rl := cfg.RateLimit
	rl.Hooks = ratelimit.Hooks{OnDecision: m.RateLimitDecision, OnFallback: m.RateLimitFallback}
	ic := cfg.Idempotency
	ic.Observe = func(op string, o idempotency.Outcome) { m.Idempotency(op, string(o)) }
	cc := cfg.Cache
	cc.OnBytes = m.CacheBytes
	vc := cfg.Validation
	vc.Skip = []string{idempotency.Header} // the key check answers for it

	if ch.observe, err = observe.New(observe.Config{Metrics: m, Logger: logger}); err != nil {
		return nil, err
	}
	if ch.edge, err = edge.New(edge.Config{MaxURILength: cfg.Server.MaxURILength}); err != nil {
		return nil, err
	}
	if ch.cache, err = httpcache.New(cc, table); err != nil {
		return nil, err
	}
	// Failed authentications per client address (rateLimit.authFailures): auth checks the
	// budget before verifying anything and charges every refused credential.
	var rlRedis []ratelimit.Option
	var icRedis []idempotency.Option
	if rc != nil {
		rlRedis = append(rlRedis, ratelimit.WithRedis(rc))
		icRedis = append(icRedis, idempotency.WithRedis(rc))
	}
	if ch.authGuard, err = ratelimit.NewAuthGuard(rl, logger, rlRedis...); err != nil {
		return nil, err
	}
	if ch.auth, err = auth.New(cfg.Auth, table, logger, auth.WithGuard(ch.authGuard),
		auth.WithFailureHook(func(r auth.Reason) { m.AuthFailure(string(r)) })); err != nil {
		return nil, err
	}
	if ch.limiter, err = ratelimit.New(rl, table, logger, rlRedis...); err != nil {
		return nil, err
	}
	if ch.idempotency, err = idempotency.New(ic, table, logger, icRedis...); err != nil {
		return nil, err
	}
	if ch.validation, err = validation.New(vc, table); err != nil {
		return nil, err
	}
	return ch, nil
}

// install builds the chain around e's router, outermost first (DESIGN section 1), and returns
// the gateway's handler. Echo applies its Pre and Use middleware on every request (one closure
// per step and request); here every step is applied once, at start-up, into one handler that
// does what Echo's ServeHTTP does (its pooled context, the pre-routing steps, routing, the
// routed steps, then the route's handler: c.Handler(), which routing set, the handler of a 404
// or 405 included; an error the chain returns goes to e.HTTPErrorHandler).
func (ch *chain) install(e *echo.Echo, cfg *config.Config, logger *slog.Logger) http.Handler {
	// After routing: Match resolves the request's operation once; every per-operation step
	// reads it with routes.Current.
	routed := compose(func(c echo.Context) error { return c.Handler()(c) },
		ch.table.Match(),
		ch.cache.NoStore(), // secured operations: Cache-Control no-store, on every answer (so first)
		middleware.BodyLimit(fmt.Sprintf("%dB", cfg.Server.BodyLimit)),
		ch.auth.Middleware(),    // the contract's security (401/403), and the identity header stripped from input
		ch.limiter.Middleware(), // by identity, so after auth
		ch.idempotency.RequireKey(),
		ch.validation.Middleware(),
		ch.cache.Middleware(),       // x-cache GETs: ETag, 304, stored answers, stale-if-error
		ch.idempotency.Middleware(), // last before the handler: a request rejected above claims no key
	)
	router := e.Router()
	route := func(c echo.Context) error {
		r := c.Request()
		router.Find(r.Method, echo.GetPath(r), c)
		return routed(c)
	}
	// Pre runs before routing. Correlation comes first so that everything after it carries
	// the request id; observation next, outside recover, so that a recovered panic is counted
	// and logged as the 500 it becomes; then the request-target checks and CORS preflights.
	pre := []echo.MiddlewareFunc{
		ch.correlation.Middleware(),
		ch.observe.Middleware(), // reads the operation once the chain has returned
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true, LogErrorFunc: logPanic(logger)}),
		ch.edge.Middleware(),
	}
	if c := cfg.CORS; len(c.AllowOrigins) > 0 {
		// Before routing, auth and rate limits: a preflight is answered here.
		pre = append(pre, middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:     c.AllowOrigins,
			AllowMethods:     c.AllowMethods,
			AllowHeaders:     c.AllowHeaders,
			AllowCredentials: c.AllowCredentials,
			ExposeHeaders:    exposedHeaders,
			MaxAge:           int(c.MaxAge.Seconds()),
		}))
	}
	return &composed{e: e, h: compose(route, pre...)}
}

// compose applies steps around h, the first outermost.
func compose(h echo.HandlerFunc, steps ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(steps) - 1; i >= 0; i-- {
		h = steps[i](h)
	}
	return h
}

// composed serves requests through the chain install composed, with e's pooled contexts and
// error handler.
type composed struct {
	e *echo.Echo
	h echo.HandlerFunc
}

func (s *composed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := s.e.AcquireContext()
	c.Reset(r, w)
	if err := s.h(c); err != nil {
		s.e.HTTPErrorHandler(err, c)
	}
	s.e.ReleaseContext(c)
}

// Close releases what the steps hold (JWKS refresh, stores and their sweeps, Redis
// connections). Safe after a partial build.
func (ch *chain) Close() error {
	var errs []error
	if ch.auth != nil {
		errs = append(errs, ch.auth.Close())
	}
	if ch.authGuard != nil {
		errs = append(errs, ch.authGuard.Close())
	}
	if ch.limiter != nil {
		errs = append(errs, ch.limiter.Close())
	}
	if ch.idempotency != nil {
		errs = append(errs, ch.idempotency.Close())
	}
	return errors.Join(errs...)
}
