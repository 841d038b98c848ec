package server_test

// Engine-generic end-to-end tests, ported from the storefront's (internal/app/e2e) to the
// fixture app: CORS, the correlated error log, the admin listener, graceful shutdown and the
// span tree of a bound operation.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/engine/tracing"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	f := startFixture(t, func(c *config.Config) { c.CORS.AllowOrigins = []string{"https://app.example.com"} })
	for _, tc := range []struct {
		desc, method, origin string
		headers              []string
		status               int
		allowOrigin          string
	}{
		{"preflight from an allowed origin", http.MethodOptions, "https://app.example.com",
			[]string{"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,idempotency-key"}, http.StatusNoContent, "https://app.example.com"},
		{"preflight from another origin", http.MethodOptions, "https://evil.example",
			[]string{"Access-Control-Request-Method", "POST"}, http.StatusNoContent, ""},
		{"simple request from an allowed origin", http.MethodGet, "https://app.example.com", nil, http.StatusOK, "https://app.example.com"},
		{"simple request from another origin", http.MethodGet, "https://evil.example", nil, http.StatusOK, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			path := "/v1/transfers"
			if tc.method == http.MethodGet {
				path = "/v1/accounts"
			}
			r := f.do(t, tc.method, path, "", append([]string{"Origin", tc.origin}, tc.headers...)...)
			r.want(t, tc.status, "")
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tc.allowOrigin)
			}
			if tc.allowOrigin != "" && tc.method == http.MethodOptions &&
				!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
				t.Errorf("Allow-Headers %q", r.Header.Get("Access-Control-Allow-Headers"))
			}
			if tc.allowOrigin != "" && tc.method == http.MethodGet &&
				!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
				t.Errorf("Expose-Headers %q", r.Header.Get("Access-Control-Expose-Headers"))
			}
		})
	}
	if n := len(f.Ledger.Received()); n != 0 {
		t.Fatalf("a preflight reached the upstream (%d calls)", n)
	}
}

func TestCORSOffByDefault(t *testing.T) {
	t.Parallel()
	f := startFixture(t)
	r := f.do(t, http.MethodOptions, "/v1/transfers", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS answered although not configured")
	}
	// OPTIONS itself is answered (RFC 9110): 204 listing the path's methods.
	if r.Status != http.StatusNoContent || !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Fatalf("status %d, Allow %q", r.Status, r.Header.Get("Allow"))
	}
}

// TestErrorLogCarriesRequestID: the line apierror.Handler logs at error level for an upstream
// failure of a bound operation, and the access-log line of the same request, carry the
// request's X-Request-Id and X-Trace-Id (added by the logger's context handler), each key once.
func TestErrorLogCarriesRequestID(t *testing.T) {
	t.Parallel()
	f := startFixture(t)
	f.Accounts.Answer(http.StatusInternalServerError, `{"code":"boom","message":"boom"}`)
	r := f.do(t, http.MethodGet, "/v1/accounts", "")
	r.want(t, http.StatusBadGateway, "UPSTREAM_ERROR")
	rid, tid := r.Header.Get(correlation.HeaderRequestID), r.Header.Get(correlation.HeaderTraceID)
	if rid == "" || tid == "" {
		t.Fatalf("X-Request-Id %q, X-Trace-Id %q", rid, tid)
	}
	found := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(f.Logs()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		msg, _ := line["msg"].(string)
		if msg != "request failed" && msg != "request" {
			continue
		}
		found[msg] = true
		if line["requestId"] != rid || line["traceId"] != tid || line["spanId"] == nil {
			t.Errorf("%q line: requestId %v, traceId %v, spanId %v; want %q, %q", msg,
				line["requestId"], line["traceId"], line["spanId"], rid, tid)
		}
		for _, k := range []string{`"requestId"`, `"traceId"`, `"spanId"`} {
			if n := strings.Count(sc.Text(), k); n != 1 {
				t.Errorf("%q line has %s %d times: %s", msg, k, n, sc.Text())
			}
		}
		if msg == "request failed" && line["level"] != "ERROR" {
			t.Errorf("request failed logged at %v", line["level"])
		}
	}
	if !found["request failed"] || !found["request"] {
		t.Fatalf("error line logged %v, access line logged %v:\n%s", found["request failed"], found["request"], f.Logs())
	}
}

// serve runs f.Server.Serve on a loopback listener until the returned stop is called; stop
// returns what Serve returned.
func serve(t *testing.T, f *fixture) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- f.Server.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-served:
			case <-time.After(10 * time.Second):
				serveErr = fmt.Errorf("Serve did not return after shutdown")
			}
		})
		return serveErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

