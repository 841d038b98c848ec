package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contractgate/contractgate/api"
	"github.com/contractgate/contractgate/internal/engine/binding"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/seam"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
	usersapi "github.com/contractgate/contractgate/gen/users"
	app "github.com/contractgate/contractgate/internal/app"
	"github.com/contractgate/contractgate/internal/app/demo"
	catalogdemo "github.com/contractgate/contractgate/internal/app/demo/catalog"
	ordersdemo "github.com/contractgate/contractgate/internal/app/demo/orders"
	usersdemo "github.com/contractgate/contractgate/internal/app/demo/users"
	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/resilience"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// The harness is the gateway's upstream path over real TCP: a small Echo with the
// storefront handlers and the error handler, the upstream clients of package upstream, an
// embedded toxiproxy proxy per upstream, and the real demo upstreams on loopback listeners.
//
//	test client -> Echo (storefront) -> upstream.Clients -> toxiproxy -> demo upstream
type harness struct {
	t                      testing.TB
	loopback               string // the proxies' listen address (see start)
	catalog, orders, users *service
	clients                *upstream.Registry
	gateway                *httptest.Server
	client                 *http.Client
	logs                   *enginetest.LogBuffer
	toxi                   *toxiproxy.ApiServer
	metrics                *metrics
}

// service is one demo upstream behind its proxy.
type service struct {
	name   string
	faults *demo.Faults
	server *httptest.Server
	proxy  *toxiproxy.Proxy
	// answer, when set, answers instead of the demo service (after the fault knobs, and
	// counted by faults.Stats() like any request): malformed bodies, 503 with Retry-After...
	answer atomic.Pointer[answerFunc]
	open   atomic.Int64 // server-side connections open
}

// metrics records the resilience hooks.
type metrics struct {
	mu       sync.Mutex
	attempts map[string]int
	retries  map[string]int
	outcomes map[string]int // "upstream outcome"
	changes  []string       // "upstream from->to"
}

func (m *metrics) hooks() resilience.Hooks {
	return resilience.Hooks{
		Attempt: func(u string, retry bool) {
			m.mu.Lock()
			m.attempts[u]++
			if retry {
				m.retries[u]++
			}
			m.mu.Unlock()
		},
		Done: func(u string, o resilience.Outcome, _ time.Duration) {
			m.mu.Lock()
			m.outcomes[u+" "+string(o)]++
			m.mu.Unlock()
		},
		StateChange: func(u string, from, to resilience.State) {
			m.mu.Lock()
			m.changes = append(m.changes, fmt.Sprintf("%s %s->%s", u, from, to))
			m.mu.Unlock()
		},
	}
}

func (m *metrics) get(kind map[string]int, key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return kind[key]
}

// fast is a policy that keeps tests quick: short timeouts and delays, defaults otherwise.
func fast() resilience.Config {
	return resilience.Config{
		Timeout:        time.Second,
		AttemptTimeout: 300 * time.Millisecond,
		Retry:          resilience.Retry{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, MaxRetryAfter: 500 * time.Millisecond},
		CircuitBreaker: resilience.CircuitBreaker{Delay: 300 * time.Millisecond},
	}
}

// patient is fast() without an attempt timeout, the policy of every upstream a test gives
// none: on a loaded machine a slow attempt would time out and be retried, and the tests count
// attempts and expect the error of a failed, not a timed-out, attempt. A test of attempt
// timeouts gives its policy.
func patient() resilience.Config {
	p := fast()
	p.AttemptTimeout = 0
	return p
}

// newHarness starts everything; policies override patient() per upstream. It stops at the
// end of the test.
func newHarness(t testing.TB, policies map[string]resilience.Config) *harness {
	t.Helper()
	h := start(t, policies)
	t.Cleanup(h.stop)
	return h
}

func start(t testing.TB, policies map[string]resilience.Config) *harness {
	t.Helper()
	h := &harness{t: t, logs: &enginetest.LogBuffer{}, metrics: &metrics{attempts: map[string]int{}, retries: map[string]int{}, outcomes: map[string]int{}}}
	// The proxies listen on a loopback address of their own (all of 127/8 is loopback on
	// Linux): once a test stops one to get "connection refused", no other listener of this
	// or another test process (they bind 127.0.0.1) can take over its port meanwhile.
	h.loopback = fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
	h.toxi = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	h.catalog = h.startService("catalog", func(e *echo.Echo) {
		catalogapi.RegisterHandlers(e, catalogapi.NewStrictHandler(catalogdemo.New(), nil))
	})
	h.orders = h.startService("orders", func(e *echo.Echo) {
		ordersapi.RegisterHandlers(e, ordersapi.NewStrictHandler(ordersdemo.New(), nil))
	})
	h.users = h.startService("users", func(e *echo.Echo) {
		usersapi.RegisterHandlers(e, usersapi.NewStrictHandler(usersdemo.New(), nil))
	})
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := map[string]config.Upstream{}
	opts := []upstream.Option{upstream.WithLogger(logger), upstream.WithHooks(h.metrics.hooks())}
	for _, s := range []*service{h.catalog, h.orders, h.users} {
		cfg[s.name] = config.Upstream{BaseURL: "http://" + s.proxy.Listen, MaxIdleConns: 16, Config: resilience.Config{Timeout: time.Second}}
		p, ok := policies[s.name]
		if !ok {
			p = patient()
		}
		p.SetDefaults() // as config.Load does
		opts = append(opts, upstream.WithPolicy(s.name, p))
	}
	contracts, err := upstream.Contracts(api.FS)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := upstream.New(contracts, cfg, config.EnvDevelopment, opts...)
	if err != nil {
		t.Fatal(err)
	}
	h.clients = clients

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = apierror.Handler(logger)
	e.Pre(correlation.New().Middleware())
	alice := identity.Identity{Subject: "alice", Scopes: []string{"orders:read", "orders:write"}, Method: "test"}
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.SetRequest(c.Request().WithContext(identity.NewContext(c.Request().Context(), alice)))
			return next(c)
		}
	})
	public, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	bound, err := binding.New(public, contracts)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Mount(e, seam.Deps{Upstreams: clients, Bindings: bound}); err != nil {
		t.Fatal(err)
	}
	h.gateway = httptest.NewServer(e)
	h.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return h
}

