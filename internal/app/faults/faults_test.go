package faults_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/app/demo"
	ordersdemo "github.com/contractgate/contractgate/internal/app/demo/orders"
	"github.com/contractgate/contractgate/internal/engine/resilience"
)

// Every storefront operation passes the contract check of its upstreams in enforce mode.
func TestHealthyUpstreamsPassTheirContracts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodGet, "/v1/products?pageSize=50", "", 200, ""},
		{http.MethodGet, productPath, "", 200, ""},
		{http.MethodGet, "/v1/products/prd_9999", "", 404, "RESOURCE_NOT_FOUND"},
		{http.MethodGet, "/v1/orders", "", 200, ""},
		{http.MethodGet, "/v1/orders/" + ordersdemo.AliceShippedOrderID, "", 200, ""},
		{http.MethodPost, "/v1/orders/" + ordersdemo.AliceShippedOrderID + "/cancel", "", 409, "CONFLICT"},
		{http.MethodPost, "/v1/orders", orderBody, 201, ""},
		{http.MethodGet, "/v1/me/dashboard", "", 200, ""},
	} {
		r := h.do(c.method, c.path, c.body)
		if r.status != c.status || r.code != c.code {
			t.Errorf("%s %s: got %d %s, want %d %s: %s", c.method, c.path, r.status, r.code, c.status, c.code, r.body)
		}
	}
	if strings.Contains(h.logs.String(), "outside its contract") {
		t.Fatalf("contract violations logged:\n%s", h.logs.String())
	}
	want := map[string]string{"catalog": "closed", "orders": "closed", "users": "closed"}
	if got := h.clients.States(); len(got) != 3 || got["catalog"] != want["catalog"] || got["orders"] != want["orders"] || got["users"] != want["users"] {
		t.Fatalf("States() = %v", got)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	t.Run("GET", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.catalog.proxy.Stop() // nothing listens on the catalog's address any more
		r := h.do(http.MethodGet, productPath, "")
		r.expect(t, http.StatusServiceUnavailable, "UPSTREAM_UNAVAILABLE")
		r.noLeak(t)
		if n := h.metrics.get(h.metrics.attempts, "catalog"); n != 3 {
			t.Fatalf("%d attempts, want 3 (a refused connection is retried)", n)
		}
		t.Logf("3 refused attempts answered in %s", r.elapsed)
	})
	t.Run("POST", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.orders.proxy.Stop()
		r := h.do(http.MethodPost, "/v1/orders", orderBody)
		r.expect(t, http.StatusServiceUnavailable, "UPSTREAM_UNAVAILABLE")
		if n := h.metrics.get(h.metrics.attempts, "orders"); n != 3 {
			t.Fatalf("%d attempts to create the order, want 3 (never sent: safe to retry)", n)
		}
	})
}

func TestResetBeforeHeaders(t *testing.T) {
	t.Parallel()
	t.Run("by the upstream", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.catalog.fault(t, demo.Fault{Route: "/products/", Reset: true})
		r := h.do(http.MethodGet, productPath, "")
		r.expect(t, http.StatusBadGateway, "UPSTREAM_ERROR")
		r.noLeak(t)
		if n := h.catalog.count(productGET); n != 3 {
			t.Fatalf("upstream saw %d attempts, want 3", n)
		}
		if n := h.metrics.get(h.metrics.retries, "catalog"); n != 2 {
			t.Fatalf("%d retries, want 2", n)
		}
	})
	// The proxy resets the connection as soon as the request reaches it: the gateway wrote
	// the request whole, so it may have been delivered; only a GET is sent again.
	const rst = `{"name":"rst","type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}`
	t.Run("by the network, GET", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.catalog.toxic(t, rst)
		h.do(http.MethodGet, productPath, "").expect(t, http.StatusBadGateway, "UPSTREAM_ERROR")
		if n := h.metrics.get(h.metrics.attempts, "catalog"); n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
	})
	t.Run("by the network, POST with a forwarded key", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.orders.toxic(t, rst)
		h.do(http.MethodPost, "/v1/orders", orderBody).expect(t, http.StatusBadGateway, "UPSTREAM_ERROR")
		if n := h.metrics.get(h.metrics.attempts, "orders"); n != 3 {
			t.Fatalf("%d attempts, want 3 (createOrder carries an Idempotency-Key the orders service deduplicates on)", n)
		}
	})
}

