package faults_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/engine/resilience"
)

// A flapping upstream: the breaker opens, fails fast while open without calling the
// upstream, half-opens after its delay, re-opens on a failed trial, and closes after
// successful trials.
func TestBreakerOnFlappingUpstream(t *testing.T) {
	t.Parallel()
	p := fast()
	p.Retry.MaxAttempts = 2
	p.CircuitBreaker = resilience.CircuitBreaker{FailureThreshold: 4, Delay: 400 * time.Millisecond, HalfOpenTrials: 2}
	h := newHarness(t, map[string]resilience.Config{"catalog": p})
	state := func() string { return h.clients.States()["catalog"] }

	h.catalog.fault(t, demo.Fault{Route: "/products/", ErrorRate: 1})
	h.do(http.MethodGet, productPath, "").expect(t, 502, "UPSTREAM_ERROR") // failures 1, 2
	if state() != "closed" {
		t.Fatalf("circuit %s after 2 failures", state())
	}
	h.do(http.MethodGet, productPath, "").expect(t, 502, "UPSTREAM_ERROR") // 3, 4: opens
	if state() != "open" {
		t.Fatalf("circuit %s after 4 consecutive failures", state())
	}
	seen := h.catalog.count(productGET)

	// Open: refused at once, with Retry-After, without reaching the upstream.
	var took []time.Duration
	for range 20 {
		r := h.do(http.MethodGet, productPath, "")
		r.expect(t, http.StatusServiceUnavailable, "CIRCUIT_OPEN")
		if ra := r.header.Get("Retry-After"); ra != "1" {
			t.Fatalf("Retry-After %q, want 1 (the 400ms to half-open, rounded up)", ra)
		}
		took = append(took, r.elapsed)
	}
	slices.Sort(took)
	if took[len(took)/2] >= 5*time.Millisecond {
		t.Fatalf("open circuit answers in %v (median %s), want under 5ms", took, took[len(took)/2])
	}
	t.Logf("open circuit: median %s, max %s over %d calls", took[len(took)/2], took[len(took)-1], len(took))
	if n := h.catalog.count(productGET); n != seen {
		t.Fatalf("the upstream was called %d times while the circuit was open", n-seen)
	}
	if n := h.metrics.get(h.metrics.outcomes, "catalog circuit_open"); n != 20 {
		t.Fatalf("%d circuit_open outcomes, want 20", n)
	}

	// Half-open with the upstream still failing: the trial fails, the circuit re-opens.
	time.Sleep(450 * time.Millisecond)
	h.do(http.MethodGet, productPath, "").expect(t, 502, "UPSTREAM_ERROR")
	if state() != "open" {
		t.Fatalf("circuit %s after a failed trial", state())
	}

	// The upstream recovers: after the delay, two successful trials close the circuit.
	h.catalog.faults.Clear()
	time.Sleep(450 * time.Millisecond)
	h.do(http.MethodGet, productPath, "").expect(t, 200, "")
	if state() != "half-open" {
		t.Fatalf("circuit %s after one successful trial of two", state())
	}
	h.do(http.MethodGet, productPath, "").expect(t, 200, "")
	if state() != "closed" {
		t.Fatalf("circuit %s after two successful trials", state())
	}

	// Every change was logged once, and reported to the hook once.
	want := []string{"closed->open", "open->half-open", "half-open->open", "open->half-open", "half-open->closed"}
	var logged []string
	for line := range strings.Lines(h.logs.String()) {
		var l struct{ Msg, Upstream, From, To string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "circuit breaker state changed" && l.Upstream == "catalog" {
			logged = append(logged, l.From+"->"+l.To)
		}
	}
	if !slices.Equal(logged, want) {
		t.Fatalf("logged transitions %v, want %v", logged, want)
	}
	h.metrics.mu.Lock()
	changes := slices.Clone(h.metrics.changes)
	h.metrics.mu.Unlock()
	if len(changes) != len(want) {
		t.Fatalf("hook saw %v", changes)
	}
}

// A high failure rate opens the circuit even without a run of consecutive failures.
func TestBreakerOpensOnFailureRate(t *testing.T) {
	t.Parallel()
	p := fast()
	p.Retry.MaxAttempts = 1
	p.CircuitBreaker = resilience.CircuitBreaker{FailureThreshold: 100, FailureRate: 0.5, MinRequests: 10, Window: 5 * time.Second, Delay: time.Second}
	h := newHarness(t, map[string]resilience.Config{"catalog": p})
	h.catalog.setAnswer(alternate()) // fail, succeed, fail, ...: never 2 failures in a row
	for range 9 {
		h.do(http.MethodGet, productPath, "")
	}
	if s := h.clients.States()["catalog"]; s != "closed" {
		t.Fatalf("circuit %s before MinRequests calls", s)
	}
	h.do(http.MethodGet, productPath, "")
	if s := h.clients.States()["catalog"]; s != "open" {
		t.Fatalf("circuit %s at a 50%% failure rate over 10 calls", s)
	}
}

// A caller that goes away is not retried and does not count against the breaker.
func TestClientGoneIsNotAFailure(t *testing.T) {
	t.Parallel()
	p := fast()
	p.CircuitBreaker.FailureThreshold = 2
	h := newHarness(t, map[string]resilience.Config{"catalog": p})
	h.catalog.fault(t, demo.Fault{Route: "/products/", Latency: 2 * time.Second})
	for i := range 5 {
		// The caller leaves once its request has reached the upstream (not on a timer, so that
		// a loaded machine cannot make it leave before).
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan *result, 1)
		go func() { done <- h.doContext(ctx, http.MethodGet, productPath, "") }()
		eventually(t, 5*time.Second, "the call at the upstream", func() bool { return h.catalog.count(productGET) == int64(i+1) })
		cancel()
		if r := <-done; r.status != -1 {
			t.Fatalf("status %d, want the client's own cancellation", r.status)
		}
	}
	eventually(t, time.Second, "5 calls counted at the upstream", func() bool { return h.catalog.count(productGET) == 5 })
	time.Sleep(50 * time.Millisecond)
	if n := h.catalog.count(productGET); n != 5 {
		t.Fatalf("upstream saw %d calls, want 5 (no retry once the caller left)", n)
	}
	if s := h.clients.States()["catalog"]; s != "closed" {
		t.Fatalf("circuit %s: callers that left were counted as failures", s)
	}
	eventually(t, time.Second, "canceled outcomes", func() bool { return h.metrics.get(h.metrics.outcomes, "catalog canceled") == 5 })
}

