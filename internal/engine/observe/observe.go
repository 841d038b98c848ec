// Package observe is the observation step of every request: it has the request's error
// rendered by the one error handler (so that the final status is known), then records the
// RED metrics and writes one access-log line.
package observe

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"github.com/contractgate/contractgate/internal/engine/metrics"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Config wires the middleware. Each request is named by its contract operation id (bounded
// metric labels), which routes.Match resolved after routing (routes.Current).
type Config struct {
	// Metrics receives the RED metrics. Required.
	Metrics *metrics.Metrics
	// Logger receives the access log, one line per request at info level. Required. Its handler
	// is wrapped in logging.Correlated, which adds the
	// requestId, traceId and spanId keys of the line.
	Logger *slog.Logger
}

// Labels for requests outside the contract.
const (
	// Unmatched names requests that matched no route (404, 405).
	Unmatched = "unmatched"
	// OpsPrefix prefixes the operator endpoints' route (ops:/healthz).
	OpsPrefix = "ops:"
)

// Observer is the observation step. Safe for concurrent use.
type Observer struct {
	m   *metrics.Metrics
	log *slog.Logger
}

// New returns the observation step of cfg.
func New(cfg Config) (*Observer, error) {
	if cfg.Metrics == nil || cfg.Logger == nil {
		return nil, errors.New("observe: Metrics and Logger are required")
	}
	return &Observer{m: cfg.Metrics, log: logging.Correlated(cfg.Logger)}, nil
}

// Middleware returns the middleware. It must run inside correlation (it reads the request id)
// and outside recover (so that a recovered panic is counted and logged as the 500 it
// becomes); it runs before routing (e.Pre) and reads the request's operation, resolved by
// routes.Match, once the chain has returned.
func (o *Observer) Middleware() echo.MiddlewareFunc { return o.wrap }

func (o *Observer) wrap(next echo.HandlerFunc) echo.HandlerFunc {
	m, log := o.m, o.log
	return func(c echo.Context) error {
		done := m.RequestStarted()
		defer done()
		if err := next(c); err != nil {
			c.Error(err) // the one error handler renders it now, and records its code
		}
		req, res := c.Request(), c.Response()
		ctx := req.Context()
		info := correlation.FromContext(ctx)
		var d time.Duration
		code := "" // the code the error handler answered with (info.ErrorCode), or ""
		if info != nil {
			d = time.Since(info.Start)
			code = info.ErrorCode
		}
		op, route := operation(c)
		method := routes.Method(req.Method)
		m.Request(op, method, res.Status, code, d)
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.SetName(op)
			span.SetAttributes(attribute.String("http.route", route), attribute.String("contractgate.operation", op))
			if res.Status >= 500 {
				span.SetStatus(codes.Error, code)
			}
		}
		if !log.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		attrs := make([]slog.Attr, 0, 20) // at most 13, and room for the request's 3 ids
		if info != nil {
			// requestId, traceId and spanId: added by the logger's context handler.
			attrs = append(attrs, slog.Int("upstreamAttempts", int(info.UpstreamAttempts.Load())))
		}
		attrs = append(attrs,
			slog.String("operation", op),
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", res.Status),
			slog.Float64("durationMs", float64(d.Microseconds())/1000),
			slog.Int64("bytesIn", max(req.ContentLength, 0)),
			slog.Int64("bytesOut", res.Size))
		if method == routes.OtherMethod {
			attrs = append(attrs, slog.String("rawMethod", clip(req.Method)))
		}
		if code != "" {
			attrs = append(attrs, slog.String("errorCode", code))
		}
		if res.Header().Get(headerReplayed) == "true" {
			attrs = append(attrs, slog.Bool("replayed", true))
		}
		if id, ok := identity.FromContext(ctx); ok {
			attrs = append(attrs, slog.String("subject", id.Subject), slog.String("authMethod", id.Method))
		}
		logging.LogAttrs(ctx, log, slog.LevelInfo, "request", attrs)
		return nil
	}
}

// headerReplayed marks a response replayed by the idempotency middleware (idempotency imports
// this package's neighbours, not the other way round).
const headerReplayed = "Idempotent-Replayed"

// maxRawMethod is how much of an unknown method the access log keeps.
const maxRawMethod = 32

// clip returns at most maxRawMethod bytes of s, valid UTF-8 (slog's JSON escapes the rest).
func clip(s string) string {
	if len(s) > maxRawMethod {
		s = s[:maxRawMethod] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// operation returns the metric label and the route template of the request. The route is
// what Echo's router matched: a registered template (never the request's path), or "" when
// nothing was routed (a request refused before routing); so both come from a bounded set.
func operation(c echo.Context) (op, route string) {
	route = c.Path()
	if o := routes.Current(c); o != nil {
		return o.ID, route
	}
	if route == "" || route == "/*" || c.Response().Status == 404 || c.Response().Status == 405 {
		return Unmatched, route
	}
	return OpsPrefix + route, route
}
