package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/httpcache"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/engine/mcp"
	"github.com/contractgate/contractgate/internal/engine/metrics"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
	"github.com/contractgate/contractgate/internal/engine/redisclient"
	"github.com/contractgate/contractgate/internal/engine/resilience"
	"github.com/contractgate/contractgate/internal/engine/routes"
	"github.com/contractgate/contractgate/internal/engine/seam"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// A configuration generation is everything built from one validated configuration: the
// chain's steps, the upstream registry's clients, the app's mounted operations (an Echo of
// its own). The server serves the current generation; a reload builds the next one beside it,
// swaps it in, and retires the old one once its requests have finished. A request loads the
// current generation once, at entry, and runs start to end on it.
//
// What outlives generations (process-lived) is built once in New: the listeners and their
// settings (server.*, admin.*), metrics, tracing, the route table (the contract does not
// reload), the Redis client (one pool for every store), the rate-limit stores (buckets) and
// the idempotency step (records), see shared.
// Some of it is carried over from the replaced generation when its settings did not change:
// the answer cache (cache.*) and each upstream's client (upstreams.<name>: its breaker).

// shared is the state a generation's chain uses without owning it.
type shared struct {
	redis       redis.UniversalClient // the process's one Redis client; nil without redis.addrs
	rateLimit   *ratelimit.Stores
	idempotency *idempotency.Idempotency
	cache       *httpcache.Cache // carried over from the replaced generation; nil: build one
}

// newShared builds the process-lived stores from the configuration of the first generation.
func newShared(cfg *config.Config, table *routes.Table, m *metrics.Metrics, logger *slog.Logger) (shared, error) {
	var sh shared
	var rlOpts []ratelimit.Option
	var icOpts []idempotency.Option
	if cfg.Redis.Enabled() {
		rc, err := redisclient.New(cfg.Redis)
		if err != nil {
			return shared{}, err
		}
		sh.redis = rc
		rlOpts = append(rlOpts, ratelimit.WithRedis(rc))
		icOpts = append(icOpts, idempotency.WithRedis(rc))
	}
	rl := cfg.RateLimit
	rl.Hooks = ratelimit.Hooks{OnDecision: m.RateLimitDecision, OnFallback: m.RateLimitFallback}
	stores, err := ratelimit.NewStores(rl, logger, rlOpts...)
	if err != nil {
		_ = sh.Close()
		return shared{}, err
	}
	sh.rateLimit = stores
	ic := cfg.Idempotency
	ic.Observe = func(op string, o idempotency.Outcome) { m.Idempotency(op, string(o)) }
	idem, err := idempotency.New(ic, table, logger, icOpts...)
	if err != nil {
		_ = sh.Close()
		return shared{}, err
	}
	sh.idempotency = idem
	return sh, nil
}

// Close releases the stores (sweeps, answers still being saved), then the Redis client they
// share.
func (sh shared) Close() error {
	var errs []error
	if sh.rateLimit != nil {
		errs = append(errs, sh.rateLimit.Close())
	}
	if sh.idempotency != nil {
		errs = append(errs, sh.idempotency.Close())
	}
	if sh.redis != nil {
		errs = append(errs, sh.redis.Close())
	}
	return errors.Join(errs...)
}

// generation is one configuration's request path; see the comment above.
type generation struct {
	id        uint64
	cfg       *config.Config
	handler   http.Handler // the chain around this generation's Echo
	chain     *chain
	upstreams *upstream.Registry

	// active counts the requests running on this generation; once retired, the last one
	// out closes drained.
	active  atomic.Int64
	retired atomic.Bool
	once    sync.Once
	drained chan struct{}
}

// release ends one request on g.
func (g *generation) release() {
	if g.active.Add(-1) == 0 && g.retired.Load() {
		g.once.Do(func() { close(g.drained) })
	}
}

