// Package testenv starts the assembled gateway in front of the real demo upstreams, each on
// its own ephemeral loopback listener, for black-box HTTP tests.
package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
	usersapi "github.com/contractgate/contractgate/gen/users"
	"github.com/contractgate/contractgate/internal/app"
	"github.com/contractgate/contractgate/internal/app/demo"
	catalogdemo "github.com/contractgate/contractgate/internal/app/demo/catalog"
	ordersdemo "github.com/contractgate/contractgate/internal/app/demo/orders"
	usersdemo "github.com/contractgate/contractgate/internal/app/demo/users"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/engine/tracing"
)

// Upstream is one running demo upstream.
type Upstream struct {
	URL    string
	Faults *demo.Faults
}

// Env is a running gateway with its three demo upstreams.
type Env struct {
	URL     string // the gateway's base URL
	Config  *config.Config
	Server  *server.Server
	logs    *enginetest.LogBuffer
	Catalog *Upstream
	Orders  *Upstream
	Users   *Upstream
	// OrdersService is the orders upstream's store, to count what reached it.
	OrdersService *ordersdemo.Service
	// UsersService is the users upstream's store, to see what reached it.
	UsersService *usersdemo.Service
	Client       *http.Client
}

// Start runs the demo upstreams and the gateway (built from the embedded default config,
// upstream URLs pointing at the test listeners, then changed by each mutate) until the test
// ends.
func Start(t testing.TB, mutate ...func(*config.Config)) *Env {
	t.Helper()
	return StartWith(t, nil, mutate...)
}

// StartWith is Start with options for server.New (e.g. server.WithTracing).
func StartWith(t testing.TB, opts []server.Option, mutate ...func(*config.Config)) *Env {
	t.Helper()
	env, stop, err := Launch(opts, mutate...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return env
}

// Launch is Start without a test: it runs the demo upstreams and the gateway until stop is
// called (for TestMain and runnable examples).
func Launch(opts []server.Option, mutate ...func(*config.Config)) (env *Env, stop func(), err error) {
	var servers []*httptest.Server
	stop = func() {
		for _, s := range servers {
			s.Close()
		}
	}
	serve := func(h http.Handler) *httptest.Server {
		ts := httptest.NewServer(h)
		servers = append(servers, ts)
		return ts
	}
	upstream := func(register func(*echo.Echo)) *Upstream {
		faults := demo.NewFaults()
		return &Upstream{URL: serve(demo.NewEcho(faults, register)).URL, Faults: faults}
	}
	env = &Env{logs: &enginetest.LogBuffer{}, Client: &http.Client{}}
	env.Catalog = upstream(func(e *echo.Echo) {
		catalogapi.RegisterHandlers(e, catalogapi.NewStrictHandler(catalogdemo.New(), nil))
	})
	env.OrdersService = ordersdemo.New()
	env.Orders = upstream(func(e *echo.Echo) {
		ordersapi.RegisterHandlers(e, ordersapi.NewStrictHandler(env.OrdersService, nil))
	})
	env.UsersService = usersdemo.New()
	env.Users = upstream(func(e *echo.Echo) {
		usersapi.RegisterHandlers(e, usersapi.NewStrictHandler(env.UsersService, nil))
	})
	fail := func(err error) (*Env, func(), error) {
		stop()
		return nil, nil, err
	}

	cfg, err := config.Parse(app.Config)
	if err != nil {
		return fail(err)
	}
	cfg.Upstreams["catalog"] = config.Upstream{BaseURL: env.Catalog.URL}
	cfg.Upstreams["orders"] = config.Upstream{BaseURL: env.Orders.URL}
	cfg.Upstreams["users"] = config.Upstream{BaseURL: env.Users.URL}
	for _, m := range mutate {
		m(cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	env.Config = cfg
	logger := logging.New(config.Log{Level: "debug", Format: "json"}, env.logs) // as main builds it
	if opts == nil {
		opts = []server.Option{server.WithTracing(tracing.Disabled())} // tests ignore OTEL_* of the host
	}
	srv, err := server.New(cfg, app.App(), logger, opts...)
	if err != nil {
		return fail(err)
	}
	env.Server = srv
	ts := httptest.NewUnstartedServer(srv.Handler())
	hs := srv.HTTPServer()
	ts.Config.ReadHeaderTimeout, ts.Config.MaxHeaderBytes = hs.ReadHeaderTimeout, hs.MaxHeaderBytes
	ts.Start()
	servers = append(servers, ts)
	env.URL = ts.URL
	return env, stop, nil
}

// Response is a gateway response, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic tree (numbers as float64).
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Decode decodes the body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding response body: %v\n%s", err, r.Body)
	}
}

// Demo API keys of the embedded default configuration.
const (
	// AliceKey authenticates alice with orders:read and orders:write.
	AliceKey = "demo-key-alice-0123456789abcdef"
	// BobKey authenticates bob with orders:read only.
	BobKey = "demo-key-bob-0123456789abcdef"
)

// Do sends one request to the gateway. headers are name, value pairs; a pair with an empty
// value removes that header. Unless headers name Authorization or X-API-Key, the request
// authenticates as alice with her demo API key.
func (env *Env) Do(t testing.TB, method, path, body string, headers ...string) *Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-API-Key", AliceKey)
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Authorization") {
			req.Header.Del("X-API-Key")
		}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return env.Send(t, req)
}

// Send sends a prepared request to the gateway.
func (env *Env) Send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	res, err := env.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Logs returns what the gateway logged so far (JSON lines).
func (env *Env) Logs() string { return env.logs.String() }
