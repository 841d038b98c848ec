package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
)

// BenchmarkMiddleware measures the middleware alone (no network) per credential kind.
func BenchmarkMiddleware(b *testing.B) {
	tbl, err := table()
	if err != nil {
		b.Fatal(err)
	}
	cfg := auth.Config{
		JWT: auth.JWT{HMACKeys: []auth.HMACKey{{KID: "hs-1", Secret: testSecret}}, Issuer: testIssuer, Audience: testAudience},
		APIKeys: []auth.APIKey{
			{ID: "alice-key", Owner: "alice", SHA256: sha(aliceKey), Scopes: []string{"orders:read"}},
			{ID: "bob-key", Owner: "bob", SHA256: sha(bobKey), Scopes: []string{"orders:read"}},
		},
	}
	cfg.SetDefaults()
	a, err := auth.New(cfg, tbl, discard())
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	e := echo.New()
	e.Use(tbl.Match(), a.Middleware())
	e.GET("/v1/orders", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.GET("/v1/products", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("carol", "orders:read"))
	tok.Header["kid"] = "hs-1"
	signed, err := tok.SignedString([]byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ desc, path, header, value string }{
		{"public", "/v1/products", "", ""},
		{"HS256 token", "/v1/orders", "Authorization", "Bearer " + signed},
		{"API key", "/v1/orders", "X-API-Key", bobKey},
	} {
		b.Run(bc.desc, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.path, nil)
			if bc.header != "" {
				req.Header.Set(bc.header, bc.value)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkGuard measures the middleware with and without the failed-authentication guard
// (ratelimit.AuthGuard, in memory, default budget): what the check before verifying adds to
// authenticated requests, and what a hostile request costs once its address is blocked
// (the 429 is built, not rendered: no error handler here).
func BenchmarkGuard(b *testing.B) {
	tbl, err := table()
	if err != nil {
		b.Fatal(err)
	}
	cfg := auth.Config{
		JWT:     auth.JWT{HMACKeys: []auth.HMACKey{{KID: "hs-1", Secret: testSecret}}, Issuer: testIssuer, Audience: testAudience},
		APIKeys: []auth.APIKey{{ID: "alice-key", Owner: "alice", SHA256: sha(aliceKey), Scopes: []string{"orders:read"}}},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("carol", "orders:read"))
	tok.Header["kid"] = "hs-1"
	signed, err := tok.SignedString([]byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	forged := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("carol", "orders:read"))
	forged.Header["kid"] = "hs-1"
	bad, err := forged.SignedString([]byte(testSecret + "x"))
	if err != nil {
		b.Fatal(err)
	}
	for _, guarded := range []bool{false, true} {
		var opts []auth.Option
		name := "unguarded"
		if guarded {
			gc := ratelimit.Config{}
			gc.SetDefaults()
			g, err := ratelimit.NewAuthGuard(gc, discard())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = g.Close() })
			opts, name = append(opts, auth.WithGuard(g)), "guarded"
		}
		a, err := auth.New(cfg, tbl, discard(), opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = a.Close() })
		h := tbl.Match()(a.Middleware()(func(c echo.Context) error { return nil }))
		e := echo.New()
		for i, bc := range []struct {
			desc, header, value string
			ok                  bool
		}{
			{"HS256 token", "Authorization", "Bearer " + signed, true},
			{"API key", "X-API-Key", aliceKey, true},
			{"wrong API key", "X-API-Key", bobKey, false},
			{"forged HS256 token", "Authorization", "Bearer " + bad, false},
		} {
			b.Run(name+"/"+bc.desc, func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, "/v1/orders", nil)
				req.RemoteAddr = "203.0.113." + string(rune('1'+i)) + ":5000" // each case its own address
				req.Header.Set(bc.header, bc.value)
				c := e.NewContext(req, httptest.NewRecorder())
				c.SetPath("/v1/orders")
				b.ReportAllocs()
				for b.Loop() {
					c.SetRequest(req)
					if err := h(c); (err == nil) != bc.ok {
						b.Fatalf("err %v", err)
					}
				}
			})
		}
	}
}
