package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
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

// TestBoundKeyedPost calls createFeedback, a keyed POST bound with x-upstream to the users
// service's createFeedback: the body passes through, the caller's subject fills userId, the
// answer is projected onto the public Feedback (the users service's userId never leaves the
// gateway), the Idempotency-Key reaches the users service scoped to the caller, and a replay
// is answered by the gateway without a second upstream call.
func TestBoundKeyedPost(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	const body = `{"rating":4,"comment":"Quick delivery."}`

	t.Run("201 projected, key forwarded scoped, replay without an upstream call", func(t *testing.T) {
		calls := env.UsersService.FeedbackCalls()
		res := env.Do(t, http.MethodPost, "/v1/me/feedback", body, "Idempotency-Key", "fb-key-1")
		created := assertEnvelope(t, res, http.StatusCreated, true)
		fb := created["data"].(map[string]any)
		if id, _ := fb["id"].(string); id == "" || fb["rating"] != float64(4) || fb["comment"] != "Quick delivery." || fb["createdAt"] == nil {
			t.Fatalf("data = %v", fb)
		}
		if _, leaked := fb["userId"]; leaked {
			t.Fatalf("the users service's userId left the gateway: %v", fb)
		}
		if res.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first request marked replayed")
		}
		replay := env.Do(t, http.MethodPost, "/v1/me/feedback", body, "Idempotency-Key", "fb-key-1")
		if replay.Status != http.StatusCreated || replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: status %d, Idempotent-Replayed %q; want 201, true", replay.Status, replay.Header.Get("Idempotent-Replayed"))
		}
		if got := replay.JSON(t)["data"].(map[string]any); got["id"] != fb["id"] || got["createdAt"] != fb["createdAt"] {
			t.Fatalf("replay data = %v, want the first answer's %v", got, fb)
		}
		if got := env.UsersService.FeedbackCalls() - calls; got != 1 {
			t.Fatalf("%d upstream calls for a request and its replay, want 1", got)
		}
		want, err := idempotency.UpstreamKey("alice", "fb-key-1")
		if err != nil {
			t.Fatal(err)
		}
		up, ok := env.UsersService.FeedbackByKey(want)
		if !ok || up.Id != fb["id"] || up.UserId != "alice" {
			t.Fatalf("the users service has no feedback %v under the scoped key %q (got %+v, %v)", fb["id"], want, up, ok)
		}
		if _, raw := env.UsersService.FeedbackByKey("fb-key-1"); raw {
			t.Fatal("the caller's raw Idempotency-Key reached the users service")
		}
	})
	t.Run("401 without credentials", func(t *testing.T) {
		calls := env.UsersService.FeedbackCalls()
		res := env.Do(t, http.MethodPost, "/v1/me/feedback", body, "X-API-Key", "", "Idempotency-Key", "fb-key-2")
		if code := errorCode(t, assertEnvelope(t, res, http.StatusUnauthorized, false)); code != "UNAUTHORIZED" {
			t.Fatalf("code %s", code)
		}
		if got := env.UsersService.FeedbackCalls() - calls; got != 0 {
			t.Fatalf("%d upstream calls", got)
		}
	})
	t.Run("422 on an unknown body field", func(t *testing.T) {
		calls := env.UsersService.FeedbackCalls()
		res := env.Do(t, http.MethodPost, "/v1/me/feedback", `{"rating":4,"userId":"bob"}`, "Idempotency-Key", "fb-key-3")
		if code := errorCode(t, assertEnvelope(t, res, http.StatusUnprocessableEntity, false)); code != "VALIDATION_FAILED" {
			t.Fatalf("code %s", code)
		}
		if got := env.UsersService.FeedbackCalls() - calls; got != 0 {
			t.Fatalf("%d upstream calls", got)
		}
	})
}
