package ratelimit_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

const peer = "192.0.2.10:40000"

// TestConcurrentBurstIsExact fires 200 concurrent requests from one client at a burst of 50
// (window 1h, so nothing refills): exactly 50 pass, each with a distinct r (49..0) and t
// consistent with it, and 150 get 429 with r=0 and t = Retry-After = the time until the next
// request is allowed.
func TestConcurrentBurstIsExact(t *testing.T) {
	t.Parallel()
	g := newGateway(t, ratelimit.Config{Default: ratelimit.Policy{Requests: 50, Window: time.Hour, Burst: 50}}, gatewayOpts{})
	const n = 200
	results := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = g.do(t, http.MethodGet, "/v1/products", peer)
		})
	}
	close(start)
	wg.Wait()

	var remaining []int64
	limited := 0
	const interval = int64(time.Hour / 50 / time.Second) // 72 s per request
	for _, res := range results {
		if !res.hasLimit || res.policy != "default" || res.q != 50 || res.w != 3600 {
			t.Fatalf("policy fields %+v, want \"default\";q=50;w=3600", res)
		}
		switch res.status {
		case http.StatusOK:
			remaining = append(remaining, res.r)
			// The i-th admitted request pushed the quota's full reset (50-r)*72s ahead.
			if want := (50 - res.r) * interval; res.t != want {
				t.Errorf("r=%d with t=%d, want t=%d", res.r, res.t, want)
			}
		case http.StatusTooManyRequests:
			limited++
			checkRejected(t, res)
			// The next request is allowed one emission interval after the 50th admission.
			if res.t != res.retryAfter || res.retryAfter < interval-1 || res.retryAfter > interval {
				t.Errorf("429 with t=%d, Retry-After=%d; want both about %d", res.t, res.retryAfter, interval)
			}
		default:
			t.Fatalf("status %d: %s", res.status, res.body)
		}
	}
	slices.Sort(remaining)
	want := make([]int64, 50)
	for i := range want {
		want[i] = int64(i)
	}
	if !slices.Equal(remaining, want) || limited != 150 {
		t.Fatalf("admitted %d with r=%v and limited %d; want exactly 50 with r=0..49 and 150 limited", len(remaining), remaining, limited)
	}
	if g.allowed.Load() != 50 || g.limited.Load() != 150 {
		t.Errorf("hooks counted %d allowed, %d limited", g.allowed.Load(), g.limited.Load())
	}
}

// TestWindowRefill drives a manual clock through a 2-per-second policy.
func TestWindowRefill(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	g := newGateway(t, ratelimit.Config{Default: ratelimit.Policy{Requests: 2, Window: time.Second}}, gatewayOpts{now: clk.now})
	steps := []struct {
		advance    time.Duration
		status     int
		r, t       int64
		retryAfter int64
	}{
		{0, 200, 1, 1, -1},
		{0, 200, 0, 1, -1},
		{0, 429, 0, 1, 1},                       // full reset in 1s; next request in 500ms -> 1
		{499 * time.Millisecond, 429, 0, 1, 1},  // 1ms short of the next request
		{1 * time.Millisecond, 200, 0, 1, -1},   // one emission interval later: exactly one more
		{2 * time.Second, 200, 1, 1, -1},        // idle for a whole window: the full burst again
		{0, 200, 0, 1, -1},                      //
		{250 * time.Millisecond, 429, 0, 1, 1},  //
		{750 * time.Millisecond, 200, 1, 1, -1}, // 1s after the last admission: fully reset
	}
	for i, s := range steps {
		clk.advance(s.advance)
		res := g.do(t, http.MethodGet, "/v1/products", peer)
		if res.status != s.status || res.r != s.r || res.t != s.t || res.retryAfter != s.retryAfter {
			t.Fatalf("step %d: status %d r=%d t=%d Retry-After=%d; want %d r=%d t=%d Retry-After=%d",
				i, res.status, res.r, res.t, res.retryAfter, s.status, s.r, s.t, s.retryAfter)
		}
		if res.status == 429 {
			checkRejected(t, res)
		}
	}
}

// TestRefillRealClock checks the real monotonic clock: 10 per second, burst 1.
func TestRefillRealClock(t *testing.T) {
	t.Parallel()
	g := newGateway(t, ratelimit.Config{Default: ratelimit.Policy{Requests: 10, Window: time.Second, Burst: 1}}, gatewayOpts{})
	if res := g.do(t, http.MethodGet, "/v1/products", peer); res.status != 200 {
		t.Fatalf("first request: %d", res.status)
	}
	if res := g.do(t, http.MethodGet, "/v1/products", peer); res.status != 429 {
		t.Fatalf("second request at once: %d, want 429", res.status)
	}
	time.Sleep(120 * time.Millisecond) // one emission interval (100ms) and some
	if res := g.do(t, http.MethodGet, "/v1/products", peer); res.status != 200 {
		t.Fatalf("after one interval: %d, want 200", res.status)
	}
}

