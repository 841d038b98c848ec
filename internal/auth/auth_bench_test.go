package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/auth"
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
			{ID: "bob-key", Owner: "bob", SHA256: sha(bobKey)},
		},
	}
	mw, closer, err := auth.New(cfg, tbl, discard())
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	e := echo.New()
	e.Use(mw)
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
