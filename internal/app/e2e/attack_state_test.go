package e2e_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/app/demo"
	ordersdemo "github.com/contractgate/contractgate/internal/app/demo/orders"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// accessLog returns the access-log lines (msg "request") the gateway wrote so far.
func accessLog(t *testing.T, env *testenv.Env) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(env.Logs()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["msg"] == "request" {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestAttackErrorsOnIdempotentOperationsAreVisible: the errors answered inside the
// idempotency middleware (createOrder, cancelOrder: 4xx from the upstream, 5xx when it
// fails) and the replays of stored errors carry errorCode in the access log and are counted
// in contractgate_errors_total, like every other error.
func TestAttackErrorsOnIdempotentOperationsAreVisible(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	const unknownProduct = `{"items":[{"productId":"prd_9999","quantity":1}],"payment":{"method":"invoice","purchaseOrder":"PO-1"}}`
	steps := []struct {
		desc, method, path, body, key string
		status                        int
		code, operation               string
		replayed                      bool
		fault                         bool // the orders upstream fails every call
	}{
		{"unknown product", "POST", "/v1/orders", unknownProduct, "k7-422", 422, "VALIDATION_FAILED", "createOrder", false, false},
		{"its replay", "POST", "/v1/orders", unknownProduct, "k7-422", 422, "VALIDATION_FAILED", "createOrder", true, false},
		{"shipped order", "POST", "/v1/orders/" + ordersdemo.AliceShippedOrderID + "/cancel", "", "k7-409", 409, "CONFLICT", "cancelOrder", false, false},
		{"unknown order", "POST", "/v1/orders/" + orderUUID + "/cancel", "", "k7-404", 404, "RESOURCE_NOT_FOUND", "cancelOrder", false, false},
		{"orders upstream failing", "POST", "/v1/orders", validOrder, "k7-5xx", 502, "UPSTREAM_ERROR", "createOrder", false, true},
	}
	for _, s := range steps {
		if s.fault {
			mustSet(t, env.Orders.Faults, demo.Fault{ErrorRate: 1})
		}
		res := env.Do(t, s.method, s.path, s.body, "Idempotency-Key", s.key)
		if s.fault {
			mustSet(t, env.Orders.Faults, demo.Fault{})
		}
		if res.Status != s.status || errorCode(t, res.JSON(t)) != s.code || (res.Header.Get("Idempotent-Replayed") == "true") != s.replayed {
			t.Fatalf("%s: %d %v %s", s.desc, res.Status, res.Header, res.Body)
		}
	}

	f := scrape(t, env)
	want := map[[2]string]float64{}
	for _, s := range steps {
		want[[2]string{s.operation, s.code}]++
	}
	for k, n := range want {
		if got := value(f, "contractgate_errors_total", map[string]string{"operation": k[0], "code": k[1]}); got != n {
			t.Errorf("contractgate_errors_total{operation=%q,code=%q} = %v, want %v", k[0], k[1], got, n)
		}
	}
	lines := accessLog(t, env)
	if len(lines) < len(steps) {
		t.Fatalf("%d access-log lines for %d requests", len(lines), len(steps))
	}
	for i, s := range steps {
		l := lines[i]
		if l["errorCode"] != s.code || l["operation"] != s.operation || int(l["status"].(float64)) != s.status {
			t.Errorf("%s: access log %v", s.desc, l)
		}
		if (l["replayed"] == true) != s.replayed {
			t.Errorf("%s: replayed %v in the access log", s.desc, l["replayed"])
		}
	}
	// The one error handler logged each rendered error once (the 5xx at error level).
	if n := strings.Count(env.Logs(), `"msg":"request failed"`); n != 1 {
		t.Errorf("%d 'request failed' lines, want 1", n)
	}
}

// unknownItems is a create-order body of n items naming products that do not exist: the
// answer is a 422 with n details (about 7 KB for 50).
func unknownItems(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"productId":"prd_%04d","quantity":1}`, 9000+i)
	}
	return `{"items":[` + strings.Join(items, ",") + `],"payment":{"method":"invoice","purchaseOrder":"PO-1"}}`
}

// TestAttackIdempotencyRecordsSurviveOtherCallersFlood: many callers flood keyed createOrder
// requests that fail with bulky 422s (stored, here, to fill the store as fast as possible).
// Each caller over its quota only evicts its own oldest records; once the callers' records
// fill the store, new keys are refused with 503. The victim's earlier record is never
// evicted: its retry is replayed, and the upstream saw one order.
func TestAttackIdempotencyRecordsSurviveOtherCallersFlood(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, func(c *config.Config) {
		c.RateLimit.Disabled = true
		c.Idempotency.MaxBytes = 1 << 20           // the smallest store allowed
		c.Idempotency.MaxBytesPerCaller = 64 << 10 // about nine 7 KB errors per caller
		c.Idempotency.MaxErrorBodyBytes = 16 << 10 // keep the bulky errors
	})
	ordersBefore := env.OrdersService.Count()
	victim := env.Do(t, http.MethodPost, "/v1/orders", validOrder, "Idempotency-Key", "victim-1")
	if victim.Status != http.StatusCreated {
		t.Fatalf("victim: %d %s", victim.Status, victim.Body)
	}

	const attackers, perAttacker = 24, 20 // 20 bulky errors: twice an attacker's quota
	bulky := unknownItems(50)
	var stored, full, errBytes int
	for a := range attackers {
		token, err := auth.IssueDevToken(env.Config.Auth, fmt.Sprintf("mallory-%d", a), []string{"orders:write"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		bearer := "Bearer " + token
		for i := range perAttacker {
			res := env.Do(t, http.MethodPost, "/v1/orders", bulky, "Authorization", bearer, "Idempotency-Key", fmt.Sprintf("flood-%d-%d", a, i))
			if res.Status == http.StatusUnprocessableEntity {
				stored++
				errBytes = len(res.Body)
				continue
			}
			if code := errorCode(t, res.JSON(t)); res.Status != http.StatusServiceUnavailable || code != "UPSTREAM_UNAVAILABLE" || res.Header.Get("Retry-After") == "" {
				t.Fatalf("attacker %d, request %d: %d %v %s, want 422 or 503 with Retry-After", a, i, res.Status, res.Header, res.Body)
			}
			full++
			break
		}
		if a == 0 {
			// The first attacker's own oldest record made room for its later ones.
			if res := env.Do(t, http.MethodPost, "/v1/orders", bulky, "Authorization", bearer, "Idempotency-Key", "flood-0-0"); res.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("the first attacker's oldest record was kept past its quota: %v", res.Header)
			}
		}
	}
	if errBytes < 5<<10 || full == 0 {
		t.Fatalf("the flood did not reach the bounds: %d errors of %d bytes stored, %d refused by a full store", stored, errBytes, full)
	}

	retry := env.Do(t, http.MethodPost, "/v1/orders", validOrder, "Idempotency-Key", "victim-1")
	if retry.Status != http.StatusCreated || retry.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the victim's retry was not replayed: %d %v %s", retry.Status, retry.Header, retry.Body)
	}
	if got := env.OrdersService.Count() - ordersBefore; got != 1 {
		t.Fatalf("the upstream created %d orders, want 1", got)
	}
	if got := value(scrape(t, env), "contractgate_idempotency_outcomes_total", map[string]string{"operation": "createOrder", "outcome": "full"}); got != float64(full) {
		t.Errorf("idempotency_outcomes_total{outcome=full} = %v, want %d", got, full)
	}
}

// TestAttackInventedMethodsDoNotGrowMetrics: requests with invented 32 KB methods (and
// random paths under wildcard routes) add no series: /metrics stays the same size, every
// label value comes from a bounded set, and the access log keeps a clipped method only.
func TestAttackInventedMethodsDoNotGrowMetrics(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, func(c *config.Config) { c.RateLimit.Disabled = true })
	metricsSize := func() int { return len(env.Do(t, http.MethodGet, "/metrics", "").Body) }
	// Warm up: one request of each kind, so that the series the flood may legitimately use
	// exist before the first measure.
	paths := []string{"/nothing/here", "/v1/products", "/docs/assets/", "/openapi.json", "/v1/orders"}
	send := func(method, path string) {
		req, err := http.NewRequest(method, env.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-API-Key", testenv.AliceKey)
		env.Send(t, req)
	}
	for _, p := range paths {
		send("INVENTED", p+"warm")
		send("INVENTED", p)
	}
	before := metricsSize()
	logsBefore := len(env.Logs())
	const n = 50
	for i := range n {
		method := strings.Repeat("X", 32<<10) + fmt.Sprint(i)
		for _, p := range paths {
			send(method, p+fmt.Sprint(i))
			send(method, p)
		}
	}
	after := metricsSize()
	t.Logf("/metrics: %d bytes before, %d after %d requests with invented 32 KB methods", before, after, n*2*len(paths))
	if after-before > 4<<10 {
		t.Fatalf("/metrics grew from %d to %d bytes with %d invented methods", before, after, n)
	}
	f := scrape(t, env)
	for _, name := range []string{"contractgate_requests_total", "contractgate_request_duration_seconds", "contractgate_errors_total"} {
		for _, m := range f[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if len(l.GetValue()) > 64 {
					t.Errorf("%s{%s} = %.80q...", name, l.GetName(), l.GetValue())
				}
				if l.GetName() == "method" && l.GetValue() != "OTHER" && l.GetValue() != "GET" {
					t.Errorf("%s{method=%q}", name, l.GetValue())
				}
			}
		}
	}
	requests := n * 2 * len(paths)
	if perRequest := (len(env.Logs()) - logsBefore) / requests; perRequest > 2<<10 {
		t.Errorf("%d log bytes per request", perRequest)
	}
	for _, l := range accessLog(t, env) {
		if raw, _ := l["rawMethod"].(string); len(raw) > 40 || (l["method"] != "OTHER" && l["method"] != "GET") {
			t.Fatalf("access log method %.80v, rawMethod %.80q", l["method"], raw)
		}
		if route, _ := l["route"].(string); len(route) > 64 {
			t.Fatalf("access log route %.80q", route)
		}
	}
}
