package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/app/testenv"
)

// TestBoundOperations calls the storefront's operations bound with x-upstream (no
// hand-written Go): the catalog's answers arrive projected onto the public Product (the stock
// count never leaves the gateway), the caller's subject fills the catalog's userId, and
// upstream failures map as for hand-written glue.
func TestBoundOperations(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)

	t.Run("getProduct projects the catalog's product", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/products/prd_0001", ""), http.StatusOK, true)
		p := body["data"].(map[string]any)
		if p["id"] != "prd_0001" || p["inStock"] != true {
			t.Fatalf("data = %v", p)
		}
		if _, leaked := p["stock"]; leaked {
			t.Fatalf("the catalog's stock count left the gateway: %v", p)
		}
	})
	t.Run("getProduct 404", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/products/prd_9999", ""), http.StatusNotFound, false)
		if code := errorCode(t, body); code != "RESOURCE_NOT_FOUND" {
			t.Fatalf("code %s", code)
		}
	})
	t.Run("getMyRecommendations for the caller", func(t *testing.T) {
		res := env.Do(t, http.MethodGet, "/v1/me/recommendations?limit=2", "")
		body := assertEnvelope(t, res, http.StatusOK, true)
		items := body["data"].(map[string]any)["items"].([]any)
		if len(items) != 2 {
			t.Fatalf("%d items, want 2 (limit passed through)", len(items))
		}
		for _, it := range items {
			if _, leaked := it.(map[string]any)["stock"]; leaked {
				t.Fatalf("stock left the gateway: %v", it)
			}
		}
		if !strings.Contains(env.Logs(), `"operation":"getMyRecommendations"`) {
			t.Fatal("the access log does not name the bound operation")
		}
	})
	t.Run("getMyRecommendations needs credentials", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/me/recommendations", "", "X-API-Key", ""), http.StatusUnauthorized, false)
		if code := errorCode(t, body); code != "UNAUTHORIZED" {
			t.Fatalf("code %s", code)
		}
	})
	t.Run("getMyRecommendations validates limit", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/me/recommendations?limit=99", ""), http.StatusUnprocessableEntity, false)
		if code := errorCode(t, body); code != "VALIDATION_FAILED" {
			t.Fatalf("code %s", code)
		}
	})
}
