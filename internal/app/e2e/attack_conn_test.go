package e2e_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/contractgate/contractgate/internal/app"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/engine/tracing"
)

// This file holds the attack regressions about connections and the listener's life:
// descriptor exhaustion by idle keep-alive connections, HEAD on GET routes, shutdown (drain
// delay, slow uploads, cleanup) and the admin listener's timeouts.

// served is a gateway running under Serve on its own loopback listener.
type served struct {
	addr   string // host:port of the public listener
	cancel context.CancelFunc
	done   chan error
}

// serve runs the gateway assembled from cfg under Serve until the test ends (or stop).
func serve(t *testing.T, cfg *config.Config, opts ...server.Option) *served {
	t.Helper()
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(opts) == 0 {
		opts = []server.Option{server.WithTracing(tracing.Disabled())}
	}
	srv, err := server.New(cfg, app.App(), slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return s
}

// stop cancels Serve's context (SIGTERM) and returns what Serve returns, failing the test if
// that takes longer than within.
func (s *served) stop(t *testing.T, within time.Duration) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(within):
		t.Fatalf("Serve did not return within %s of the shutdown signal", within)
		return nil
	}
}

// gatewayConfig copies env's configuration (upstreams pointing at env's demo services).
func gatewayConfig(env *testenv.Env, mutate ...func(*config.Config)) *config.Config {
	cfg := *env.Config
	cfg.Upstreams = map[string]config.Upstream{}
	for k, v := range env.Config.Upstreams {
		cfg.Upstreams[k] = v
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return &cfg
}

// noKeepAlive is a client that opens a new connection per request.
var noKeepAlive = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// TestAttackShutdownDrainDelay: after the shutdown signal /readyz answers 503 while the
// listener still accepts new connections (answered with Connection: close), for the drain
// delay; only then does it close.
// Before, /readyz turned 503 in the instant the listener closed, so no probe ever saw it.
func TestAttackShutdownDrainDelay(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	s := serve(t, gatewayConfig(env, func(c *config.Config) {
		c.Server.DrainDelay = 2 * time.Second
		c.Server.ShutdownGrace = time.Second
	}))
	base := "http://" + s.addr
	if res, err := noKeepAlive.Get(base + "/readyz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz before shutdown: %v %v", res, err)
	}
	signalled := time.Now()
	s.cancel()
	// A load balancer's probe: new connections, until it sees the replica draining.
	for {
		res, err := noKeepAlive.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("/readyz %s after the signal: %v (the listener closed before readiness failed)", time.Since(signalled), err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Since(signalled) > time.Second {
			t.Fatalf("/readyz still %d %s after the signal", res.StatusCode, time.Since(signalled))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Draining, not gone: a new client is still served, told not to keep the connection.
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatalf("connecting while draining: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != http.StatusOK || !res.Close {
		t.Fatalf("/healthz while draining: %v %v, want 200 with Connection: close", res, err)
	}
	res.Body.Close()
	if err := s.stop(t, 10*time.Second); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if d := time.Since(signalled); d < 2*time.Second {
		t.Errorf("Serve returned %s after the signal, before the drain delay (2s)", d)
	}
	if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		t.Fatal("the listener still accepts connections after Serve returned")
	}
}

// TestAttackShutdownSlowUpload: a client uploading a body at 2 B/s holds shutdown for the
// whole grace period; then its connection is cut and the cleanup still runs: the admin
// listener closes, upstream keep-alive connections are closed, traces are flushed and the
// tracer provider shut down. Before, Serve returned on Shutdown's error and skipped all that.
func TestAttackShutdownSlowUpload(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	// The catalog upstream behind a proxy that reports when the gateway closes a connection.
	target, _ := url.Parse(env.Catalog.URL)
	upstreamClosed := make(chan struct{}, 16)
	proxy := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	proxy.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			upstreamClosed <- struct{}{}
		}
	}
	proxy.Start()
	t.Cleanup(proxy.Close)

	tp := sdktrace.NewTracerProvider()
	cfg := gatewayConfig(env, func(c *config.Config) {
		c.Server.DrainDelay = time.Millisecond
		c.Server.ShutdownGrace = 300 * time.Millisecond
		c.Admin.Addr = freeAddr(t)
		c.Upstreams["catalog"] = config.Upstream{BaseURL: proxy.URL}
	})
	s := serve(t, cfg, server.WithTracing(tracing.New(tp)))
	base := "http://" + s.addr
	waitFor(t, "http://"+cfg.Admin.Addr+"/healthz")

	// One upstream call, so that the gateway keeps an idle connection to the catalog.
	res, err := noKeepAlive.Get(base + "/v1/products")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/products: %v %v", res, err)
	}
	res.Body.Close()

	// The slow upload: headers, then one byte every 500 ms.
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/orders HTTP/1.1\r\nHost: gw\r\nX-API-Key: %s\r\nIdempotency-Key: slow-1\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", testenv.AliceKey)
	uploading := make(chan struct{})
	defer close(uploading)
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-uploading:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()

	waitInFlight(t, "http://"+cfg.Admin.Addr+"/metrics", 1)

	err = s.stop(t, 5*time.Second) // grace 300 ms, cleanup bounded by 5 s
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve returned %v, want the grace period's deadline", err)
	}
	// The slow client's connection was cut.
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Error("the slow upload's connection is still open after Serve returned")
		}
	}
	// The cleanup ran.
	if _, err := net.DialTimeout("tcp", cfg.Admin.Addr, time.Second); err == nil {
		t.Error("the admin listener still accepts connections after Serve returned")
	}
	if _, span := tp.Tracer("t").Start(context.Background(), "probe"); span.IsRecording() {
		t.Error("the tracer provider was not shut down")
	}
	select {
	case <-upstreamClosed:
	case <-time.After(2 * time.Second):
		t.Error("the gateway's keep-alive connection to the upstream was not closed")
	}
}

