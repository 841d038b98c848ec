// Package server assembles the gateway around one app (package seam): the middleware chain of
// DESIGN section 1, the upstream registry, the app's operations, the operator endpoints, and
// the HTTP server with graceful shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/binding"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/connlimit"
	"github.com/contractgate/contractgate/internal/engine/contract"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/docs"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"github.com/contractgate/contractgate/internal/engine/metrics"
	"github.com/contractgate/contractgate/internal/engine/ops"
	"github.com/contractgate/contractgate/internal/engine/redisclient"
	"github.com/contractgate/contractgate/internal/engine/resilience"
	"github.com/contractgate/contractgate/internal/engine/routes"
	"github.com/contractgate/contractgate/internal/engine/seam"
	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
	"github.com/contractgate/contractgate/internal/engine/tracing"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// Server is the assembled gateway.
type Server struct {
	cfg     *config.Config
	logger  *slog.Logger
	echo    *echo.Echo
	handler http.Handler // the chain around echo's router, wrapped in tracing when enabled
	tracing *tracing.Tracing
	ops     *ops.Ops
	// tls is the listener's TLS configuration (nil: plain HTTP); reloader renews its pair.
	tls      *tls.Config
	reloader *tlsconfig.Reloader
	// closers stop background work (JWKS refresh) after shutdown.
	closers []io.Closer
	// metrics is exposed for tests.
	metrics *metrics.Metrics
	// admin is the operator listener's handler (nil: none).
	admin *echo.Echo
	// upstreams are the upstream clients (their idle connections are closed at shutdown).
	upstreams *upstream.Registry
	// conns caps the public listener's connections.
	conns *connlimit.Limiter
}

// Option changes how New assembles the gateway.
type Option func(*options)

type options struct {
	tracing *tracing.Tracing
}

// WithTracing uses t instead of the tracing configured by the OTEL_* environment.
func WithTracing(t *tracing.Tracing) Option { return func(o *options) { o.tracing = t } }

