package faults_test

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/engine/resilience"
)

// soakDuration is how long TestSoak runs: CONTRACTGATE_SOAK (a Go duration), default 10s.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("CONTRACTGATE_SOAK")
	if v == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("CONTRACTGATE_SOAK=%q: want a positive duration such as 30s", v)
	}
	return d
}

// TestSoak runs mixed traffic against upstreams that flap every ~2s between healthy and one
// failure after another (500s, resets, refused connections, latency, bodies cut mid-way),
// then checks that every answer was a documented one, that the circuits close again once
// the upstreams recover, and that no goroutine and no connection was leaked.
//
// It is not parallel: goleak compares against the goroutines alive when it starts.
func TestSoak(t *testing.T) {
	d := soakDuration(t)
	ignore := goleak.IgnoreCurrent()
	policy := fast()
	policy.CircuitBreaker.Delay = 500 * time.Millisecond
	h := start(t, map[string]resilience.Config{"catalog": policy, "orders": policy, "users": policy})
	stopped := false
	defer func() {
		if !stopped {
			h.stop()
		}
	}()

	var (
		mu       sync.Mutex
		answers  = map[string]int{}
		maxConns int64
	)
	done := make(chan struct{})
	var wg sync.WaitGroup
	ops := []struct{ method, path, body string }{
		{http.MethodGet, "/v1/products?pageSize=10", ""},
		{http.MethodGet, productPath, ""},
		{http.MethodGet, "/v1/me/dashboard", ""},
		{http.MethodPost, "/v1/orders", orderBody},
		{http.MethodGet, "/v1/orders", ""},
	}
	for w := range 8 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				op := ops[i%len(ops)]
				r := h.do(op.method, op.path, op.body)
				mu.Lock()
				answers[fmt.Sprintf("%d %s", r.status, r.code)]++
				mu.Unlock()
			}
		})
	}

	// The flapper: each upstream in turn fails one way for ~1s, then is healthy for ~1s.
	faults := []func(s *service) (undo func()){
		func(s *service) func() { return setFault(s, demo.Fault{ErrorRate: 1}) },
		func(s *service) func() { return setFault(s, demo.Fault{Reset: true}) },
		func(s *service) func() { s.proxy.Stop(); return func() { _ = s.proxy.Start() } },
		func(s *service) func() { return setFault(s, demo.Fault{Latency: 400 * time.Millisecond}) },
		func(s *service) func() {
			w, _ := s.proxy.Toxics.AddToxicJson(strings.NewReader(`{"name":"cut","type":"limit_data","attributes":{"bytes":600}}`))
			return func() { _ = s.proxy.Toxics.RemoveToxic(t.Context(), w.Name) }
		},
	}
	services := []*service{h.catalog, h.orders, h.users}
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		undo := faults[i%len(faults)](services[i%len(services)])
		time.Sleep(time.Second)
		undo()
		time.Sleep(time.Second)
		for _, s := range services {
			maxConns = max(maxConns, s.open.Load())
		}
	}
	close(done)
	wg.Wait()

	// Recovered upstreams: probe until every circuit is closed again.
	eventually(t, 5*time.Second, "every circuit closed", func() bool {
		h.do(http.MethodGet, "/v1/me/dashboard", "")
		h.do(http.MethodGet, productPath, "")
		for _, s := range h.clients.States() {
			if s != "closed" {
				return false
			}
		}
		return true
	})

	var keys []string
	total := 0
	for k, n := range answers {
		keys = append(keys, fmt.Sprintf("%s: %d", k, n))
		total += n
	}
	sort.Strings(keys)
	t.Logf("%d calls in %s: %s; at most %d connections open to one upstream", total, d, strings.Join(keys, ", "), maxConns)
	allowed := map[string]bool{
		"200 ": true, "201 ": true,
		"502 UPSTREAM_ERROR": true, "503 CIRCUIT_OPEN": true, "503 UPSTREAM_OVERLOADED": true,
		"503 UPSTREAM_UNAVAILABLE": true, "504 UPSTREAM_TIMEOUT": true,
	}
	for k := range answers {
		if !allowed[k] {
			t.Errorf("unexpected answer %q (%d times)", k, answers[k])
		}
	}
	if answers["200 "] == 0 || answers["503 CIRCUIT_OPEN"] == 0 {
		t.Errorf("the soak should see both successes and open circuits: %v", answers)
	}
	if maxConns > 16+8 {
		t.Errorf("%d connections open to one upstream; the pool keeps 16", maxConns)
	}

	// Connections: once the gateway lets its idle connections go, none stays open.
	h.client.CloseIdleConnections()
	h.clients.CloseIdleConnections()
	for _, s := range services {
		eventually(t, 2*time.Second, s.name+" connections closed", func() bool { return s.open.Load() == 0 })
	}
	eventually(t, 2*time.Second, "no client connection left (net/http persistConn goroutines)", func() bool {
		return clientConns() == 0
	})
	h.stop()
	stopped = true
	// toxiproxy's own toxic pipes may outlive its Stop briefly (a chan send in
	// ToxicStub.Run); they are the test proxy's, not the gateway's.
	goleak.VerifyNone(t, ignore, goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"))
}

// clientConns counts the client connections alive in the process (each runs a
// net/http persistConn read loop), with the upstreams and the proxies still up.
func clientConns() int {
	buf := make([]byte, 1<<22)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "net/http.(*persistConn).readLoop(")
}

func setFault(s *service, f demo.Fault) func() {
	_ = s.faults.Set(f)
	return s.faults.Clear
}
