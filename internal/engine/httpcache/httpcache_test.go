package httpcache_test

import (
	"encoding/json"
	"github.com/getkin/kin-openapi/openapi3"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/httpcache"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

type origin struct {
	calls atomic.Int32
	fail  atomic.Bool
}

// gateway serves getProduct (x-cache: maxAge 30s, staleIfError 10m in the contract) from a
// handler that counts its calls and fails on demand, behind the cache.
func gateway(t *testing.T) (*httptest.Server, *origin, *time.Time) {
	t.Helper()
	c, tbl := newCache(t, "", httpcache.Config{})
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	c.SetClock(func() time.Time { return now })
	o := &origin{}
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Use(correlation.New().Middleware(), tbl.Match(), c.Middleware())
	e.GET("/v1/products/:productId", func(ctx echo.Context) error {
		o.calls.Add(1)
		if o.fail.Load() {
			return apierror.ErrUpstreamUnavailable
		}
		data := map[string]any{"id": ctx.Param("productId")}
		if ctx.Param("productId") != "prd_0007" { // prd_0007's data never changes
			data["n"] = o.calls.Load()
		}
		return ctx.JSON(http.StatusOK, map[string]any{"success": true, "data": data, "meta": envelope.Meta(ctx.Request().Context())})
	})
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return ts, o, &now
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func get(t *testing.T, url string, headers ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &a.body); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	return a
}

func TestCache(t *testing.T) {
	ts, o, now := gateway(t)
	url := ts.URL + "/v1/products/prd_0001"

	first := get(t, url)
	etag := first.header.Get("ETag")
	if first.status != 200 || etag == "" || first.header.Get("Cache-Control") != "public, max-age=30" || first.header.Get("Cache-Status") != "contractgate; fwd=miss; stored" {
		t.Fatalf("first: %d %v", first.status, first.header)
	}
	hit := get(t, url)
	if hit.status != 200 || hit.header.Get("Cache-Status") != "contractgate; hit" || hit.header.Get("ETag") != etag || o.calls.Load() != 1 {
		t.Fatalf("hit: %d %v, origin called %d times", hit.status, hit.header, o.calls.Load())
	}
	if hit.body["meta"].(map[string]any)["requestId"] != hit.header.Get("X-Request-Id") {
		t.Fatal("a cached answer's meta must describe this response")
	}
	if hit.body["data"].(map[string]any)["n"] != 1.0 {
		t.Fatalf("hit data %v", hit.body["data"])
	}
	if nm := get(t, url, "If-None-Match", etag); nm.status != http.StatusNotModified || nm.body != nil {
		t.Fatalf("If-None-Match: %d %v", nm.status, nm.body)
	}
	if nm := get(t, url, "If-None-Match", `W/"other", `+etag); nm.status != http.StatusNotModified {
		t.Fatalf("If-None-Match list: %d", nm.status)
	}
	if other := get(t, ts.URL+"/v1/products/prd_0002"); other.status != 200 || o.calls.Load() != 2 {
		t.Fatalf("another key must miss: %d, calls %d", other.status, o.calls.Load())
	}

	// Expired: the origin is asked again; while it fails, the stale answer covers it.
	*now = now.Add(31 * time.Second)
	o.fail.Store(true)
	stale := get(t, url)
	deg, _ := stale.body["meta"].(map[string]any)["degraded"].([]any)
	if stale.status != 200 || len(deg) != 1 || deg[0] != "stale" || stale.header.Get("Cache-Status") != "contractgate; hit; detail=stale-if-error" {
		t.Fatalf("stale-if-error: %d %v %v", stale.status, stale.header, stale.body)
	}
	if stale.header.Get("Age") != "31" {
		t.Errorf("Age %q", stale.header.Get("Age"))
	}
	// Beyond maxAge + staleIfError the failure shows.
	*now = now.Add(11 * time.Minute)
	if gone := get(t, url); gone.status != http.StatusServiceUnavailable {
		t.Fatalf("beyond stale-if-error: %d", gone.status)
	}
	// Recovered: a fresh answer replaces the entry.
	o.fail.Store(false)
	if fresh := get(t, url); fresh.status != 200 || fresh.header.Get("Cache-Status") != "contractgate; fwd=miss; stored" {
		t.Fatalf("fresh: %d %v", fresh.status, fresh.header)
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		raw  any
		ok   bool
	}{
		{"both", map[string]any{"maxAge": "30s", "staleIfError": "10m"}, true},
		{"maxAge only", map[string]any{"maxAge": "1s"}, true},
		{"no maxAge", map[string]any{"staleIfError": "1m"}, false},
		{"not a duration", map[string]any{"maxAge": "soon"}, false},
		{"a number", map[string]any{"maxAge": 30}, false},
		{"unknown key", map[string]any{"maxAge": "1s", "private": "yes"}, false},
		{"not an object", "30s", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if _, _, err := httpcache.ParsePolicy(tt.raw); (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		header string
		want   bool
	}{{`"a"`, true}, {`W/"a"`, true}, {`"b", "a"`, true}, {`*`, true}, {`"b"`, false}, {``, false}} {
		if got := httpcache.Matches(tt.header, `"a"`); got != tt.want {
			t.Errorf("matches(%q) = %v", tt.header, got)
		}
	}
}

// TestRevalidationOnMissAnswers304: a client revalidating after maxAge with an ETag that
// still matches gets a real 304 (not an empty 200).
func TestRevalidationOnMissAnswers304(t *testing.T) {
	ts, _, now := gateway(t)
	url := ts.URL + "/v1/products/prd_0007"
	first := get(t, url)
	*now = now.Add(31 * time.Second) // expired: the next request goes to the origin again
	res := get(t, url, "If-None-Match", first.header.Get("ETag"))
	if res.status != http.StatusNotModified || res.header.Get("Cache-Status") != "contractgate; fwd=miss; stored" {
		t.Fatalf("revalidation on a miss: %d %v", res.status, res.header)
	}
}

// TestPanicInCachedOperationAnswers500: a panic under x-cache becomes the 500 envelope.
func TestPanicInCachedOperationAnswers500(t *testing.T) {
	c, tbl := newCache(t, "", httpcache.Config{})
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Pre(correlation.New().Middleware(), middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableErrorHandler: true,
		LogErrorFunc:        func(_ echo.Context, err error, _ []byte) error { return err },
	}))
	e.Use(tbl.Match(), c.Middleware())
	e.GET("/v1/products/:productId", func(ctx echo.Context) error {
		_, _ = ctx.Response().Write([]byte(`{"partial":`))
		panic("boom")
	})
	ts := httptest.NewServer(e)
	defer ts.Close()
	res := get(t, ts.URL+"/v1/products/prd_0001")
	if res.status != http.StatusInternalServerError || res.body["error"].(map[string]any)["code"] != "INTERNAL_SERVER_ERROR" {
		t.Fatalf("panic: %d %v", res.status, res.body)
	}
}

// TestUndeclaredQueryDoesNotSplitTheKey: ?x=<anything> (not a declared parameter) hits the
// same entry instead of flooding the store.
func TestUndeclaredQueryDoesNotSplitTheKey(t *testing.T) {
	ts, o, _ := gateway(t)
	get(t, ts.URL+"/v1/products/prd_0009")
	for i := range 5 {
		if res := get(t, ts.URL+"/v1/products/prd_0009?x="+string(rune('a'+i))); res.header.Get("Cache-Status") != "contractgate; hit" {
			t.Fatalf("undeclared query missed the cache: %v", res.header)
		}
	}
	if o.calls.Load() != 1 {
		t.Fatalf("origin called %d times", o.calls.Load())
	}
}

// newCache builds a cache of cfg for the operations of spec (a contract's YAML; "" for the
// storefront's).
func newCache(tb testing.TB, spec string, cfg httpcache.Config) (*httpcache.Cache, *routes.Table) {
	tb.Helper()
	doc, err := enginetest.Shop()
	if spec != "" {
		doc, err = openapi3.NewLoader().LoadFromData([]byte(spec))
	}
	if err != nil {
		tb.Fatal(err)
	}
	table, err := routes.New(doc)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.SetDefaults() // as config.Load does
	c, err := httpcache.New(cfg, table)
	if err != nil {
		tb.Fatal(err)
	}
	return c, table
}
