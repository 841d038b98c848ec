package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/ratelimit"
)

// BenchmarkMiddleware is the whole per-request cost of the middleware in memory mode: route
// lookup, client address, GCRA step and the two RateLimit fields (whose values are the
// allocations).
func BenchmarkMiddleware(b *testing.B) {
	tbl := loadTable(b)
	l, err := ratelimit.New(defaulted(ratelimit.Config{Default: ratelimit.Policy{Requests: 1_000_000_000, Window: 1000 * time.Second}}), tbl, discardLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	h := tbl.Match()(l.Middleware()(func(echo.Context) error { return nil }))
	e := echo.New()
	req := httptest.NewRequest(http.MethodGet, "/v1/products", nil)
	req.RemoteAddr = "203.0.113.7:50000"
	rec := httptest.NewRecorder()
	c := e.NewContext(req, rec)
	c.SetPath("/v1/products")
	b.ReportAllocs()
	for b.Loop() {
		clear(rec.Header())
		if err := h(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthGuard is what the failed-authentication guard costs per request: Check for an
// address in good standing (every request of a secured operation pays it), Check for a
// blocked address (a hostile request refused before any verification), and Fail (charged
// only when credentials were refused).
func BenchmarkAuthGuard(b *testing.B) {
	g, err := ratelimit.NewAuthGuard(defaulted(ratelimit.Config{AuthFailures: ratelimit.AuthFailures{Requests: 1_000_000, Window: time.Second}}), discardLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	good := httptest.NewRequest(http.MethodGet, "/v1/orders", nil)
	good.RemoteAddr = "203.0.113.7:50000"
	b.Run("check/allowed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if g.Check(good) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("fail", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = g.Fail(good)
		}
	})
	blocked, err := ratelimit.NewAuthGuard(defaulted(ratelimit.Config{AuthFailures: ratelimit.AuthFailures{Requests: 1, Window: time.Hour}}), discardLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = blocked.Close() })
	_ = blocked.Fail(good)
	b.Run("check/blocked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if blocked.Check(good) == nil {
				b.Fatal("allowed")
			}
		}
	})
}
