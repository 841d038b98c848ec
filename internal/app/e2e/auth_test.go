package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	ordersdemo "github.com/contractgate/contractgate/internal/app/demo/orders"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/auth"
)

// TestAuthOnTheStorefront checks the contract's security requirements end to end, with the
// demo credentials of the embedded configuration.
func TestAuthOnTheStorefront(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	bobToken, err := auth.IssueDevToken(env.Config.Auth, "bob", []string{"orders:read"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	order := `{"items":[{"productId":"prd_0001","quantity":1}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`
	tests := []struct {
		desc, method, path, body string
		headers                  []string
		status                   int
		code                     string
	}{
		{"public operation without credentials", http.MethodGet, "/v1/products/prd_0001", "", []string{"X-API-Key", ""}, 200, ""},
		{"secured operation without credentials", http.MethodGet, "/v1/orders", "", []string{"X-API-Key", ""}, 401, "UNAUTHORIZED"},
		{"unknown API key", http.MethodGet, "/v1/orders", "", []string{"X-API-Key", "nope"}, 401, "UNAUTHORIZED"},
		{"API key in the query string", http.MethodGet, "/v1/orders?api_key=" + testenv.AliceKey, "", []string{"X-API-Key", ""}, 401, "UNAUTHORIZED"},
		{"garbage bearer token", http.MethodGet, "/v1/orders", "", []string{"Authorization", "Bearer abc.def.ghi"}, 401, "UNAUTHORIZED"},
		{"scope missing (bob's key has orders:read only)", http.MethodPost, "/v1/orders", order, []string{"X-API-Key", testenv.BobKey, "Idempotency-Key", "k1"}, 403, "FORBIDDEN"},
		{"bad body of an anonymous caller is not judged", http.MethodPost, "/v1/orders", `{"items":`, []string{"X-API-Key", "", "Idempotency-Key", "k2"}, 401, "UNAUTHORIZED"},
		{"bob's token reads bob's order", http.MethodGet, "/v1/orders/" + ordersdemo.BobPendingOrderID, "", []string{"Authorization", "Bearer " + bobToken}, 200, ""},
		{"bob cannot see alice's order", http.MethodGet, "/v1/orders/" + ordersdemo.AlicePendingOrderID, "", []string{"Authorization", "Bearer " + bobToken}, 404, "RESOURCE_NOT_FOUND"},
		{"a client-supplied identity header is ignored", http.MethodGet, "/v1/orders/" + ordersdemo.AlicePendingOrderID, "", []string{"X-API-Key", testenv.BobKey, "X-Contractgate-Subject", "alice"}, 404, "RESOURCE_NOT_FOUND"},
		{"alice's key creates an order", http.MethodPost, "/v1/orders", order, []string{"Idempotency-Key", "k3"}, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			res := env.Do(t, tt.method, tt.path, tt.body, tt.headers...)
			body := assertEnvelope(t, res, tt.status, tt.code == "")
			if tt.code == "" {
				return
			}
			if code := errorCode(t, body); code != tt.code {
				t.Fatalf("code %q, want %q", code, tt.code)
			}
			switch tt.status {
			case 401:
				if !strings.Contains(strings.Join(res.Header.Values("WWW-Authenticate"), ", "), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", res.Header.Values("WWW-Authenticate"))
				}
			case 403:
				if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "orders:write") {
					t.Fatalf("403 message %q does not name the missing scope", msg)
				}
			}
		})
	}
}
