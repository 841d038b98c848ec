package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/app/testenv"
)

// TestIdempotentCreateOrder: a repeated keyed POST replays the first answer without placing
// a second order; the same key with another payload is refused.
func TestIdempotentCreateOrder(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	order := `{"items":[{"productId":"prd_0004","quantity":1}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`
	before := env.OrdersService.Count()

	first := env.Do(t, http.MethodPost, "/v1/orders", order, "Idempotency-Key", "order-42")
	firstBody := assertEnvelope(t, first, http.StatusCreated, true)
	replay := env.Do(t, http.MethodPost, "/v1/orders", order, "Idempotency-Key", "order-42")
	replayBody := assertEnvelope(t, replay, http.StatusCreated, true)

	if replay.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("Idempotent-Replayed: first %q, replay %q", first.Header.Get("Idempotent-Replayed"), replay.Header.Get("Idempotent-Replayed"))
	}
	a, _ := json.Marshal(firstBody["data"])
	b, _ := json.Marshal(replayBody["data"])
	if string(a) != string(b) {
		t.Fatalf("replayed data differs:\n%s\n%s", a, b)
	}
	if first.Header.Get("X-Request-Id") == replay.Header.Get("X-Request-Id") {
		t.Fatal("the replay carries the first request's id")
	}
	if got := env.OrdersService.Count(); got != before+1 {
		t.Fatalf("%d orders created upstream, want 1", got-before)
	}

	other := env.Do(t, http.MethodPost, "/v1/orders", strings.Replace(order, `"quantity":1`, `"quantity":2`, 1), "Idempotency-Key", "order-42")
	if code := errorCode(t, assertEnvelope(t, other, http.StatusUnprocessableEntity, false)); code != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("code %q", code)
	}
}

// TestRateLimitHeadersAndDashboardPolicy: every limited answer carries the RateLimit fields;
// the dashboard's x-ratelimit (60 per minute, burst 10) rejects the 11th quick call.
func TestRateLimitHeadersAndDashboardPolicy(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	res := env.Do(t, http.MethodGet, "/v1/products", "")
	if res.Header.Get("RateLimit-Policy") != `"default";q=600;w=60` || !strings.HasPrefix(res.Header.Get("RateLimit"), `"default";r=599;t=`) {
		t.Fatalf("RateLimit-Policy %q, RateLimit %q", res.Header.Get("RateLimit-Policy"), res.Header.Get("RateLimit"))
	}
	if h := env.Do(t, http.MethodGet, "/healthz", "").Header.Get("RateLimit"); h != "" {
		t.Fatalf("ops endpoint limited: %q", h)
	}
	var last *testenv.Response
	for i := 0; i < 11; i++ {
		last = env.Do(t, http.MethodGet, "/v1/me/dashboard", "")
	}
	body := assertEnvelope(t, last, http.StatusTooManyRequests, false)
	if code := errorCode(t, body); code != "RATE_LIMIT_EXCEEDED" {
		t.Fatalf("code %q", code)
	}
	if last.Header.Get("Retry-After") == "" || !strings.HasPrefix(last.Header.Get("RateLimit"), `"getDashboard";r=0;t=`) {
		t.Fatalf("Retry-After %q, RateLimit %q", last.Header.Get("Retry-After"), last.Header.Get("RateLimit"))
	}
}

// TestCachedProductReads: x-cache on getProduct serves repeats without calling the catalog,
// with ETag and Cache-Control, and 304 on If-None-Match.
func TestCachedProductReads(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	first := env.Do(t, http.MethodGet, "/v1/products/prd_0003", "")
	assertEnvelope(t, first, http.StatusOK, true)
	second := env.Do(t, http.MethodGet, "/v1/products/prd_0003", "")
	assertEnvelope(t, second, http.StatusOK, true)
	if n := env.Catalog.Faults.Stats().Routes["GET /products/:productId"]; n != 1 {
		t.Fatalf("catalog called %d times for two reads", n)
	}
	etag := second.Header.Get("ETag")
	if etag == "" || etag != first.Header.Get("ETag") || second.Header.Get("Cache-Control") != "public, max-age=30" {
		t.Fatalf("ETag %q / %q, Cache-Control %q", first.Header.Get("ETag"), etag, second.Header.Get("Cache-Control"))
	}
	if nm := env.Do(t, http.MethodGet, "/v1/products/prd_0003", "", "If-None-Match", etag); nm.Status != http.StatusNotModified || len(nm.Body) != 0 {
		t.Fatalf("If-None-Match: %d %q", nm.Status, nm.Body)
	}
}
