package ratelimit_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
)

// limiterOn is a gateway whose limiter keeps its state in st.
func limiterOn(t *testing.T, cfg ratelimit.Config, st *ratelimit.Stores) *gateway {
	t.Helper()
	tbl := loadTable(t)
	l, err := ratelimit.New(cfg, tbl, discardLogger(), ratelimit.WithStores(st))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(discardLogger())
	e.Pre(correlation.New().Middleware())
	e.Use(tbl.Match(), testIdentity, l.Middleware())
	for _, op := range tbl.All() {
		e.Add(op.Method, op.Route, func(c echo.Context) error { return c.String(http.StatusOK, op.ID) })
	}
	return &gateway{e: e, logs: &syncBuffer{}}
}

// newStores returns stores of cfg, closed when the test ends.
func newStores(t *testing.T, cfg ratelimit.Config) *ratelimit.Stores {
	t.Helper()
	st, err := ratelimit.NewStores(cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestStoresOutliveTheLimiter: a limiter built on the same Stores (a configuration reload)
// charges the same buckets, under its own policy; stores of other settings are refused.
func TestStoresOutliveTheLimiter(t *testing.T) {
	cfg := defaulted(ratelimit.Config{Default: ratelimit.Policy{Requests: 2, Window: time.Minute}})
	st := newStores(t, cfg)
	const peer = "192.0.2.7:4000"

	first := limiterOn(t, cfg, st)
	for i := range 2 {
		if res := first.do(t, http.MethodGet, "/v1/products", peer); res.status != 200 {
			t.Fatalf("request %d: %d", i, res.status)
		}
	}
	checkRejected(t, first.do(t, http.MethodGet, "/v1/products", peer))

	// The next configuration: a quota of 3 per minute. The caller has spent 2 of 2 (its
	// bucket full for a minute): at 3 per minute, it is still over.
	next := cfg
	next.Default = ratelimit.Policy{Requests: 3, Window: time.Minute, Burst: 3}
	second := limiterOn(t, next, st)
	res := second.do(t, http.MethodGet, "/v1/products", peer)
	checkRejected(t, res)
	if res.q != 3 {
		t.Fatalf("RateLimit-Policy q=%d, want the new policy's 3", res.q)
	}
	// Another client has the new quota whole.
	for i := range 3 {
		if res := second.do(t, http.MethodGet, "/v1/products", "192.0.2.8:4000"); res.status != 200 {
			t.Fatalf("another client, request %d: %d", i, res.status)
		}
	}

	// The same policy on stores of their own starts from nothing: the sharing is what kept
	// the bucket.
	if res := limiterOn(t, next, newStores(t, next)).do(t, http.MethodGet, "/v1/products", peer); res.status != 200 {
		t.Fatalf("fresh stores: %d", res.status)
	}

	other := cfg
	other.MaxKeys = cfg.MaxKeys / 2
	if _, err := ratelimit.New(other, loadTable(t), discardLogger(), ratelimit.WithStores(st)); err == nil {
		t.Fatal("New accepted stores of another maxKeys")
	}
	if _, err := ratelimit.NewAuthGuard(other, discardLogger(), ratelimit.WithStores(st)); err == nil {
		t.Fatal("NewAuthGuard accepted stores of another maxKeys")
	}
}

// TestStoresKeepTheAuthGuardsBlock: an address blocked for failed authentications stays
// blocked under a guard built on the same stores.
func TestStoresKeepTheAuthGuardsBlock(t *testing.T) {
	cfg := defaulted(ratelimit.Config{AuthFailures: ratelimit.AuthFailures{Requests: 2, Window: time.Minute}})
	st := newStores(t, cfg)
	g, err := ratelimit.NewAuthGuard(cfg, discardLogger(), ratelimit.WithStores(st))
	if err != nil {
		t.Fatal(err)
	}
	attacker := requestFrom("192.0.2.7:4000")
	for range 2 {
		_ = g.Fail(attacker)
	}
	if err := g.Check(attacker); err == nil {
		t.Fatal("not blocked after spending the budget")
	}
	next := cfg
	next.AuthFailures.Requests = 3
	g2, err := ratelimit.NewAuthGuard(next, discardLogger(), ratelimit.WithStores(st))
	if err != nil {
		t.Fatal(err)
	}
	var ae *apierror.Error
	if err := g2.Check(attacker); !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
		t.Fatalf("the next guard: Check = %v, want the 429 of the block", err)
	}
}
