package ratelimit_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/identity"

	"github.com/contractgate/contractgate/internal/engine/ratelimit"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// subjectHeader makes the test identity middleware authenticate the request as its value.
const subjectHeader = "X-Test-Subject"

// contract is the route table of the real contract, loaded once per test binary.
var contract = sync.OnceValues(func() (*routes.Table, error) {
	doc, err := enginetest.Shop()
	if err != nil {
		return nil, err
	}
	return routes.New(doc)
})

func loadTable(t testing.TB) *routes.Table {
	t.Helper()
	tbl, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// clock is a manual monotonic clock in nanoseconds.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() int64              { return c.ns.Load() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// gateway is an Echo with the error handler, correlation, a test identity, the rate limiter
// and a handler on every contract route plus the ops endpoints.
type gateway struct {
	e         *echo.Echo
	logs      *syncBuffer
	allowed   atomic.Int64
	limited   atomic.Int64
	fallbacks atomic.Int64
	mu        sync.Mutex
	policies  map[string]int // decisions per policy name
}

type gatewayOpts struct {
	table *routes.Table
	now   func() int64
	probe time.Duration
	// redis is the shared client of a Store: redis config.
	redis redis.UniversalClient
}

func newGateway(t testing.TB, cfg ratelimit.Config, o gatewayOpts) *gateway {
	t.Helper()
	if o.table == nil {
		o.table = loadTable(t)
	}
	if o.probe == 0 {
		o.probe = 20 * time.Millisecond
	}
	g := &gateway{logs: &syncBuffer{}, policies: map[string]int{}}
	cfg.Hooks = ratelimit.Hooks{
		OnDecision: func(policy string, allowed bool) {
			if allowed {
				g.allowed.Add(1)
			} else {
				g.limited.Add(1)
			}
			g.mu.Lock()
			g.policies[policy]++
			g.mu.Unlock()
		},
		OnFallback: func() { g.fallbacks.Add(1) },
	}
	logger := slog.New(slog.NewJSONHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l, err := ratelimit.NewForTest(cfg, o.table, logger, o.now, o.probe, ratelimit.WithRedis(o.redis))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(logger)
	e.Pre(correlation.New().Middleware())
	e.Use(o.table.Match(), testIdentity, l.Middleware())
	for _, op := range o.table.All() {
		e.Add(op.Method, op.Route, func(c echo.Context) error {
			return c.JSON(http.StatusOK, map[string]string{"operation": op.ID})
		})
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		e.GET(p, func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	}
	g.e = e
	return g
}

// testIdentity stands in for auth: X-Test-Subject authenticates the request as its value.
func testIdentity(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if sub := c.Request().Header.Get(subjectHeader); sub != "" {
			req := c.Request()
			c.SetRequest(req.WithContext(identity.NewContext(req.Context(), identity.Identity{Subject: sub, Method: "test"})))
		}
		return next(c)
	}
}

// response is one answer of the gateway with its rate-limit fields parsed.
type response struct {
	status     int
	header     http.Header
	body       []byte
	policy     string // RateLimit-Policy name
	q, w       int64
	name       string // RateLimit name
	r, t       int64
	retryAfter int64 // -1 when absent
	hasLimit   bool
}

var (
	rateLimitRe = regexp.MustCompile(`^"([^"]+)";r=(\d+);t=(\d+)$`)
	policyRe    = regexp.MustCompile(`^"([^"]+)";q=(\d+);w=(\d+)$`)
)

// do sends one request from peer (host:port); headers are name, value pairs.
func (g *gateway) do(t testing.TB, method, path, peer string, headers ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = peer
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	g.e.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes(), retryAfter: -1}
	rl, rp := rec.Header().Get(ratelimit.HeaderRateLimit), rec.Header().Get(ratelimit.HeaderRateLimitPolicy)
	if rl != "" || rp != "" {
		m, pm := rateLimitRe.FindStringSubmatch(rl), policyRe.FindStringSubmatch(rp)
		if m == nil || pm == nil {
			t.Errorf("%s %s: malformed RateLimit %q / RateLimit-Policy %q", method, path, rl, rp)
			return res
		}
		res.hasLimit = true
		res.name, res.r, res.t = m[1], atoi(t, m[2]), atoi(t, m[3])
		res.policy, res.q, res.w = pm[1], atoi(t, pm[2]), atoi(t, pm[3])
		if res.name != res.policy {
			t.Errorf("RateLimit names %q, RateLimit-Policy %q", res.name, res.policy)
		}
	}
	if ra := rec.Header().Get(ratelimit.HeaderRetryAfter); ra != "" {
		res.retryAfter = atoi(t, ra)
	}
	return res
}

// checkRejected asserts the shape of a 429: envelope, Retry-After >= max(1, t), r = 0.
func checkRejected(t testing.TB, res response) {
	t.Helper()
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", res.status, res.body)
	}
	if !res.hasLimit || res.r != 0 {
		t.Errorf("429 without RateLimit fields or with r=%d", res.r)
	}
	if res.retryAfter < 1 || res.retryAfter < res.t {
		t.Errorf("Retry-After %d, want >= 1 and >= t=%d", res.retryAfter, res.t)
	}
	var env struct {
		Success bool
		Error   struct{ Code string }
		Meta    struct{ RequestID string }
	}
	if err := json.Unmarshal(res.body, &env); err != nil || env.Success || env.Error.Code != "RATE_LIMIT_EXCEEDED" {
		t.Errorf("429 body is not a RATE_LIMIT_EXCEEDED envelope: %s", res.body)
	}
	if env.Meta.RequestID == "" || env.Meta.RequestID != res.header.Get(correlation.HeaderRequestID) {
		t.Errorf("meta.requestId %q != X-Request-Id %q", env.Meta.RequestID, res.header.Get(correlation.HeaderRequestID))
	}
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// syncBuffer collects log lines from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var _ io.Writer = (*syncBuffer)(nil)

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns how many log lines contain s.
func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, line := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		if bytes.Contains(line, []byte(s)) {
			n++
		}
	}
	return n
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// defaulted returns c with its defaults applied, as config.Load applies them.
func defaulted(c ratelimit.Config) ratelimit.Config {
	c.SetDefaults()
	return c
}