func (h *harness) startService(name string, register func(*echo.Echo)) *service {
	s := &service{name: name, faults: demo.NewFaults()}
	s.server = httptest.NewUnstartedServer(demo.NewEcho(s.faults, func(e *echo.Echo) {
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				if a := s.answer.Load(); a != nil {
					return (*a)(c, next)
				}
				return next(c)
			}
		})
		register(e)
	}))
	s.server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}
	s.server.Start()
	s.proxy = toxiproxy.NewProxy(h.toxi, name, h.loopback+":0", s.server.Listener.Addr().String())
	if err := s.proxy.Start(); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// stop closes the gateway, the clients' idle connections, the proxies and the upstreams.
func (h *harness) stop() {
	h.gateway.Close()
	h.client.CloseIdleConnections()
	h.clients.CloseIdleConnections()
	for _, s := range []*service{h.catalog, h.orders, h.users} {
		s.answer.Store(nil)
		s.proxy.Stop()
		s.server.Close()
	}
}

// answerFunc answers a request to a demo service in its place, or passes it to next.
type answerFunc func(c echo.Context, next echo.HandlerFunc) error

// setAnswer makes the service answer with fn instead of the demo handlers (nil: stop).
func (s *service) setAnswer(fn answerFunc) {
	if fn == nil {
		s.answer.Store(nil)
		return
	}
	s.answer.Store(&fn)
}

// toxic adds a toxiproxy toxic (JSON, as the toxiproxy API takes it) until the test ends.
func (s *service) toxic(t testing.TB, spec string) {
	t.Helper()
	w, err := s.proxy.Toxics.AddToxicJson(strings.NewReader(spec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.proxy.Toxics.RemoveToxic(context.Background(), w.Name) })
}

func (s *service) fault(t testing.TB, f demo.Fault) {
	t.Helper()
	if err := s.faults.Set(f); err != nil {
		t.Fatal(err)
	}
}

// count returns the requests the service received on route ("GET /products/:productId").
func (s *service) count(route string) int64 { return s.faults.Stats().Routes[route] }

// result is a gateway response.
type result struct {
	status  int
	header  http.Header
	body    []byte
	code    string
	elapsed time.Duration
}

func (h *harness) do(method, path, body string) *result {
	h.t.Helper()
	return h.doContext(context.Background(), method, path, body)
}

func (h *harness) doContext(ctx context.Context, method, path, body string) *result {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.gateway.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost {
		// The gateway's contract requires a key; the idempotency middleware is not part of
		// this harness, and the key is not passed to the upstream.
		req.Header.Set("Idempotency-Key", fmt.Sprintf("k-%d", keys.Add(1)))
	}
	start := time.Now()
	res, err := h.client.Do(req)
	if err != nil {
		return &result{status: -1, elapsed: time.Since(start)}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := &result{status: res.StatusCode, header: res.Header, body: b, elapsed: time.Since(start)}
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil {
		r.code = env.Error.Code
	}
	return r
}

// expect fails the test unless the response has status and (for errors) code.
func (r *result) expect(t testing.TB, status int, code string) {
	t.Helper()
	if r.status != status || r.code != code {
		t.Fatalf("got %d %s, want %d %s: %s", r.status, r.code, status, code, r.body)
	}
}

// noLeak fails when the body shows something of the upstream.
func (r *result) noLeak(t testing.TB) {
	t.Helper()
	for _, s := range []string{"127.0.0.1", "injected", "INTERNAL", "upstream catalog", "upstream orders", "upstream users"} {
		if bytes.Contains(r.body, []byte(s)) {
			t.Fatalf("response leaks %q: %s", s, r.body)
		}
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var keys atomic.Int64

const (
	productPath = "/v1/products/prd_0001"
	productGET  = "GET /products/:productId"
	listGET     = "GET /products"
	orderPOST   = "POST /orders"
	orderBody   = `{"items":[{"productId":"prd_0001","quantity":1}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`
)