// waitInFlight polls the admin listener's metrics until n public requests are in flight.
func waitInFlight(t *testing.T, metricsURL string, n int) {
	t.Helper()
	want := strconv.Itoa(n)
	waitUntil(t, want+" requests in flight", func() bool {
		return scrapeSeries(t, metricsURL, "contractgate_requests_in_flight") == want
	})
}

// TestAttackAdminTimeouts: the admin listener closes a keep-alive connection after the idle
// timeout and a connection whose headers do not arrive in time. Before, it had no idle, read
// or write timeout (a connection could stay open for ever) and a fixed 5 s header timeout.
func TestAttackAdminTimeouts(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	cfg := gatewayConfig(env, func(c *config.Config) {
		c.Admin.Addr = freeAddr(t)
		c.Server.IdleTimeout = 300 * time.Millisecond
		c.Server.ReadHeaderTimeout = 300 * time.Millisecond
		c.Server.DrainDelay = time.Millisecond
	})
	serve(t, cfg)
	waitFor(t, "http://"+cfg.Admin.Addr+"/healthz")

	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", cfg.Admin.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n")
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("GET /healthz: %d, close %v", res.StatusCode, res.Close)
		}
		start := time.Now()
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("idle connection: %v after %s, want EOF after the idle timeout (300ms)", err, time.Since(start))
		}
	})
	t.Run("slow headers", func(t *testing.T) {
		conn, err := net.Dial("tcp", cfg.Admin.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: admin\r\n")
		b, err := io.ReadAll(conn)
		if err != nil {
			t.Fatalf("slow headers: %v (%q), want the connection closed after the header timeout (300ms)", err, b)
		}
		if len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 4") {
			t.Fatalf("slow headers answered %q", b)
		}
	})
}

// rawExchange sends one request (Connection: close) on a new connection and returns the
// response's head and whatever bytes followed it.
func rawExchange(t *testing.T, addr, method, path string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n", method, path)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok := strings.Cut(string(all), "\r\n\r\n")
	if !ok {
		t.Fatalf("%s %s: no response head in %q", method, path, all)
	}
	res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head+"\r\n\r\n")), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	return res, []byte(rest)
}

