package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/config"
	"github.com/contractgate/contractgate/internal/demo"
	"github.com/contractgate/contractgate/internal/testenv"
	"github.com/contractgate/contractgate/internal/validation"
)

// TestAttackParallelLargeBodies: large bodies sent in parallel cannot multiply what decoding
// costs (issue 13, item 1 under concurrency: one client with 64 connections sending 1 MiB
// bodies took the gateway from 33 MiB to 1 GiB). The budget of large bodies in flight
// (validation.maxBodyBytesInFlight) holds one body here: while it is held by a request whose
// upstream hangs, another large body waits validation.bodyWait and answers 503 with
// Retry-After; a small body never waits; once the first request ends, large bodies pass again.
func TestAttackParallelLargeBodies(t *testing.T) {
	const budget = 3 * validation.SmallBody
	env := testenv.Start(t, func(c *config.Config) {
		c.Server.BodyLimit = budget
		c.Validation.MaxBodyBytesInFlight = budget
		c.Validation.BodyWait = 50 * time.Millisecond
	})
	mustSet(t, env.Orders.Faults, demo.Fault{Route: "/orders", Hang: true})

	// A valid order padded with whitespace past SmallBody: it takes 2/3 of the budget.
	large := func(key string) *http.Request {
		body := `{"items":[` + validItem + `],"payment":` + validPayment + `}` + strings.Repeat(" ", 2*validation.SmallBody)
		req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/orders", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", testenv.AliceKey)
		req.Header.Set("Idempotency-Key", key)
		return req
	}

	// The first large body is decoded and held: its handler waits on the hanging upstream.
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan error, 1)
	go func() {
		res, err := env.Client.Do(large("budget-held").WithContext(ctx))
		if err == nil {
			res.Body.Close()
		}
		held <- err
	}()
	waitUntil(t, "the held order reaches the orders upstream", func() bool {
		return env.Orders.Faults.Stats().Routes["POST /orders"] >= 1
	})

	res := env.Send(t, large("budget-second"))
	if res.Status != http.StatusServiceUnavailable || res.JSON(t)["error"].(map[string]any)["code"] != "UPSTREAM_OVERLOADED" {
		t.Fatalf("second large body while the first is held: %d %s, want 503 UPSTREAM_OVERLOADED", res.Status, res.Body)
	}
	if res.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}

	// A small body is judged at once (422: no items), budget or not.
	small := env.Do(t, http.MethodPost, "/v1/orders", `{"items":[],"payment":`+validPayment+`}`,
		"Content-Type", "application/json", "X-API-Key", testenv.AliceKey, "Idempotency-Key", "budget-small")
	if small.Status != http.StatusUnprocessableEntity {
		t.Fatalf("small body while the budget is full: %d %s, want 422", small.Status, small.Body)
	}

	// The held request ends (its client goes away): the budget is free again.
	cancel()
	<-held
	env.Orders.Faults.Clear()
	waitUntil(t, "a large body is admitted again", func() bool {
		return env.Send(t, large("budget-third-"+time.Now().Format(time.RFC3339Nano))).Status == http.StatusCreated
	})
}

// waitUntil polls cond (every 5 ms, up to 10 s) for a state change the gateway does not signal.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