// retire marks g replaced: drained closes once its last request has finished.
func (g *generation) retire() {
	g.retired.Store(true)
	if g.active.Load() == 0 {
		g.once.Do(func() { close(g.drained) })
	}
}

// acquire returns the current generation with one more request counted on it. A request that
// counted itself on a generation swapped out meanwhile moves to the new one, so a retired
// generation whose count reached zero never serves again.
func (s *Server) acquire() *generation {
	for {
		g := s.gen.Load()
		g.active.Add(1)
		if s.gen.Load() == g {
			return g
		}
		g.release()
	}
}

// serveHTTP runs one request on the current generation.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	g := s.acquire()
	defer g.release()
	g.handler.ServeHTTP(w, r)
}

// build assembles a generation from cfg (validated, defaulted), carrying over from prev (nil
// for the first) the cache and the upstream clients whose settings did not change. On an error
// nothing of prev is touched and what was built is released.
func (s *Server) build(cfg *config.Config, prev *generation) (*generation, error) {
	m := s.metrics
	opts := []upstream.Option{
		upstream.WithLogger(s.logger),
		upstream.WithHooks(resilience.Hooks{
			Attempt:     m.UpstreamAttempt,
			Done:        func(u string, o resilience.Outcome, d time.Duration) { m.UpstreamCall(u, string(o), d) },
			StateChange: func(u string, _, to resilience.State) { m.BreakerState(u, breakerGauge[to]) },
		}),
		upstream.WithAttemptTransport(s.tracing.Transport),
	}
	var prevClients *upstream.Registry
	sh := s.shared
	if prev != nil {
		prevClients = prev.upstreams
		opts = append(opts, upstream.WithPrevious(prevClients))
		if reflect.DeepEqual(prev.cfg.Cache, cfg.Cache) {
			sh.cache = prev.chain.cache // its stored answers stay valid
		}
	}
	clients, err := upstream.New(s.contracts.upstreams, cfg.Upstreams, cfg.Env, opts...)
	if err != nil {
		return nil, err
	}
	ch, err := newChain(cfg, s.table, m, s.logger, sh)
	if err != nil {
		clients.ReleaseReplaced(prevClients)
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = apierror.Handler(s.logger, apierror.WithProblemTypeBaseURL(cfg.Errors.ProblemTypeBaseURL))
	gateway := ch.install(e, cfg, s.logger)
	// Every GET route answers HEAD too (RFC 9110), through the same chain.
	r := routes.WithHead(e)
	s.ops.Register(r)
	s.docs.Register(e)
	if !cfg.Admin.MetricsOnAdminOnly {
		r.GET("/metrics", echo.WrapHandler(m.Handler()))
	}
	// The operations marked x-mcp, as MCP tools at POST /mcp: a tool call is served by this
	// generation's handler (tracing and the whole chain), as the operation's own request.
	tools, err := mcp.New(cfg.MCP, s.table, s.tracing.Handler(gateway), cfg.Server.BodyLimit, s.logger)
	if err != nil {
		_ = ch.Close()
		clients.ReleaseReplaced(prevClients)
		return nil, err
	}
	tools.Register(e)
	if err := s.app.Mount(r, seam.Deps{Upstreams: clients, Bindings: s.bound}); err != nil {
		_ = ch.Close()
		clients.ReleaseReplaced(prevClients)
		return nil, fmt.Errorf("mounting the app: %w", err)
	}
	for name, state := range clients.States() {
		m.BreakerState(name, breakerGauge[resilience.State(state)])
	}
	return &generation{id: s.nextGen.Add(1), cfg: cfg, handler: gateway, chain: ch, upstreams: clients, drained: make(chan struct{})}, nil
}

// close releases what g holds and its successor (next; nil at shutdown) did not carry over.
func (g *generation) close(next *generation) error {
	var nextClients *upstream.Registry
	if next != nil {
		nextClients = next.upstreams
	}
	g.upstreams.ReleaseReplaced(nextClients)
	return g.chain.Close()
}
