package httpcache_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/httpcache"
	"github.com/contractgate/contractgate/internal/engine/identity"
)

// padded builds an echo serving getProduct (x-cache) behind a cache of cfg, answering with
// pad bytes of data; it counts the origin's calls.
func padded(tb testing.TB, cfg httpcache.Config, pad int) (*echo.Echo, *httpcache.Cache, *atomic.Int64) {
	tb.Helper()
	c, tbl := newCache(tb, "", cfg)
	var calls atomic.Int64
	filler := strings.Repeat("x", pad)
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Use(correlation.New().Middleware(), tbl.Match(), c.Middleware())
	e.GET("/v1/products/:productId", func(ctx echo.Context) error {
		calls.Add(1)
		data := map[string]any{"id": ctx.Param("productId"), "pad": filler}
		return ctx.JSON(http.StatusOK, map[string]any{"success": true, "data": data, "meta": envelope.Meta(ctx.Request().Context())})
	})
	return e, c, &calls
}

func serve(e *echo.Echo, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// TestByteBudgetBoundsTheStore fills the cache with distinct keys far past its byte budget:
// the bytes held never pass MaxBytes, the gauge hook follows them, and the least recently
// used answers go first (an answer read all along stays).
func TestByteBudgetBoundsTheStore(t *testing.T) {
	t.Parallel()
	var reported atomic.Int64
	cfg := httpcache.Config{MaxBytes: 64 << 10, MaxBodyBytes: 8 << 10, OnBytes: func(b int64) { reported.Store(b) }}
	e, c, calls := padded(t, cfg, 2000)
	serve(e, "/v1/products/hot")
	for i := range 1000 {
		if rec := serve(e, fmt.Sprintf("/v1/products/p%d", i)); rec.Code != http.StatusOK {
			t.Fatalf("p%d: %d %s", i, rec.Code, rec.Body)
		}
		if got := c.Bytes(); got > cfg.MaxBytes {
			t.Fatalf("after %d distinct keys the cache holds %d bytes, over maxBytes %d", i+1, got, cfg.MaxBytes)
		}
		if i%10 == 0 && serve(e, "/v1/products/hot").Header().Get("Cache-Status") != "contractgate; hit" {
			t.Fatalf("after %d keys the answer used all along was evicted before older unused ones", i+1)
		}
	}
	if got := c.Bytes(); got < cfg.MaxBytes/2 || reported.Load() != got {
		t.Fatalf("cache holds %d bytes (reported %d); want it used up to about %d", got, reported.Load(), cfg.MaxBytes)
	}
	if n := c.Len(); n < 10 || n > 32 {
		t.Fatalf("%d entries of ~2.3 KB in 64 KiB", n)
	}
	if calls.Load() != 1001 {
		t.Fatalf("origin called %d times, want 1001 (one per distinct key, the hot one once)", calls.Load())
	}
}

// TestEquivalentPathsShareOneEntry: escaped spellings of the same path parameter are one
// resource and one entry.
func TestEquivalentPathsShareOneEntry(t *testing.T) {
	t.Parallel()
	e, c, calls := padded(t, httpcache.Config{}, 10)
	for _, p := range []string{"/v1/products/prd_0001", "/v1/products/prd%5F0001", "/v1/products/%70rd_0001", "/v1/products/%70%72%64%5f%30%30%30%31"} {
		if rec := serve(e, p); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
	if calls.Load() != 1 || c.Len() != 1 {
		t.Fatalf("origin called %d times, %d entries; want 1 and 1", calls.Load(), c.Len())
	}
	if serve(e, "/v1/products/prd_0002"); calls.Load() != 2 || c.Len() != 2 {
		t.Fatalf("another resource must be another entry: %d calls, %d entries", calls.Load(), c.Len())
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  httpcache.Config
		path string // "" when valid
	}{
		{"defaults", httpcache.Config{}, ""},
		{"body larger than budget", httpcache.Config{MaxBytes: 1 << 20, MaxBodyBytes: 2 << 20}, "maxBodyBytes"},
		{"body equal to budget", httpcache.Config{MaxBytes: 1 << 20, MaxBodyBytes: 1 << 20}, ""},
		{"negative budget", httpcache.Config{MaxBytes: -1}, "maxBytes"},
		{"negative entries", httpcache.Config{MaxEntries: -1}, "maxEntries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SetDefaults()
			err := tc.cfg.Validate()
			var fe *configerr.FieldError
			switch {
			case tc.path == "" && err != nil:
				t.Fatalf("unexpected %v", err)
			case tc.path != "" && (!errors.As(err, &fe) || fe.Path != tc.path):
				t.Fatalf("got %v, want a problem at %s", err, tc.path)
			}
		})
	}
	var c httpcache.Config
	c.SetDefaults()
	if c.MaxBytes != 32<<20 {
		t.Fatalf("default maxBytes %d", c.MaxBytes)
	}
}

// BenchmarkFloodDistinctKeys: each op is one hostile request with a key never seen before;
// bytes-held reports what the cache holds at the end (bounded by MaxBytes whatever b.N).
func BenchmarkFloodDistinctKeys(b *testing.B) {
	cfg := httpcache.Config{MaxBytes: 1 << 20}
	e, c, _ := padded(b, cfg, 10000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		serve(e, fmt.Sprintf("/v1/products/p%d", i))
	}
	b.ReportMetric(float64(c.Bytes()), "bytes-held")
	if c.Bytes() > cfg.MaxBytes {
		b.Fatalf("holds %d bytes, over %d", c.Bytes(), cfg.MaxBytes)
	}
}

// TestPrivateAnswersStayPerCaller: a secured x-cache operation keys by the caller, also
// with the normalised key: bob never gets alice's stored answer, and a subject cannot forge
// another key's separators.
func TestPrivateAnswersStayPerCaller(t *testing.T) {
	t.Parallel()
	c, tbl := newCache(t, noStoreSpec, httpcache.Config{})
	e := echo.New()
	e.Use(tbl.Match(), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ctx echo.Context) error { // a stand-in for auth: the subject is X-Key
			r := ctx.Request()
			ctx.SetRequest(r.WithContext(identity.NewContext(r.Context(), identity.Identity{Subject: r.Header.Get("X-Key")})))
			return next(ctx)
		}
	}, c.Middleware())
	e.GET("/cached", func(ctx echo.Context) error {
		return ctx.JSON(http.StatusOK, map[string]any{"success": true, "data": ctx.Request().Header.Get("X-Key"), "meta": map[string]any{}})
	})
	for _, who := range []string{"alice", "bob", "alice#subject=bob", "alice", "bob"} {
		req := httptest.NewRequest(http.MethodGet, "/cached", nil)
		req.Header.Set("X-Key", who)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `"data":"`+who+`"`) {
			t.Fatalf("%s got %s", who, rec.Body)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("%d entries for 3 callers", c.Len())
	}
}