// TestAdminListener: pprof and metrics on the admin listener only, never on the public one.
func TestAdminListener(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	f, err := launchFixture(t, nil, func(c *config.Config) {
		c.Admin.Addr, c.Admin.Pprof, c.Admin.MetricsOnAdminOnly = addr, true, true
	})
	if err != nil {
		t.Fatal(err)
	}
	public, _ := serve(t, f)
	admin := "http://" + addr
	waitFor(t, admin+"/healthz")
	for _, tc := range []struct {
		url      string
		status   int
		contains string
	}{
		{admin + "/debug/pprof/", 200, "goroutine"},
		{admin + "/metrics", 200, "contractgate_requests_in_flight"},
		{admin + "/readyz", 200, "ready"},
		{public + "/debug/pprof/", 404, "ROUTE_NOT_FOUND"},
		{public + "/metrics", 404, "ROUTE_NOT_FOUND"},
	} {
		res, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || !strings.Contains(string(b), tc.contains) {
			t.Errorf("%s: %d %.120s", tc.url, res.StatusCode, b)
		}
	}
}

// freeAddr returns a free address on a loopback address of its own (all of 127/8 is
// loopback), so that no other test binds its port before the server does.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.%d.%d.%d:0", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls url until it answers (the admin listener starts inside Serve).
func waitFor(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not come up", url)
}

// TestGracefulShutdown: requests in flight when shutdown begins (SIGTERM cancels the context
// Serve runs under) complete with 200, new connections are refused, Serve returns nil. The
// upstream holds every request until shutdown has begun (no sleeps).
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const inFlight = 5
	arrived, release := make(chan struct{}, inFlight), make(chan struct{})
	f, err := launchFixture(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Accounts.Reply(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		accountsBehaviour(w, r)
	})
	base, stop := serve(t, f)

	var wg sync.WaitGroup
	statuses := make(chan int, inFlight)
	for range inFlight {
		wg.Go(func() {
			res, err := http.Get(base + "/v1/accounts")
			if err != nil {
				t.Errorf("in-flight request failed: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	for range inFlight {
		<-arrived // every request is now waiting on the upstream
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Readiness fails as soon as shutdown begins (the drain delay is 10ms): then release.
	for {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			break
		}
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			break
		}
	}
	close(release)
	wg.Wait()
	close(statuses)
	n := 0
	for s := range statuses {
		n++
		if s != http.StatusOK {
			t.Errorf("in-flight request answered %d", s)
		}
	}
	if n != inFlight {
		t.Fatalf("%d of %d in-flight requests completed", n, inFlight)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the listener still accepts connections after shutdown")
	}
}

// TestBoundOperationSpanTree: a bound operation gets one server span named by its operation
// id, continuing the client's trace, with the upstream call as a client span beneath it (the
// generated glue's client carries the tracing transport and the traceparent).
func TestBoundOperationSpanTree(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	f, err := launchFixture(t, []server.Option{server.WithTracing(tracing.New(tp))})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := serve(t, f)
	f.URL = base

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := f.do(t, http.MethodGet, "/v1/accounts/acc_1", "", "X-Tenant", "t", "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	r.want(t, http.StatusOK, "")
	if r.Header.Get("X-Trace-Id") != traceID {
		t.Fatalf("X-Trace-Id %q, want the client's trace %s", r.Header.Get("X-Trace-Id"), traceID)
	}
	if tp := f.Accounts.Last(t).Header.Get("traceparent"); !strings.HasPrefix(tp, "00-"+traceID+"-") {
		t.Errorf("upstream traceparent %q, want the client's trace", tp)
	}
	if err := tp.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	var serverSpan *tracetest.SpanStub
	var clients []tracetest.SpanStub
	for i, s := range spans {
		if s.SpanContext.TraceID().String() != traceID {
			t.Errorf("span %q in trace %s, want %s", s.Name, s.SpanContext.TraceID(), traceID)
		}
		switch s.SpanKind {
		case trace.SpanKindServer:
			serverSpan = &spans[i]
		case trace.SpanKindClient:
			clients = append(clients, s)
		}
	}
	if serverSpan == nil || serverSpan.Name != "getAccount" {
		t.Fatalf("server span %+v, want one named getAccount (spans: %d)", serverSpan, len(spans))
	}
	if serverSpan.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("server span parent %s, want the client's span", serverSpan.Parent.SpanID())
	}
	if len(clients) != 1 || clients[0].Parent.SpanID() != serverSpan.SpanContext.SpanID() {
		t.Fatalf("client spans %+v, want one under the server span", clients)
	}
}
