package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// Retries after a lost answer (issue 13, found by the attack probe): the Idempotency-Key
// exists for a client that timed out or lost its connection and retries. Neither case may
// create a second order.

func keyedOrder(t *testing.T, ctx context.Context, env *testenv.Env, key string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.URL+"/v1/orders", strings.NewReader(validOrder))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", testenv.AliceKey)
	req.Header.Set("Idempotency-Key", key)
	return env.Client.Do(req)
}

// TestAttackRetryAfterClientGone: the client gives up while the orders upstream is still
// working; the claimed request runs to its end and its answer is stored, so the retry is
// replayed and the upstream created one order.
func TestAttackRetryAfterClientGone(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	mustSet(t, env.Orders.Faults, demo.Fault{Route: "/orders", Latency: 300 * time.Millisecond})
	before := env.OrdersService.Count()

	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		res, err := keyedOrder(t, ctx, env, "retry-gone")
		if err == nil {
			res.Body.Close()
		}
		gone <- err
	}()
	waitUntil(t, "the order reaches the orders upstream", func() bool {
		return env.Orders.Faults.Stats().Routes["POST /orders"] >= 1
	})
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	var retry *testenv.Response
	waitUntil(t, "the first request is no longer in flight", func() bool {
		retry = env.Do(t, http.MethodPost, "/v1/orders", validOrder, "Content-Type", "application/json",
			"X-API-Key", testenv.AliceKey, "Idempotency-Key", "retry-gone")
		return retry.Status != http.StatusConflict
	})
	if retry.Status != http.StatusCreated || retry.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %v %s, want the stored 201 replayed", retry.Status, retry.Header, retry.Body)
	}
	if got := env.OrdersService.Count() - before; got != 1 {
		t.Fatalf("the upstream created %d orders, want 1", got)
	}
}

// TestAttackRetryAfterUpstreamTimeout: the orders upstream answers after the gateway gave
// up (504 UPSTREAM_TIMEOUT, not stored: the outcome is unknown), yet it created the order.
// The retry reaches the upstream with the same derived Idempotency-Key, which answers the
// order the key created: one order, and the retry gets it.
func TestAttackRetryAfterUpstreamTimeout(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, func(c *config.Config) {
		u := c.Upstreams["orders"]
		u.Timeout, u.AttemptTimeout = 200*time.Millisecond, 200*time.Millisecond
		c.Upstreams["orders"] = u
	})
	mustSet(t, env.Orders.Faults, demo.Fault{Route: "/orders", Latency: 400 * time.Millisecond})
	before := env.OrdersService.Count()

	first := env.Do(t, http.MethodPost, "/v1/orders", validOrder, "Content-Type", "application/json",
		"X-API-Key", testenv.AliceKey, "Idempotency-Key", "retry-timeout")
	if first.Status != http.StatusGatewayTimeout {
		t.Fatalf("first: %d %s, want 504", first.Status, first.Body)
	}
	waitUntil(t, "the upstream creates the order after the gateway gave up", func() bool {
		return env.OrdersService.Count()-before == 1
	})
	env.Orders.Faults.Clear()

	retry := env.Do(t, http.MethodPost, "/v1/orders", validOrder, "Content-Type", "application/json",
		"X-API-Key", testenv.AliceKey, "Idempotency-Key", "retry-timeout")
	if retry.Status != http.StatusCreated {
		t.Fatalf("retry: %d %s, want 201", retry.Status, retry.Body)
	}
	if got := env.OrdersService.Count() - before; got != 1 {
		t.Fatalf("the upstream created %d orders, want 1", got)
	}
	// Another key is another order.
	other := env.Do(t, http.MethodPost, "/v1/orders", validOrder, "Content-Type", "application/json",
		"X-API-Key", testenv.AliceKey, "Idempotency-Key", "retry-timeout-2")
	if other.Status != http.StatusCreated || env.OrdersService.Count()-before != 2 {
		t.Fatalf("another key: %d, %d orders", other.Status, env.OrdersService.Count()-before)
	}
}
