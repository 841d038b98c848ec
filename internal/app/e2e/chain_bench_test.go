package e2e_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/contractgate/contractgate/internal/app"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/engine/tracing"
)

// The chain benchmarks run the whole gateway (server.New's handler: every middleware, the
// strict handler, the upstream clients with their policies and response contract check)
// on in-memory requests, with the upstreams answered over loopback by the load test's
// origin (cmd/benchorigin: precomputed bytes) in a process of its own. Every feature is
// on as in scripts/bench-load.sh: JWT auth, a rate limit that never rejects, idempotency
// (a unique key per POST), metrics, the JSON access log (encoded, then discarded) and
// tracing with a sampler that samples no root span (as FromEnv builds it: such requests skip
// the server span's instrumentation). BoundPost is createFeedback, a keyed POST
// bound with x-upstream (one upstream call, the generated glue); CreateOrder is hand-written
// glue with two upstream calls. GET product runs twice: with the answer
// cache off (GetProduct: the full proxying path, one upstream call per request) and on
// (GetProductCacheHit: x-cache serves every request after the first from its store).
//
// Profile with:
//
//	go test ./internal/app/e2e -run '^$' -bench 'Chain/' -benchtime 5s \
//	    -cpuprofile cpu.out -memprofile mem.out
//
// The profile is the gateway's alone (its upstream transport included; the origin runs in
// another process): look at its own frames (internal/..., gen/..., echo) for what it adds
// to what a bare proxy pays (net/http's server and transport).

const (
	benchProductPath  = "/v1/products/prd_0001"
	benchOrderBody    = `{"items":[{"productId":"prd_0001","quantity":1}],"currency":"USD","note":null,"payment":{"method":"card","cardToken":"tok_visa_4242"}}`
	benchFeedbackBody = `{"rating":5,"comment":"Quick delivery, lovely mug."}`
)

// benchGateway is the assembled gateway in front of an in-process origin.
type benchGateway struct {
	handler http.Handler
	token   string
}

func newBenchGateway(b testing.TB, mutate ...func(*config.Config)) *benchGateway {
	b.Helper()
	originURL := startOrigin(b)
	cfg, err := config.Parse(app.Config)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"catalog", "orders", "users"} {
		u := cfg.Upstreams[name]
		u.BaseURL = originURL
		cfg.Upstreams[name] = u
	}
	// Rate limiting on, never rejecting: the most the limiter accepts.
	cfg.RateLimit.Default.Requests = 60_000_000
	cfg.RateLimit.Default.Window = time.Minute
	cfg.RateLimit.Default.Burst = 0
	for _, m := range mutate {
		m(cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	logger := logging.New(config.Log{Level: "info", Format: "json"}, io.Discard) // as main builds it
	// As tracing.FromEnv builds it for a sampler that never samples a root span
	// (OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0).
	sampler := sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithIDGenerator(tracing.IDGenerator()))
	b.Cleanup(func() { _ = tp.Shutdown(b.Context()) })
	srv, err := server.New(cfg, app.App(), logger, server.WithTracing(tracing.New(tp, tracing.WithSampler(sampler))))
	if err != nil {
		b.Fatal(err)
	}
	token, err := auth.IssueDevToken(cfg.Auth, "alice", []string{"orders:read", "orders:write"}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return &benchGateway{handler: srv.Handler(), token: token}
}

// startOrigin runs the load test's origin (cmd/benchorigin) in a process of its own, as
// scripts/bench-load.sh does, so that the allocations counted per request are the gateway's
// alone (in this process, the origin's net/http server added about 21 per request), and
// returns its base URL.
func startOrigin(b testing.TB) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "benchorigin")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/contractgate/contractgate/cmd/benchorigin").CombinedOutput(); err != nil {
		b.Fatalf("building benchorigin: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Its first line names the address it listens on, once it does.
	line, err := bufio.NewReader(stderr).ReadString('\n')
	if err != nil {
		b.Fatalf("benchorigin: %v (%q)", err, line)
	}
	fields := strings.Fields(line)
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	return "http://" + fields[len(fields)-1]
}

// sink is a reusable http.ResponseWriter that keeps only the status and the byte count, so
// that the harness allocates nothing per request.
type sink struct {
	header http.Header
	code   int
	n      int
	body   bytes.Buffer
	keep   bool
}

func newSink() *sink { return &sink{header: http.Header{}} }

