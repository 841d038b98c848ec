package httpcache_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/httpcache"
	"github.com/contractgate/contractgate/internal/engine/identity"
)

const noStoreSpec = `
openapi: 3.1.0
info: {title: t, version: "1"}
security: [{bearer: []}]
paths:
  /public:
    get: {operationId: public, security: [], responses: {"200": {description: ok}}}
  /mine:
    get: {operationId: mine, responses: {"200": {description: ok}}}
  /either:
    get:
      operationId: either
      security: [{key: []}, {bearer: [], cookie: []}, {query: []}]
      responses: {"200": {description: ok}}
  /cached:
    get:
      operationId: cached
      x-cache: {maxAge: 30s}
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
    key: {type: apiKey, in: header, name: X-Key}
    cookie: {type: apiKey, in: cookie, name: session}
    query: {type: apiKey, in: query, name: k}
`

// TestNoStore: every answer of a secured operation, success or error, says no-store with
// Vary on its credential headers; public operations are left alone; an x-cache operation's
// stored answers keep their own private caching.
func TestNoStore(t *testing.T) {
	t.Parallel()
	c, tbl := newCache(t, noStoreSpec, httpcache.Config{})
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Use(tbl.Match(), c.NoStore(), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ctx echo.Context) error { // a stand-in for auth: 401 unless X-Key is sent
			if ctx.Request().Header.Get("X-Key") == "" {
				return apierror.ErrUnauthorized
			}
			r := ctx.Request()
			ctx.SetRequest(r.WithContext(identity.NewContext(r.Context(), identity.Identity{Subject: "alice"})))
			return next(ctx)
		}
	}, c.Middleware())
	ok := func(ctx echo.Context) error {
		return ctx.JSON(http.StatusOK, map[string]any{"success": true, "data": 1, "meta": map[string]any{}})
	}
	for _, p := range []string{"/public", "/mine", "/either", "/cached"} {
		e.GET(p, ok)
	}
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)

	tests := []struct {
		desc, path, key string
		status          int
		cache, vary     string
	}{
		{"secured, answered", "/mine", "k", 200, "no-store", "Authorization"},
		{"secured, refused", "/mine", "", 401, "no-store", "Authorization"},
		{"every scheme's header, once", "/either", "k", 200, "no-store", "X-Key, Authorization, Cookie"},
		{"x-cache on a secured operation: private", "/cached", "k", 200, "private, max-age=30", "Authorization"},
		{"x-cache on a secured operation, refused", "/cached", "", 401, "no-store", "Authorization"},
		{"public operation (refused by the stand-in)", "/public", "", 401, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, ts.URL+tt.path, nil)
			if tt.key != "" {
				req.Header.Set("X-Key", tt.key)
			}
			res, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Fatalf("Cache-Control %q, want %q", got, tt.cache)
			}
			var vary []string
			for _, v := range res.Header.Values("Vary") {
				if v != "Accept" {
					vary = append(vary, v)
				}
			}
			if got := strings.Join(vary, ", "); got != tt.vary {
				t.Fatalf("Vary %q, want %q", got, tt.vary)
			}
		})
	}
}