// TestAttackHeadLikeGet: HEAD answers wherever GET does, with GET's status and headers and no
// body, through the same chain (auth, validation, rate limit, cache), errors included; the
// 405 answer's Allow names HEAD beside GET. Before, HEAD on every GET route answered 405.
func TestAttackHeadLikeGet(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	addr := strings.TrimPrefix(env.URL, "http://")
	alice := []string{"X-API-Key", testenv.AliceKey}
	tests := []struct {
		desc, path string
		headers    []string
		status     int
	}{
		{"liveness", "/healthz", nil, 200},
		{"readiness", "/readyz", nil, 200},
		{"contract as JSON", "/openapi.json", nil, 200},
		{"contract as YAML", "/openapi.yaml", nil, 200},
		{"docs page", "/docs", nil, 200},
		{"metrics", "/metrics", nil, 200},
		{"public list", "/v1/products", nil, 200},
		{"cached item", "/v1/products/prd_0001", nil, 200},
		{"secured list", "/v1/orders", alice, 200},
		{"secured without credentials", "/v1/orders", nil, 401},
		{"invalid query", "/v1/products?pageSize=abc", nil, 422},
		{"unknown resource", "/v1/products/prd_9999", nil, 404},
		{"unknown route", "/v1/nothing-here", nil, 404},
		{"action (POST only)", "/v1/orders/0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90/cancel", alice, 405},
	}
	// Content-Length is compared for presence: the envelope's meta (duration, timestamp)
	// makes two answers differ by a byte or two.
	compared := []string{"Content-Type", "Allow", "WWW-Authenticate", "RateLimit-Policy", "ETag", "Cache-Control", "Vary"}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			get, getBody := rawExchange(t, addr, http.MethodGet, tt.path, tt.headers...)
			head, headBody := rawExchange(t, addr, http.MethodHead, tt.path, tt.headers...)
			if head.StatusCode != tt.status || get.StatusCode != tt.status {
				t.Fatalf("HEAD %d, GET %d, want %d", head.StatusCode, get.StatusCode, tt.status)
			}
			if len(headBody) != 0 {
				t.Errorf("HEAD sent a body: %.80q", headBody)
			}
			if len(getBody) == 0 {
				t.Error("GET sent no body")
			}
			for _, h := range compared {
				if g, hd := get.Header.Get(h), head.Header.Get(h); g != hd {
					t.Errorf("%s: GET %q, HEAD %q", h, g, hd)
				}
			}
			if (get.ContentLength < 0) != (head.ContentLength < 0) {
				t.Errorf("Content-Length: GET %d, HEAD %d", get.ContentLength, head.ContentLength)
			}
			if head.Header.Get("X-Request-Id") == "" {
				t.Error("HEAD answer without X-Request-Id")
			}
		})
	}

	t.Run("Allow names HEAD", func(t *testing.T) {
		t.Parallel()
		res := env.Do(t, http.MethodDelete, "/v1/products", "")
		if allow := res.Header.Get("Allow"); res.Status != 405 || !strings.Contains(allow, "GET") || !strings.Contains(allow, "HEAD") {
			t.Fatalf("DELETE /v1/products: %d, Allow %q, want 405 naming GET and HEAD", res.Status, allow)
		}
	})
	t.Run("counted under the GET operation", func(t *testing.T) {
		t.Parallel()
		rawExchange(t, addr, http.MethodHead, "/v1/products/prd_0002")
		_, body := rawExchange(t, addr, http.MethodGet, "/metrics")
		if !strings.Contains(string(body), `contractgate_requests_total{method="HEAD",operation="getProduct",status="2xx"}`) {
			t.Fatal("no HEAD request counted under getProduct")
		}
	})
}

// client is one client address (127.0.0.x; all of 127/8 is loopback).
type client string

// dial opens a connection from the client's address.
func (c client) dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(string(c))}, Timeout: 2 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// keepAlive opens a connection from the client, answers one request on it and leaves it
// idle (keep-alive).
func (c client) keepAlive(t *testing.T, addr string) *idleConn {
	t.Helper()
	ic := &idleConn{Conn: c.dial(t, addr)}
	ic.br = bufio.NewReader(ic.Conn)
	if status, err := ic.get("/healthz"); err != nil || status != http.StatusOK {
		t.Fatalf("%s: GET /healthz: %d %v", c, status, err)
	}
	return ic
}

