package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, func(c *config.Config) {
		c.CORS.AllowOrigins = []string{"https://shop.example.com"}
	})
	tests := []struct {
		desc, method, origin string
		headers              []string
		status               int
		allowOrigin          string
	}{
		{"preflight from an allowed origin", http.MethodOptions, "https://shop.example.com",
			[]string{"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,idempotency-key"}, http.StatusNoContent, "https://shop.example.com"},
		{"preflight from another origin", http.MethodOptions, "https://evil.example",
			[]string{"Access-Control-Request-Method", "POST"}, http.StatusNoContent, ""},
		{"simple request from an allowed origin", http.MethodGet, "https://shop.example.com", nil, http.StatusOK, "https://shop.example.com"},
		{"simple request from another origin", http.MethodGet, "https://evil.example", nil, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			path := "/v1/orders"
			if tt.method == http.MethodGet {
				path = "/v1/products/prd_0001"
			}
			res := env.Do(t, tt.method, path, "", append([]string{"Origin", tt.origin}, tt.headers...)...)
			if res.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tt.status, res.Body)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tt.allowOrigin)
			}
			if tt.allowOrigin != "" && tt.method == http.MethodOptions {
				if !strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
					t.Errorf("Allow-Headers %q", res.Header.Get("Access-Control-Allow-Headers"))
				}
			}
			if tt.allowOrigin != "" && tt.method == http.MethodGet {
				if !strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
					t.Errorf("Expose-Headers %q", res.Header.Get("Access-Control-Expose-Headers"))
				}
			}
		})
	}
}

func TestCORSOffByDefault(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	res := env.Do(t, http.MethodOptions, "/v1/orders", "", "Origin", "https://shop.example.com", "Access-Control-Request-Method", "POST")
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS answered although not configured")
	}
	// OPTIONS itself is answered (RFC 9110): 204 listing the path's methods.
	if res.Status != http.StatusNoContent || !strings.Contains(res.Header.Get("Allow"), "POST") {
		t.Fatalf("status %d, Allow %q", res.Status, res.Header.Get("Allow"))
	}
}