func TestBulkheadSaturation(t *testing.T) {
	t.Parallel()
	p := fast()
	p.Bulkhead = resilience.Bulkhead{MaxConcurrent: 2}
	h := newHarness(t, map[string]resilience.Config{"catalog": p})
	// The upstream holds every call until the test releases it, so the bulkhead is full for
	// as long as the test needs, however slowly a loaded machine starts the requests.
	release := make(chan struct{})
	h.catalog.setAnswer(func(c echo.Context, next echo.HandlerFunc) error {
		select {
		case <-release:
		case <-c.Request().Context().Done():
		}
		return next(c)
	})
	results := make([]*result, 6)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { results[i] = h.do(http.MethodGet, productPath, "") })
	}
	eventually(t, 5*time.Second, "two calls held at the upstream", func() bool { return h.catalog.count(productGET) == 2 })
	for i := 2; i < len(results); i++ {
		results[i] = h.do(http.MethodGet, productPath, "") // the bulkhead is full: refused at once
	}
	close(release)
	wg.Wait()
	var ok, overloaded int
	for _, r := range results {
		switch {
		case r.status == 200:
			ok++
		case r.status == 503 && r.code == "UPSTREAM_OVERLOADED":
			overloaded++
			if r.elapsed > 500*time.Millisecond {
				t.Errorf("a full bulkhead answered in %s, want at once (no queueing)", r.elapsed)
			}
		default:
			t.Errorf("got %d %s", r.status, r.code)
		}
	}
	if ok != 2 || overloaded != 4 {
		t.Fatalf("%d ok, %d overloaded; want 2 and 4", ok, overloaded)
	}
	if n := h.catalog.count(productGET); n != 2 {
		t.Fatalf("upstream saw %d calls, want 2", n)
	}
	if n := h.metrics.get(h.metrics.outcomes, "catalog rejected"); n != 4 {
		t.Fatalf("%d rejected outcomes, want 4", n)
	}
}