// get answers GET /healthz... on a plain connection of c (a new one), timing it.
func (c client) get(t *testing.T, addr, path string) (int, time.Duration, error) {
	t.Helper()
	start := time.Now()
	ic := &idleConn{Conn: c.dial(t, addr)}
	ic.br = bufio.NewReader(ic.Conn)
	status, err := ic.get(path)
	return status, time.Since(start), err
}

type idleConn struct {
	net.Conn
	br *bufio.Reader
}

// get sends GET path on the connection and reads the answer (2 s bound).
func (c *idleConn) get(path string) (int, error) {
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: gw\r\n\r\n", path); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// closedByServer reports whether the server closed the connection (EOF or reset within 2 s,
// nothing answered).
func closedByServer(c net.Conn, br *bufio.Reader) bool {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if br == nil {
		br = bufio.NewReader(c)
	}
	_, err := br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// scrapeSeries returns the value of one series (name{labels}, as printed) in a /metrics scrape
// over a connection of its own, so that the scrape does not change the connection counts ("" if absent).
func scrapeSeries(t *testing.T, metricsURL, series string) string {
	t.Helper()
	res, err := noKeepAlive.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// waitIdle polls the admin listener's metrics until the public listener has n idle
// keep-alive connections: a client reads its answer a moment before the server marks the
// connection idle.
func waitIdle(t *testing.T, metricsURL string, n int) {
	t.Helper()
	want := strconv.Itoa(n)
	waitUntil(t, want+" idle connections", func() bool {
		return scrapeSeries(t, metricsURL, "contractgate_connections_idle") == want
	})
}

// TestAttackConnPerClientCap: one address holding its cap of idle keep-alive connections
// gets its next connection closed at once, unanswered, while another address is served at
// once and the first address's open connections keep working. Before, one address could
// hold connections until the process ran out of descriptors (accept4: too many open files)
// and every other client timed out.
func TestAttackConnPerClientCap(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	cfg := gatewayConfig(env, func(c *config.Config) {
		c.Server.Connections.Max = 16
		c.Server.Connections.MaxPerClient = 3
		c.Server.DrainDelay = time.Millisecond
		c.Admin.Addr = freeAddr(t)
	})
	s := serve(t, cfg)
	metrics := "http://" + cfg.Admin.Addr + "/metrics"
	waitFor(t, metrics)

	const attacker, other = client("127.0.0.2"), client("127.0.0.3")
	var held []*idleConn
	for range 3 {
		held = append(held, attacker.keepAlive(t, s.addr))
	}
	over := attacker.dial(t, s.addr)
	fmt.Fprint(over, "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
	if !closedByServer(over, nil) {
		t.Fatal("the attacker's 4th connection was not closed (cap 3 per address)")
	}
	status, took, err := other.get(t, s.addr, "/healthz")
	if err != nil || status != http.StatusOK || took > time.Second {
		t.Fatalf("another address: %d %v after %s, want 200 at once", status, err, took)
	}
	t.Logf("another address served in %s while the attacker held its cap", took)
	if status, err := held[0].get("/healthz"); err != nil || status != http.StatusOK {
		t.Fatalf("the attacker's held connection: %d %v, want it still served", status, err)
	}
	if v := scrapeSeries(t, metrics, `contractgate_connections_refused_total{reason="client_limit"}`); v != "1" {
		t.Errorf("connections_refused_total{reason=client_limit} = %q, want 1", v)
	}
	if v := scrapeSeries(t, metrics, "contractgate_connections_open"); v != "4" {
		t.Errorf("connections_open = %q, want 4 (the attacker's 3, the other address's 1)", v)
	}
}

// TestAttackConnOverallCap: with the listener full of idle keep-alive connections, a new
// client is served at once (the longest idle connection makes room); full of connections
// that are not idle (slow request heads), a new one is closed at once instead of waiting in
// the kernel's backlog.
func TestAttackConnOverallCap(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	cfg := gatewayConfig(env, func(c *config.Config) {
		c.Server.Connections.Max = 4
		c.Server.Connections.MaxPerClient = 2
		c.Server.Connections.IdleTimeoutUnderPressure = time.Hour // only the cap closes idle ones here
		c.Server.ReadHeaderTimeout = 30 * time.Second             // the slow heads stay for the test
		c.Server.DrainDelay = time.Millisecond
		c.Admin.Addr = freeAddr(t)
	})
	s := serve(t, cfg)
	metrics := "http://" + cfg.Admin.Addr + "/metrics"
	waitFor(t, metrics)

	a1 := client("127.0.0.2").keepAlive(t, s.addr)
	a2 := client("127.0.0.2").keepAlive(t, s.addr)
	b1 := client("127.0.0.3").keepAlive(t, s.addr)
	b2 := client("127.0.0.3").keepAlive(t, s.addr)
	waitIdle(t, metrics, 4)

	// Full of idle connections: a new client is served; the longest idle one was closed.
	status, took, err := client("127.0.0.4").get(t, s.addr, "/healthz")
	if err != nil || status != http.StatusOK || took > time.Second {
		t.Fatalf("new client at the cap: %d %v after %s, want 200 at once", status, err, took)
	}
	if !closedByServer(a1, a1.br) {
		t.Fatal("the longest idle connection was not closed to make room")
	}
	if status, err := b2.get("/healthz"); err != nil || status != http.StatusOK {
		t.Fatalf("a younger idle connection: %d %v, want it still served", status, err)
	}
	waitIdle(t, metrics, 4) // a2, b1, the new client's, b2

	// Full of slow request heads (not idle): they take the idle ones' places, then a new
	// connection is closed at once.
	for _, c := range []client{"127.0.0.5", "127.0.0.5", "127.0.0.6", "127.0.0.6"} {
		fmt.Fprint(c.dial(t, s.addr), "GET /healthz HTTP/1.1\r\n")
	}
	late := client("127.0.0.7").dial(t, s.addr)
	fmt.Fprint(late, "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
	if !closedByServer(late, nil) {
		t.Fatal("a connection over the cap with nothing idle was not closed")
	}
	for _, ic := range []*idleConn{a2, b1, b2} {
		if !closedByServer(ic, ic.br) {
			t.Error("an idle connection was not closed to make room for the slow heads")
		}
	}
	if v := scrapeSeries(t, metrics, `contractgate_connections_refused_total{reason="limit"}`); v != "1" {
		t.Errorf("connections_refused_total{reason=limit} = %q, want 1", v)
	}
	// a1 for the new client, then a2, b1, the new client's and b2 for the slow heads.
	if v := scrapeSeries(t, metrics, `contractgate_idle_connections_closed_total{reason="limit"}`); v != "5" {
		t.Errorf("idle_connections_closed_total{reason=limit} = %q, want 5", v)
	}
}

// TestAttackConnIdleUnderPressure: once open connections reach three quarters of the cap,
// keep-alive connections idle longer than idleTimeoutUnderPressure (here 1 ns: all of them)
// are closed as the next connection arrives, well before the cap and the idle timeout.
func TestAttackConnIdleUnderPressure(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	cfg := gatewayConfig(env, func(c *config.Config) {
		c.Server.Connections.Max = 8 // high-water mark 6
		c.Server.Connections.MaxPerClient = -1
		c.Server.Connections.IdleTimeoutUnderPressure = time.Nanosecond
		c.Server.DrainDelay = time.Millisecond
		c.Admin.Addr = freeAddr(t)
	})
	s := serve(t, cfg)
	metrics := "http://" + cfg.Admin.Addr + "/metrics"
	waitFor(t, metrics)

	var idle []*idleConn
	for range 6 {
		idle = append(idle, client("127.0.0.2").keepAlive(t, s.addr))
	}
	waitIdle(t, metrics, 6)
	status, _, err := client("127.0.0.3").get(t, s.addr, "/healthz")
	if err != nil || status != http.StatusOK {
		t.Fatalf("new client under pressure: %d %v", status, err)
	}
	for i, ic := range idle {
		if !closedByServer(ic, ic.br) {
			t.Errorf("idle connection %d was not closed under pressure", i)
		}
	}
	if v := scrapeSeries(t, metrics, `contractgate_idle_connections_closed_total{reason="pressure"}`); v != "6" {
		t.Errorf("idle_connections_closed_total{reason=pressure} = %q, want 6", v)
	}
}