// New assembles the gateway serving app from a validated configuration.
func New(cfg *config.Config, app seam.App, logger *slog.Logger, opts ...Option) (*Server, error) {
	// Every line logged with a request's context carries its requestId, traceId and spanId,
	// whatever handler the caller built the logger on.
	logger = logging.Correlated(logger)
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.tracing == nil {
		t, err := tracing.FromEnv(context.Background(), nil)
		if err != nil {
			return nil, err
		}
		o.tracing = t
	}
	ct, err := loadContracts(app.Contracts)
	if err != nil {
		return nil, err
	}
	spec := ct.public
	// Served as one self-contained document: the shared components are bundled in.
	specJSON, specYAML, err := contract.Bundle(spec)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	var refused, idleClosed func(reason string)
	conns, err := connlimit.New(cfg.Server.Connections, connlimit.Hooks{
		OnRefuse:    func(r connlimit.Reason) { refused(string(r)) },
		OnIdleClose: func(r connlimit.Reason) { idleClosed(string(r)) },
	})
	if err != nil {
		return nil, err
	}
	refused, idleClosed = m.Connections(conns.Open, conns.Idle)
	clients, err := upstream.New(ct.upstreams, cfg.Upstreams, cfg.Env,
		upstream.WithLogger(logger),
		upstream.WithHooks(resilience.Hooks{
			Attempt:     m.UpstreamAttempt,
			Done:        func(u string, o resilience.Outcome, d time.Duration) { m.UpstreamCall(u, string(o), d) },
			StateChange: func(u string, _, to resilience.State) { m.BreakerState(u, breakerGauge[to]) },
		}),
		upstream.WithAttemptTransport(o.tracing.Transport),
	)
	if err != nil {
		return nil, err
	}
	for _, n := range clients.Names() {
		m.BreakerState(n, metrics.BreakerClosed)
	}

	table, err := routes.New(spec)
	if err != nil {
		return nil, err
	}
	var tlsCfg *tls.Config
	var reloader *tlsconfig.Reloader
	if cfg.Server.TLS.Enabled() {
		if tlsCfg, reloader, err = tlsconfig.NewServer(cfg.Server.TLS, logger); err != nil {
			return nil, err
		}
	}
	// One Redis client (one pool) per process, shared by every store that selects it and
	// outliving any rebuilt chain; closed after the chain.
	var rc redis.UniversalClient
	closers := []io.Closer{}
	if cfg.Redis.Enabled() {
		if rc, err = redisclient.New(cfg.Redis); err != nil {
			return nil, err
		}
	}
	ch, err := newChain(cfg, table, m, logger, rc)
	if err != nil {
		if rc != nil {
			_ = rc.Close()
		}
		return nil, err
	}
	closers = append(closers, ch)
	if rc != nil {
		closers = append(closers, rc)
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = apierror.Handler(logger, apierror.WithProblemTypeBaseURL(cfg.Errors.ProblemTypeBaseURL))
	gateway := ch.install(e, cfg, logger)

	// Every GET route answers HEAD too (RFC 9110), through the same chain.
	r := routes.WithHead(e)
	ops_ := ops.New(specYAML, specJSON, clients.States)
	ops_.Register(r)
	apiDocs, err := docs.New(docs.Config{SpecURL: "/openapi.json"})
	if err != nil {
		for _, c := range closers {
			_ = c.Close()
		}
		return nil, err
	}
	apiDocs.Register(e)
	if !cfg.Admin.MetricsOnAdminOnly {
		r.GET("/metrics", echo.WrapHandler(m.Handler()))
	}
	var admin *echo.Echo
	if cfg.Admin.Addr != "" {
		admin = adminEcho(cfg.Admin, ops_, m, e.HTTPErrorHandler)
	}
	bound, err := binding.New(spec, ct.upstreams)
	if err != nil {
		return nil, err
	}
	if err := app.Mount(r, seam.Deps{Upstreams: clients, Bindings: bound}); err != nil {
		return nil, fmt.Errorf("mounting the app: %w", err)
	}
	return &Server{
		cfg: cfg, logger: logger, echo: e, handler: o.tracing.Handler(gateway), tracing: o.tracing,
		ops: ops_, metrics: m, admin: admin, upstreams: clients, conns: conns, tls: tlsCfg, reloader: reloader, closers: closers,
	}, nil
}

// breakerGauge maps circuit states to the gauge's values.
var breakerGauge = map[resilience.State]float64{
	resilience.StateClosed:   metrics.BreakerClosed,
	resilience.StateHalfOpen: metrics.BreakerHalfOpen,
	resilience.StateOpen:     metrics.BreakerOpen,
}

// adminEcho serves the operator endpoints on the admin listener: health, metrics, and
// net/http/pprof when enabled. It is never exposed to clients.
func adminEcho(cfg config.Admin, o *ops.Ops, m *metrics.Metrics, errs echo.HTTPErrorHandler) *echo.Echo {
	a := echo.New()
	a.HideBanner, a.HidePort = true, true
	a.HTTPErrorHandler = errs
	a.Use(middleware.Recover())
	r := routes.WithHead(a)
	o.RegisterHealth(r)
	r.GET("/metrics", echo.WrapHandler(m.Handler()))
	if cfg.Pprof {
		a.Any("/debug/pprof/*", echo.WrapHandler(http.HandlerFunc(pprof.Index)))
		a.Any("/debug/pprof/cmdline", echo.WrapHandler(http.HandlerFunc(pprof.Cmdline)))
		a.Any("/debug/pprof/profile", echo.WrapHandler(http.HandlerFunc(pprof.Profile)))
		a.Any("/debug/pprof/symbol", echo.WrapHandler(http.HandlerFunc(pprof.Symbol)))
		a.Any("/debug/pprof/trace", echo.WrapHandler(http.HandlerFunc(pprof.Trace)))
	}
	return a
}

// exposedHeaders are the response headers a browser script may read.
var exposedHeaders = []string{
	correlation.HeaderRequestID, correlation.HeaderTraceID, "RateLimit", "RateLimit-Policy",
	"Retry-After", "Idempotent-Replayed", "Allow", "WWW-Authenticate",
}

// Handler returns the gateway as an http.Handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns a configured *http.Server for the gateway: timeouts and header limit
// from configuration, and the ConnState hook of the connection caps (which apply to the
// listeners Serve wraps).
func (s *Server) HTTPServer() *http.Server {
	c := s.cfg.Server
	return &http.Server{
		Addr:              c.Addr,
		Handler:           s.handler,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		TLSConfig:         s.tls,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		ConnState:         s.conns.ConnState, // idle keep-alive connections, for the connection caps
	}
}

// Serve answers requests on ln until ctx is done, then shuts down gracefully: /readyz turns
// 503 while the listener keeps serving for the drain delay, then the listener closes and
// in-flight requests get the grace period to finish; connections still open after it are
// closed. The cleanup (admin listener, upstream connections, stores, trace flush) runs
// whatever the outcome. Serve returns nil after a graceful shutdown, an error wrapping
// context.DeadlineExceeded when the grace period did not suffice.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.HTTPServer()
	ln = s.conns.Listener(ln) // server.connections: caps overall and per client address
	var adminSrv *http.Server
	if s.admin != nil {
		adminLn, err := net.Listen("tcp", s.cfg.Admin.Addr)
		if err != nil {
			_ = ln.Close()
			s.cleanup(nil)
			return fmt.Errorf("admin listener: %w", err)
		}
		adminSrv = s.adminServer()
		go func() { _ = adminSrv.Serve(adminLn) }()
		s.logger.Info("admin listening", "addr", adminLn.Addr().String(), "pprof", s.cfg.Admin.Pprof)
	}
	if s.reloader != nil {
		go s.reloader.Watch(ctx)
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	s.logger.Info("gateway listening", "addr", ln.Addr().String())
	var err error
	select {
	case err = <-errc: // the listener failed
	case <-ctx.Done():
		err = s.shutdown(srv, errc)
	}
	s.cleanup(adminSrv)
	return err
}

// shutdown drains and stops the public server: readiness fails first, the listener keeps
// serving (without keep-alive) for the drain delay, then Shutdown waits up to the grace
// period for in-flight requests and Close cuts whatever is left (a client uploading at 2 B/s).
func (s *Server) shutdown(srv *http.Server, errc <-chan error) error {
	c := s.cfg.Server
	s.ops.Drain()
	// Answers carry Connection: close from now on (idle keep-alive connections are closed),
	// so that clients reconnect, through the load balancer, elsewhere before the listener
	// closes, rather than reuse a connection the server is about to close.
	srv.SetKeepAlivesEnabled(false)
	s.logger.Info("draining", "delay", c.DrainDelay.String(), "grace", c.ShutdownGrace.String())
	time.Sleep(c.DrainDelay) // nothing to wait for but the load balancers' next probe
	s.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownGrace)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		s.logger.Warn("grace period over: closing the connections still open", "error", err.Error())
		_ = srv.Close()
		errs = append(errs, fmt.Errorf("graceful shutdown: %w", err))
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cleanupTimeout bounds the admin listener's shutdown and the trace flush, which run after
// the public server has stopped (whether or not its grace period sufficed).
const cleanupTimeout = 5 * time.Second

// cleanup releases everything the gateway holds once the public server has stopped.
func (s *Server) cleanup(adminSrv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if adminSrv != nil {
		if err := adminSrv.Shutdown(ctx); err != nil {
			_ = adminSrv.Close()
		}
	}
	s.upstreams.CloseIdleConnections()
	for _, c := range s.closers {
		_ = c.Close()
	}
	if err := s.tracing.Shutdown(ctx); err != nil {
		s.logger.Warn("flushing traces", "error", err.Error())
	}
	s.logger.Info("stopped")
}

// adminWriteTimeout bounds writing an admin response: long enough for a CPU profile of up
// to a minute and a half (/debug/pprof/profile?seconds=90; net/http/pprof refuses a longer
// one).
const adminWriteTimeout = 100 * time.Second

// adminServer returns the operator listener's server: the public listener's header, read and
// idle timeouts and header cap, and a write timeout that lets a CPU profile finish.
func (s *Server) adminServer() *http.Server {
	c := s.cfg.Server
	return &http.Server{
		Handler:           s.admin,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

// Run listens on the configured address and serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Server.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

func logPanic(logger *slog.Logger) middleware.LogErrorFunc {
	return func(c echo.Context, err error, stack []byte) error {
		logger.ErrorContext(c.Request().Context(), "panic recovered", "error", err.Error(), "stack", string(stack))
		return err
	}
}