// TestOperationPolicy: getDashboard's x-ratelimit (60 per 1m, burst 10) is its own budget
// under its own name; the default policy is shared by every other operation.
func TestOperationPolicy(t *testing.T) {
	t.Parallel()
	g := newGateway(t, ratelimit.Config{Default: ratelimit.Policy{Requests: 3, Window: time.Hour}}, gatewayOpts{})
	alice := []string{subjectHeader, "alice"}
	for i := range 10 {
		res := g.do(t, http.MethodGet, "/v1/me/dashboard", peer, alice...)
		if res.status != 200 || res.policy != "getDashboard" || res.q != 60 || res.w != 60 || res.r != int64(9-i) {
			t.Fatalf("dashboard request %d: %d %+v", i, res.status, res)
		}
	}
	res := g.do(t, http.MethodGet, "/v1/me/dashboard", peer, alice...)
	checkRejected(t, res)
	if res.name != "getDashboard" || res.retryAfter != res.t || res.t != 1 {
		t.Errorf("dashboard 429: %+v, want t = Retry-After = 1 (60 per minute: one more each second)", res)
	}
	// The dashboard's budget is separate; the default one is shared across operations.
	for i, path := range []string{"/v1/products", "/v1/products/prd_0001", "/v1/orders"} {
		res := g.do(t, http.MethodGet, path, peer, alice...)
		if res.status != 200 || res.policy != "default" || res.r != int64(2-i) {
			t.Fatalf("%s: %d %+v, want 200 with default r=%d", path, res.status, res, 2-i)
		}
	}
	checkRejected(t, g.do(t, http.MethodPost, "/v1/orders", peer, alice...))
	if g.policies["getDashboard"] != 11 || g.policies["default"] != 4 {
		t.Errorf("decisions per policy: %v", g.policies)
	}
}

// TestOutsideTheContractIsNotLimited: ops endpoints and unknown routes pass through without
// RateLimit fields, even when the client's default budget is spent.
func TestOutsideTheContractIsNotLimited(t *testing.T) {
	t.Parallel()
	g := newGateway(t, ratelimit.Config{Default: ratelimit.Policy{Requests: 1, Window: time.Hour}}, gatewayOpts{})
	g.do(t, http.MethodGet, "/v1/products", peer)
	checkRejected(t, g.do(t, http.MethodGet, "/v1/products", peer))
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/healthz", 200},
		{http.MethodGet, "/readyz", 200},
		{http.MethodGet, "/metrics", 200},
		{http.MethodGet, "/openapi.json", 200},
		{http.MethodGet, "/no/such/route", 404},
		{http.MethodDelete, "/v1/products", 405},
	}
	for _, tt := range tests {
		for range 5 {
			res := g.do(t, tt.method, tt.path, peer)
			if res.status != tt.status || res.hasLimit || res.retryAfter != -1 {
				t.Fatalf("%s %s: %d, RateLimit %q; want %d unlimited", tt.method, tt.path, res.status, res.header.Get(ratelimit.HeaderRateLimit), tt.status)
			}
		}
	}
	if n := g.allowed.Load() + g.limited.Load(); n != 2 {
		t.Errorf("%d decisions, want 2", n)
	}
}