func (s *sink) Header() http.Header { return s.header }

func (s *sink) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}

func (s *sink) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	s.n += len(p)
	if s.keep {
		s.body.Write(p)
	}
	return len(p), nil
}

func (s *sink) reset() {
	clear(s.header)
	s.code, s.n = 0, 0
	s.body.Reset()
}

// benchRequest is one reusable request: GET product, or a keyed POST (order, feedback) with
// a fresh Idempotency-Key and body reader per call of next.
type benchRequest struct {
	req    *http.Request
	body   *bytes.Reader
	raw    []byte
	keys   []byte
	prefix string
	n      int
	want   int
}

func newGetProduct() *benchRequest {
	req := httptest.NewRequest(http.MethodGet, benchProductPath, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	return &benchRequest{req: req, want: http.StatusOK}
}

func newCreateOrder(token, prefix string) *benchRequest {
	return newKeyedPost("/v1/orders", benchOrderBody, token, prefix)
}

func newBoundPost(token, prefix string) *benchRequest {
	return newKeyedPost("/v1/me/feedback", benchFeedbackBody, token, prefix)
}

func newKeyedPost(path, body, token, prefix string) *benchRequest {
	raw := []byte(body)
	req := httptest.NewRequest(http.MethodPost, path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.ContentLength = int64(len(raw))
	return &benchRequest{req: req, body: bytes.NewReader(raw), raw: raw, prefix: prefix, want: http.StatusCreated}
}

func (r *benchRequest) next() *http.Request {
	if r.body != nil {
		r.body.Reset(r.raw)
		r.req.Body = io.NopCloser(r.body)
		r.n++
		r.keys = strconv.AppendInt(append(r.keys[:0], r.prefix...), int64(r.n), 10)
		r.req.Header["Idempotency-Key"] = []string{string(r.keys)}
	}
	return r.req
}

// keyPrefix returns an Idempotency-Key prefix that no other run of a benchmark function in
// this process uses (with -count, a function runs several times against one gateway: a
// repeated key would be replayed instead of placing an order).
func keyPrefix() string {
	return "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(keySeq.Add(1), 10) + "-"
}

var keySeq atomic.Int64

// noCache turns the answer cache off, so that every GET reaches the upstream.
func noCache(c *config.Config) { c.Cache.Disabled = true }

func BenchmarkChain(b *testing.B) {
	gw := newBenchGateway(b, noCache)
	cached := newBenchGateway(b)
	cases := []struct {
		name string
		gw   *benchGateway
		new  func() *benchRequest
	}{
		{"GetProduct", gw, newGetProduct},
		{"GetProductCacheHit", cached, newGetProduct},
		{"BoundPost", gw, func() *benchRequest { return newBoundPost(gw.token, keyPrefix()) }},
		{"CreateOrder", gw, func() *benchRequest { return newCreateOrder(gw.token, keyPrefix()) }},
	}
	for _, bc := range cases {
		gw := bc.gw
		b.Run(bc.name, func(b *testing.B) {
			r := bc.new()
			w := newSink()
			// One request outside the loop, checked whole.
			w.keep = true
			gw.handler.ServeHTTP(w, r.next())
			if w.code != r.want {
				b.Fatalf("status %d, want %d: %s", w.code, r.want, w.body.Bytes())
			}
			w.keep = false
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				gw.handler.ServeHTTP(w, r.next())
				if w.code != r.want {
					b.Fatalf("status %d, want %d", w.code, r.want)
				}
			}
		})
	}
}

// BenchmarkChainParallel is BenchmarkChain with GOMAXPROCS goroutines, to show contention
// (stores, metrics, the upstream connection pool).
func BenchmarkChainParallel(b *testing.B) {
	gw := newBenchGateway(b, noCache)
	b.Run("GetProduct", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r, w := newGetProduct(), newSink()
			for pb.Next() {
				w.reset()
				gw.handler.ServeHTTP(w, r.next())
				if w.code != r.want {
					b.Errorf("status %d, want %d", w.code, r.want)
					return
				}
			}
		})
	})
	b.Run("CreateOrder", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r, w := newCreateOrder(gw.token, keyPrefix()), newSink()
			for pb.Next() {
				w.reset()
				gw.handler.ServeHTTP(w, r.next())
				if w.code != r.want {
					b.Errorf("status %d, want %d", w.code, r.want)
					return
				}
			}
		})
	})
}