// Retries stay within their share of the traffic: with many calls failing at once, the
// budget refuses most retries (UPSTREAM_OVERLOADED) instead of multiplying the load.
func TestRetryBudget(t *testing.T) {
	t.Parallel()
	p := fast()
	p.Retry.Budget = resilience.Budget{MaxRatio: 0.2, MinConcurrency: 1}
	p.CircuitBreaker.FailureThreshold = 1000
	p.CircuitBreaker.MinRequests = 1000
	h := newHarness(t, map[string]resilience.Config{"catalog": p})
	h.catalog.fault(t, demo.Fault{Route: "/products/", ErrorRate: 1, Latency: 100 * time.Millisecond})
	const calls = 20
	results := make([]*result, calls)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = h.do(http.MethodGet, productPath, "") })
	}
	wg.Wait()
	codes := map[string]int{}
	for _, r := range results {
		codes[strconv.Itoa(r.status)+" "+r.code]++
	}
	attempts := h.catalog.count(productGET)
	t.Logf("%d calls: %v; %d attempts at the upstream (without a budget: %d)", calls, codes, attempts, calls*3)
	if codes["503 UPSTREAM_OVERLOADED"] == 0 || codes["502 UPSTREAM_ERROR"] == 0 || len(codes) != 2 {
		t.Fatalf("want both 502 UPSTREAM_ERROR (retried) and 503 UPSTREAM_OVERLOADED (budget spent): %v", codes)
	}
	if attempts > calls*3/2 {
		t.Fatalf("%d attempts for %d calls: the budget did not hold retries back", attempts, calls)
	}
}

func TestDashboardDegradesOptionalParts(t *testing.T) {
	t.Parallel()
	p := fast()
	p.CircuitBreaker.FailureThreshold = 1
	h := newHarness(t, map[string]resilience.Config{"orders": p})
	h.catalog.fault(t, demo.Fault{Route: "/recommendations", Reset: true})
	h.orders.proxy.Stop() // refused, then the orders circuit opens
	for range 2 {
		r := h.do(http.MethodGet, "/v1/me/dashboard", "")
		r.expect(t, http.StatusOK, "")
		var body struct {
			Data map[string]json.RawMessage
			Meta struct{ Degraded []string }
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if _, ok := body.Data["profile"]; !ok || len(body.Data) != 1 {
			t.Fatalf("data %s", r.body)
		}
		if !slices.Equal(body.Meta.Degraded, []string{"recentOrders", "recommendations"}) {
			t.Fatalf("meta.degraded %v", body.Meta.Degraded)
		}
	}
	if s := h.clients.States()["orders"]; s != "open" {
		t.Fatalf("orders circuit %s", s)
	}
	// The essential part failing fails the dashboard.
	h.users.fault(t, demo.Fault{ErrorRate: 1})
	h.do(http.MethodGet, "/v1/me/dashboard", "").expect(t, http.StatusBadGateway, "UPSTREAM_ERROR")
}

// alternate fails every other request with a 500.
func alternate() answerFunc {
	var mu sync.Mutex
	var n int
	return func(c echo.Context, next echo.HandlerFunc) error {
		mu.Lock()
		n++
		fail := n%2 == 1
		mu.Unlock()
		if fail {
			return c.JSON(http.StatusInternalServerError, map[string]string{"code": "INTERNAL", "message": "x"})
		}
		return next(c)
	}
}