// TestClientKey: who is charged. Burst 1 per hour, so a second request with the same key is
// a 429 and one with another key is a 200.
func TestClientKey(t *testing.T) {
	t.Parallel()
	type req struct {
		peer    string
		headers []string
	}
	tests := []struct {
		desc        string
		cfg         ratelimit.Config
		first, then req
		shared      bool
	}{
		{"XFF ignored from an untrusted peer", ratelimit.Config{},
			req{"192.0.2.1:1", []string{"X-Forwarded-For", "203.0.113.1"}}, req{"192.0.2.1:2", []string{"X-Forwarded-For", "203.0.113.2"}}, true},
		{"Forwarded ignored from an untrusted peer", ratelimit.Config{ForwardedHeader: "Forwarded"},
			req{"192.0.2.1:1", []string{"Forwarded", "for=203.0.113.1"}}, req{"192.0.2.1:2", []string{"Forwarded", "for=203.0.113.2"}}, true},
		{"XFF read from a trusted proxy", ratelimit.Config{TrustedProxies: []string{"10.0.0.0/8"}},
			req{"10.0.0.1:1", []string{"X-Forwarded-For", "203.0.113.1"}}, req{"10.0.0.1:2", []string{"X-Forwarded-For", "203.0.113.2"}}, false},
		{"spoofed left entries do not change the key", ratelimit.Config{TrustedProxies: []string{"10.0.0.0/8"}},
			req{"10.0.0.1:1", []string{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}}, req{"10.0.0.2:2", []string{"X-Forwarded-For", "198.51.100.99, 203.0.113.7, 10.1.2.3"}}, true},
		{"several XFF lines are one list", ratelimit.Config{TrustedProxies: []string{"10.0.0.0/8"}},
			req{"10.0.0.1:1", []string{"X-Forwarded-For", "198.51.100.1", "X-Forwarded-For", "203.0.113.7"}}, req{"10.0.0.1:1", []string{"X-Forwarded-For", "203.0.113.7"}}, true},
		{"Forwarded read from a trusted proxy", ratelimit.Config{TrustedProxies: []string{"10.0.0.1"}, ForwardedHeader: "Forwarded"},
			req{"10.0.0.1:1", []string{"Forwarded", `for="[2001:db8::1]:443";proto=https`}}, req{"10.0.0.1:1", []string{"Forwarded", "for=203.0.113.2"}}, false},
		{"the header not configured is ignored", ratelimit.Config{TrustedProxies: []string{"10.0.0.0/8"}},
			req{"10.0.0.1:1", []string{"Forwarded", "for=203.0.113.1"}}, req{"10.0.0.1:1", []string{"Forwarded", "for=203.0.113.2"}}, true},
		{"one IPv6 /64 is one client", ratelimit.Config{},
			req{"[2001:db8:1:2::1]:1", nil}, req{"[2001:db8:1:2:ffff::9]:1", nil}, true},
		{"IPv6 /64s differ", ratelimit.Config{},
			req{"[2001:db8:1:2::1]:1", nil}, req{"[2001:db8:1:3::1]:1", nil}, false},
		{"identity beats address", ratelimit.Config{},
			req{"192.0.2.1:1", []string{subjectHeader, "alice"}}, req{"192.0.2.2:1", []string{subjectHeader, "alice"}}, true},
		{"two identities behind one address", ratelimit.Config{},
			req{"192.0.2.1:1", []string{subjectHeader, "alice"}}, req{"192.0.2.1:1", []string{subjectHeader, "bob"}}, false},
		{"a subject is not an address", ratelimit.Config{},
			req{"192.0.2.1:1", nil}, req{"192.0.2.9:1", []string{subjectHeader, "192.0.2.1"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Default = ratelimit.Policy{Requests: 1, Window: time.Hour}
			g := newGateway(t, cfg, gatewayOpts{})
			if res := g.do(t, http.MethodGet, "/v1/products", tt.first.peer, tt.first.headers...); res.status != 200 {
				t.Fatalf("first request: %d", res.status)
			}
			res := g.do(t, http.MethodGet, "/v1/products", tt.then.peer, tt.then.headers...)
			if shared := res.status == http.StatusTooManyRequests; shared != tt.shared {
				t.Fatalf("second request: %d; want shared budget = %v", res.status, tt.shared)
			}
		})
	}
}

// TestMalformedExtension: New refuses a bad x-ratelimit and names the operation.
func TestMalformedExtension(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		ext  any
		path string
	}{
		{"not an object", "60/min", "x-ratelimit"},
		{"requests missing", map[string]any{"window": "1m"}, "x-ratelimit.requests"},
		{"window not a duration", map[string]any{"requests": 60.0, "window": "a minute"}, "x-ratelimit.window"},
		{"window not whole seconds", map[string]any{"requests": 60.0, "window": "1500ms"}, "x-ratelimit.window"},
		{"fractional requests", map[string]any{"requests": 1.5, "window": "1m"}, "x-ratelimit.requests"},
		{"burst above requests", map[string]any{"requests": 6.0, "window": "1m", "burst": 10.0}, "x-ratelimit.burst"},
		{"unknown key", map[string]any{"requests": 6.0, "window": "1m", "per": "ip"}, "x-ratelimit.per"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			doc, err := enginetest.Shop()
			if err != nil {
				t.Fatal(err)
			}
			doc.Paths.Value("/v1/me/dashboard").Get.Extensions["x-ratelimit"] = tt.ext
			tbl, err := routes.New(doc)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ratelimit.New(defaulted(ratelimit.Config{}), tbl, discardLogger())
			ee, ok := errors.AsType[*ratelimit.ExtensionError](err)
			if !ok || ee.Operation != "getDashboard" || ee.Path != tt.path {
				t.Fatalf("New: %v; want an ExtensionError for getDashboard at %s", err, tt.path)
			}
		})
	}
	// The contract's own extension is valid.
	if c, err := ratelimit.New(defaulted(ratelimit.Config{}), loadTable(t), discardLogger()); err != nil {
		t.Fatal(err)
	} else {
		c.Close()
	}
}

func TestDisabledPassesThrough(t *testing.T) {
	t.Parallel()
	g := newGateway(t, ratelimit.Config{Disabled: true, Default: ratelimit.Policy{Requests: 1, Window: time.Hour}}, gatewayOpts{})
	for i := range 3 {
		if res := g.do(t, http.MethodGet, "/v1/products", peer); res.status != 200 || res.hasLimit {
			t.Fatalf("request %d: %d, limited %v", i, res.status, res.hasLimit)
		}
	}
}

func ExampleNew() {
	tbl, err := contract()
	if err != nil {
		panic(err)
	}
	cfg := ratelimit.Config{Default: ratelimit.Policy{Requests: 600, Window: time.Minute}}
	cfg.SetDefaults() // config.Load does this for the gateway's configuration
	l, err := ratelimit.New(cfg, tbl, discardLogger())
	if err != nil {
		panic(err)
	}
	defer l.Close()
	fmt.Println(l.Middleware() != nil)
	// Output: true
}
