// Package observe is the observation step of every request: it has the request's error
// rendered by the one error handler (so that the final status is known), then records the
// RED metrics and writes one access-log line.
package observe

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/contractgate/contractgate/internal/apierror"
	"github.com/contractgate/contractgate/internal/correlation"
	"github.com/contractgate/contractgate/internal/identity"
	"github.com/contractgate/contractgate/internal/metrics"
	"github.com/contractgate/contractgate/internal/routes"
)

// Config wires the middleware.
type Config struct {
	// Table names each request by its contract operation id (bounded metric labels).
	Table *routes.Table
	// Metrics receives the RED metrics. Required.
	Metrics *metrics.Metrics
	// Logger receives the access log, one line per request at info level. Required.
	Logger *slog.Logger
}

// Labels for requests outside the contract.
const (
	// Unmatched names requests that matched no route (404, 405).
	Unmatched = "unmatched"
	// OpsPrefix prefixes the operator endpoints' route (ops:/healthz).
	OpsPrefix = "ops:"
)

// New returns the middleware. It must run inside correlation (it reads the request id) and
// outside recover (so that a recovered panic is counted and logged as the 500 it becomes).
func New(cfg Config) (echo.MiddlewareFunc, error) {
	if cfg.Metrics == nil || cfg.Logger == nil || cfg.Table == nil {
		return nil, errors.New("observe: Table, Metrics and Logger are required")
	}
	m, log := cfg.Metrics, cfg.Logger
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			done := m.RequestStarted()
			defer done()
			err := next(c)
			code := ""
			if err != nil {
				if !clientGone(c, err) {
					code = string(apierror.From(err).Code)
				}
				c.Error(err) // the one error handler renders it now
			}
			req, res := c.Request(), c.Response()
			ctx := req.Context()
			info := correlation.FromContext(ctx)
			var d time.Duration
			if info != nil {
				d = time.Since(info.Start)
			}
			op, route := operation(cfg.Table, c)
			m.Request(op, req.Method, res.Status, code, d)
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
			attrs := make([]slog.Attr, 0, 16)
			if info != nil {
				attrs = append(attrs,
					slog.String("requestId", info.RequestID),
					slog.String("traceId", info.TraceID),
					slog.String("spanId", info.SpanID),
					slog.Int("upstreamAttempts", int(info.UpstreamAttempts.Load())))
			}
			attrs = append(attrs,
				slog.String("operation", op),
				slog.String("method", req.Method),
				slog.String("route", route),
				slog.Int("status", res.Status),
				slog.Float64("durationMs", float64(d.Microseconds())/1000),
				slog.Int64("bytesIn", max(req.ContentLength, 0)),
				slog.Int64("bytesOut", res.Size))
			if code != "" {
				attrs = append(attrs, slog.String("errorCode", code))
			}
			if id, ok := identity.FromContext(ctx); ok {
				attrs = append(attrs, slog.String("subject", id.Subject), slog.String("authMethod", id.Method))
			}
			log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
			return nil
		}
	}, nil
}

// operation returns the metric label and the route template of the request.
func operation(t *routes.Table, c echo.Context) (op, route string) {
	route = c.Path()
	if o := t.Lookup(c); o != nil {
		return o.ID, route
	}
	if route == "" || route == "/*" || c.Response().Status == 404 || c.Response().Status == 405 {
		return Unmatched, route
	}
	return OpsPrefix + route, route
}

func clientGone(c echo.Context, err error) bool {
	return errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil
}