// A POST without an Idempotency-Key (cancelOrder) is sent once: never again after it may
// have reached the upstream, whatever happened to it.
func TestPostIsNeverRetriedAfterItMayHaveBeenSent(t *testing.T) {
	t.Parallel()
	route := "/orders/" + ordersdemo.AlicePendingOrderID + "/cancel"
	for _, c := range []struct {
		desc   string
		fault  demo.Fault
		status int
		code   string
	}{
		{"reset before headers", demo.Fault{Route: route, Reset: true}, 502, "UPSTREAM_ERROR"},
		{"500", demo.Fault{Route: route, ErrorRate: 1}, 502, "UPSTREAM_ERROR"},
		{"too slow", demo.Fault{Route: route, Latency: 700 * time.Millisecond}, 504, "UPSTREAM_TIMEOUT"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			// fast(): attempts cut at 300ms, so "too slow" is a timeout.
			h := newHarness(t, map[string]resilience.Config{"orders": fast()})
			h.do(http.MethodGet, "/v1/orders", "").expect(t, 200, "") // a warm keep-alive connection
			h.orders.fault(t, c.fault)
			h.do(http.MethodPost, cancelPath, "").expect(t, c.status, c.code)
			if n := h.orders.count("POST /orders/:orderId/cancel"); n != 1 {
				t.Fatalf("upstream saw the POST %d times, want 1", n)
			}
		})
	}
}

// createOrder forwards a caller-scoped Idempotency-Key, on which the orders service
// deduplicates: a failed attempt is retried, and however many attempts reach it, one order.
func TestPostWithForwardedKeyIsRetriedSafely(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.orders.fault(t, demo.Fault{Route: "/orders", ErrorRate: 1})
	h.do(http.MethodPost, "/v1/orders", orderBody).expect(t, 502, "UPSTREAM_ERROR")
	if n := h.orders.count(orderPOST); n != 3 {
		t.Fatalf("upstream saw the POST %d times, want 3", n)
	}
}

func TestLatencyAboveTimeout(t *testing.T) {
	t.Parallel()
	p := fast()
	p.Timeout, p.AttemptTimeout, p.Retry.MaxRetryAfter = 400*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	h := newHarness(t, map[string]resilience.Config{"catalog": p})
	h.catalog.fault(t, demo.Fault{Route: "/products/", Latency: time.Second})
	r := h.do(http.MethodGet, productPath, "")
	r.expect(t, http.StatusGatewayTimeout, "UPSTREAM_TIMEOUT")
	if n := h.catalog.count(productGET); n != 3 {
		t.Fatalf("upstream saw %d attempts, want 3 (each attempt times out at 100ms)", n)
	}
	// Upper bounds: well before the upstream's 1 s latency (the timeouts cut the attempts),
	// with room for a loaded 2-core CI machine.
	if r.elapsed < 300*time.Millisecond || r.elapsed > 900*time.Millisecond {
		t.Fatalf("answered in %s, want about 3 x 100ms + backoff, well before the upstream's 1s", r.elapsed)
	}
	t.Logf("3 timed-out attempts answered in %s", r.elapsed)

	// The whole-call timeout bounds everything, whatever the attempt timeout.
	p.Timeout, p.AttemptTimeout = 250*time.Millisecond, 250*time.Millisecond
	h2 := newHarness(t, map[string]resilience.Config{"catalog": p})
	h2.catalog.fault(t, demo.Fault{Latency: time.Second})
	r = h2.do(http.MethodGet, productPath, "")
	r.expect(t, http.StatusGatewayTimeout, "UPSTREAM_TIMEOUT")
	if r.elapsed < 240*time.Millisecond || r.elapsed > 900*time.Millisecond {
		t.Fatalf("answered in %s, want about 250ms, well before the upstream's 1s", r.elapsed)
	}
}

func TestHangMidBody(t *testing.T) {
	t.Parallel()
	p := fast()
	p.Timeout, p.AttemptTimeout = time.Second, 100*time.Millisecond
	h := newHarness(t, map[string]resilience.Config{"catalog": p})
	h.catalog.setAnswer(func(c echo.Context, _ echo.HandlerFunc) error {
		w := c.Response()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "4096")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"id":"prd_0001","name":"Ena`))
		w.Flush()
		<-c.Request().Context().Done() // and nothing more
		return nil
	})
	r := h.do(http.MethodGet, productPath, "")
	r.expect(t, http.StatusGatewayTimeout, "UPSTREAM_TIMEOUT")
	if n := h.catalog.count(productGET); n != 3 {
		t.Fatalf("upstream saw %d attempts, want 3", n)
	}
	// Well before the 1 s whole-call timeout: the attempt timeout cut each stalled body.
	if r.elapsed > 900*time.Millisecond {
		t.Fatalf("answered in %s", r.elapsed)
	}
	t.Logf("3 stalled bodies answered in %s", r.elapsed)
}

func TestCutMidBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// The page of 50 products is about 15 KB; every connection is cut after 1 KB.
	h.catalog.toxic(t, `{"name":"cut","type":"limit_data","stream":"downstream","attributes":{"bytes":1024}}`)
	r := h.do(http.MethodGet, "/v1/products?pageSize=50", "")
	r.expect(t, http.StatusBadGateway, "UPSTREAM_ERROR")
	r.noLeak(t)
	if n := h.catalog.count(listGET); n != 3 {
		t.Fatalf("upstream saw %d attempts, want 3", n)
	}
}

func TestServerErrorBursts(t *testing.T) {
	t.Parallel()
	t.Run("500 every time: retries, then 502", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.catalog.fault(t, demo.Fault{Route: "/products/", ErrorRate: 1})
		r := h.do(http.MethodGet, productPath, "")
		r.expect(t, http.StatusBadGateway, "UPSTREAM_ERROR")
		r.noLeak(t)
		if n := h.catalog.count(productGET); n != 3 {
			t.Fatalf("upstream saw %d attempts, want 3", n)
		}
		m := h.metrics
		if a, rt, o := m.get(m.attempts, "catalog"), m.get(m.retries, "catalog"), m.get(m.outcomes, "catalog error"); a != 3 || rt != 2 || o != 1 {
			t.Fatalf("hooks: %d attempts, %d retries, %d error outcomes; want 3, 2, 1", a, rt, o)
		}
	})
	t.Run("two 500s then success", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.catalog.setAnswer(failFirst(2, http.StatusInternalServerError, ""))
		h.do(http.MethodGet, productPath, "").expect(t, http.StatusOK, "")
		if n := h.catalog.count(productGET); n != 3 {
			t.Fatalf("upstream saw %d attempts, want 3", n)
		}
	})
	t.Run("503 with Retry-After is honoured", func(t *testing.T) {
		t.Parallel()
		p := fast()
		p.Timeout, p.AttemptTimeout, p.Retry.MaxRetryAfter = 3*time.Second, time.Second, 2*time.Second
		h := newHarness(t, map[string]resilience.Config{"catalog": p})
		h.catalog.setAnswer(failFirst(1, http.StatusServiceUnavailable, "1"))
		r := h.do(http.MethodGet, productPath, "")
		r.expect(t, http.StatusOK, "")
		if r.elapsed < time.Second || r.elapsed > 1500*time.Millisecond {
			t.Fatalf("answered in %s, want just over the 1s Retry-After", r.elapsed)
		}
		t.Logf("503 Retry-After: 1, then 200: answered in %s", r.elapsed)
	})
	t.Run("503 with a Retry-After beyond the cap is not retried", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.catalog.setAnswer(failFirst(5, http.StatusServiceUnavailable, "30"))
		r := h.do(http.MethodGet, productPath, "")
		r.expect(t, http.StatusBadGateway, "UPSTREAM_ERROR")
		// At once: sooner than a wait of the capped delay (MaxRetryAfter) would have taken.
		if n := h.catalog.count(productGET); n != 1 || r.elapsed >= fast().Retry.MaxRetryAfter {
			t.Fatalf("upstream saw %d attempts in %s, want 1 at once", n, r.elapsed)
		}
	})
}

// failFirst answers the first n requests with status (and Retry-After when set), then lets
// the demo service answer.
func failFirst(n int64, status int, retryAfter string) answerFunc {
	var seen atomic.Int64
	return func(c echo.Context, next echo.HandlerFunc) error {
		if seen.Add(1) > n {
			return next(c)
		}
		if retryAfter != "" {
			c.Response().Header().Set("Retry-After", retryAfter)
		}
		return c.JSON(status, map[string]string{"code": "UNAVAILABLE", "message": "try later"})
	}
}

// cancelPath cancels alice's pending order: a POST the gateway sends without a key.
const cancelPath = "/v1/orders/" + ordersdemo.AlicePendingOrderID + "/cancel"
