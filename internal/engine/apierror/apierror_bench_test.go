package apierror_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// discardWriter is a reusable http.ResponseWriter that drops the body.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkHandler measures rendering an error as the envelope (or a problem document),
// through the one error handler, with a logger at info level writing JSON to io.Discard
// (4xx are logged at debug: not written; 5xx are).
func BenchmarkHandler(b *testing.B) {
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	handle := apierror.Handler(logger)
	e := echo.New()
	validation := apierror.ErrValidationFailed.WithDetails(
		apierror.Detail{Field: "body.items[0].quantity", Constraint: "maximum", Message: "must be at most 100", Received: 500},
		apierror.Detail{Field: "body.payment.cardToken", Constraint: "pattern", Message: "must match ^tok_[A-Za-z0-9_]{4,64}$", Received: "visa"},
	)
	for _, bc := range []struct {
		name   string
		err    error
		accept string
	}{
		{"RouteNotFound", apierror.ErrRouteNotFound, ""},
		{"ValidationFailed", validation, ""},
		{"ValidationFailedProblem", validation, "application/problem+json"},
		{"UpstreamTimeout", apierror.ErrUpstreamTimeout.Wrap(context.DeadlineExceeded), ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
			if bc.accept != "" {
				req.Header.Set("Accept", bc.accept)
			}
			req = req.WithContext(correlation.NewContext(req.Context(), &correlation.Info{
				RequestID: "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90", Start: time.Now(),
			}))
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.header)
				c := e.AcquireContext()
				c.Reset(req, w)
				handle(bc.err, c)
				e.ReleaseContext(c)
			}
		})
	}
}
