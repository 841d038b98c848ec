package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/app/demo"
)

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// testService serves a few routes through demo.NewEcho and counts the handler calls.
func testService(t *testing.T, f *demo.Faults) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	e := demo.NewEcho(f, func(e *echo.Echo) {
		e.GET("/ping", func(c echo.Context) error {
			calls.Add(1)
			return c.JSON(http.StatusOK, map[string]bool{"pong": true})
		})
		e.GET("/slow/:id", func(c echo.Context) error {
			calls.Add(1)
			return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")})
		})
		e.GET("/panic", func(echo.Context) error { panic("boom") })
		e.GET("/bad", func(echo.Context) error { return echo.NewHTTPError(http.StatusBadRequest, "bad input") })
		e.GET("/fail", func(echo.Context) error { return errors.New("secret detail") })
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, &calls
}

// do sends one request and returns the status and the raw body.
func do(ctx context.Context, method, url, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func decodeError(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body %q is not a JSON error: %v", body, err)
	}
	return e
}

func TestNewEchoAnswersErrorsAsJSON(t *testing.T) {
	t.Parallel()
	srv, _ := testService(t, nil)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantCode, wantMsg  string
	}{
		{"unknown route", http.MethodGet, "/nope", 404, "NOT_FOUND", "route not found"},
		{"wrong method", http.MethodPost, "/ping", 405, "METHOD_NOT_ALLOWED", "method not allowed"},
		{"panic", http.MethodGet, "/panic", 500, "INTERNAL", "internal error"},
		{"client error keeps its message", http.MethodGet, "/bad", 400, "BAD_REQUEST", "bad input"},
		{"plain error leaks nothing", http.MethodGet, "/fail", 500, "INTERNAL", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body, err := do(t.Context(), tt.method, srv.URL+tt.path, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeError(t, body); status != tt.wantStatus || got.Code != tt.wantCode || got.Message != tt.wantMsg {
				t.Errorf("got %d %+v, want %d {%s %s}", status, got, tt.wantStatus, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestFaultsMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		rules       []demo.Fault
		path        string
		wantStatus  int // 0: the request must fail
		wantTimeout bool
		wantCalls   int64
		minElapsed  time.Duration
	}{
		{name: "no rules", path: "/ping", wantStatus: 200, wantCalls: 1},
		{name: "latency", rules: []demo.Fault{{Latency: 150 * time.Millisecond}}, path: "/ping", wantStatus: 200, wantCalls: 1, minElapsed: 150 * time.Millisecond},
		{name: "error rate 1", rules: []demo.Fault{{ErrorRate: 1}}, path: "/ping", wantStatus: 500},
		{name: "latency then error", rules: []demo.Fault{{Latency: 100 * time.Millisecond, ErrorRate: 1}}, path: "/ping", wantStatus: 500, minElapsed: 100 * time.Millisecond},
		{name: "other route unaffected", rules: []demo.Fault{{Route: "/slow", ErrorRate: 1}}, path: "/ping", wantStatus: 200, wantCalls: 1},
		{name: "route prefix covers sub-paths", rules: []demo.Fault{{Route: "/slow", ErrorRate: 1}}, path: "/slow/42", wantStatus: 500},
		{name: "prefix matches whole segments only", rules: []demo.Fault{{Route: "/pin", ErrorRate: 1}}, path: "/ping", wantStatus: 200, wantCalls: 1},
		{name: "longest route wins over global", rules: []demo.Fault{{ErrorRate: 1}, {Route: "/slow", Latency: time.Millisecond}}, path: "/slow/1", wantStatus: 200, wantCalls: 1},
		{name: "unknown routes are never faulted", rules: []demo.Fault{{ErrorRate: 1}}, path: "/nope", wantStatus: 404},
		{name: "reset", rules: []demo.Fault{{Reset: true}}, path: "/ping"},
		{name: "hang", rules: []demo.Fault{{Hang: true}}, path: "/ping", wantTimeout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := demo.NewFaults()
			for _, r := range tt.rules {
				if err := f.Set(r); err != nil {
					t.Fatal(err)
				}
			}
			srv, calls := testService(t, f)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			if tt.wantTimeout {
				ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
			}
			defer cancel()
			start := time.Now()
			status, body, err := do(ctx, http.MethodGet, srv.URL+tt.path, "")
			elapsed := time.Since(start)
			switch {
			case tt.wantTimeout:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want a timeout", err)
				}
			case tt.wantStatus == 0:
				if err == nil {
					t.Fatalf("got %d %s, want a connection error", status, body)
				}
			case err != nil:
				t.Fatal(err)
			case status != tt.wantStatus:
				t.Fatalf("status = %d (%s), want %d", status, body, tt.wantStatus)
			case status == 500:
				if got := decodeError(t, body); got != (errorBody{"INTERNAL", "injected fault"}) {
					t.Errorf("body = %+v, want the injected fault", got)
				}
			}
			if elapsed < tt.minElapsed {
				t.Errorf("answered after %v, want at least %v", elapsed, tt.minElapsed)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("handler ran %d times, want %d", got, tt.wantCalls)
			}
			if got := f.Stats().Total; got != 1 {
				t.Errorf("stats total = %d, want 1", got)
			}
		})
	}
}

func TestFaultsStatsCountPerRoute(t *testing.T) {
	t.Parallel()
	f := demo.NewFaults()
	srv, _ := testService(t, f)
	for _, p := range []string{"/ping", "/ping", "/slow/1", "/slow/2", "/slow/3", "/nope"} {
		if _, _, err := do(t.Context(), http.MethodGet, srv.URL+p, ""); err != nil {
			t.Fatal(err)
		}
	}
	got := f.Stats()
	if got.Total != 6 || got.Routes["GET /ping"] != 2 || got.Routes["GET /slow/:id"] != 3 || len(got.Routes) != 2 {
		t.Errorf("stats = %+v, want total 6, GET /ping 2, GET /slow/:id 3", got)
	}
	f.ResetStats()
	if got := f.Stats(); got.Total != 0 || len(got.Routes) != 0 {
		t.Errorf("after ResetStats: %+v", got)
	}
}

func TestFaultValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   demo.Fault
		wantErr bool
	}{
		{"zero", demo.Fault{}, false},
		{"full", demo.Fault{Route: "/products", Latency: time.Second, ErrorRate: 0.5, Hang: true, Reset: true}, false},
		{"relative route", demo.Fault{Route: "products"}, true},
		{"negative latency", demo.Fault{Latency: -time.Second}, true},
		{"error rate above 1", demo.Fault{ErrorRate: 1.5}, true},
		{"negative error rate", demo.Fault{ErrorRate: -0.1}, true},
	}
	for _, tt := range tests {
		if err := tt.fault.Validate(); (err != nil) != tt.wantErr {
			t.Errorf("%s: Validate() = %v, wantErr %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestAdminHandler(t *testing.T) {
	t.Parallel()
	f := demo.NewFaults()
	admin := httptest.NewServer(f.AdminHandler())
	t.Cleanup(admin.Close)
	steps := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string // substring; for 4xx the error code
	}{
		{"health", "GET", "/healthz", "", 200, `{"status":"ok"}`},
		{"no faults yet", "GET", "/faults", "", 200, `{"faults":[]}`},
		{"set a route fault", "PUT", "/faults", `{"latency":"250ms","errorRate":0.5,"hang":false,"reset":false,"route":"/products"}`, 200,
			`{"faults":[{"route":"/products","latency":"250ms","errorRate":0.5,"hang":false,"reset":false}]}`},
		{"set a global fault", "PUT", "/faults", `{"errorRate":1}`, 200, `{"latency":"0s","errorRate":1,"hang":false,"reset":false},{"route":"/products"`},
		{"list both", "GET", "/faults", "", 200, `"route":"/products","latency":"250ms"`},
		{"bad latency", "PUT", "/faults", `{"latency":"soon"}`, 400, "BAD_REQUEST"},
		{"negative latency", "PUT", "/faults", `{"latency":"-1s"}`, 400, "BAD_REQUEST"},
		{"error rate out of range", "PUT", "/faults", `{"errorRate":2}`, 400, "BAD_REQUEST"},
		{"unknown field", "PUT", "/faults", `{"lag":"1s"}`, 400, "BAD_REQUEST"},
		{"not JSON", "PUT", "/faults", `latency=1s`, 400, "BAD_REQUEST"},
		{"a zero rule removes the route's rule", "PUT", "/faults", `{"route":"/products"}`, 200, `{"faults":[{"latency":"0s","errorRate":1,"hang":false,"reset":false}]}`},
		{"clear", "DELETE", "/faults", "", 204, ""},
		{"cleared", "GET", "/faults", "", 200, `{"faults":[]}`},
		{"stats", "GET", "/stats", "", 200, `{"total":0,"routes":{}}`},
		{"reset stats", "DELETE", "/stats", "", 204, ""},
		{"wrong method", "POST", "/faults", "{}", 405, "METHOD_NOT_ALLOWED"},
		{"unknown path", "GET", "/nope", "", 404, "NOT_FOUND"},
	}
	for _, s := range steps { // sequential: each step sees the state the previous ones left
		status, body, err := do(t.Context(), s.method, admin.URL+s.path, s.body)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if status != s.wantStatus || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: got %d %s, want %d containing %s", s.name, status, body, s.wantStatus, s.wantBody)
		}
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunServesAndStopsReleasingHungRequests(t *testing.T) {
	t.Parallel()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, "test", addr, adminAddr, func(e *echo.Echo) {
			e.GET("/ping", func(c echo.Context) error { return c.String(http.StatusOK, "pong") })
		})
	}()

	var status int
	for range 100 { // wait until it serves
		var err error
		if status, _, err = do(t.Context(), "GET", "http://"+addr+"/ping", ""); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != http.StatusOK {
		t.Fatalf("service never answered 200, last status %d", status)
	}
	if status, body, err := do(t.Context(), "PUT", "http://"+adminAddr+"/faults", `{"hang":true}`); err != nil || status != 200 {
		t.Fatalf("PUT /faults: %d %s %v", status, body, err)
	}
	hung := make(chan error, 1)
	go func() { _, _, err := do(t.Context(), "GET", "http://"+addr+"/ping", ""); hung <- err }()
	time.Sleep(100 * time.Millisecond) // let the request reach the hang

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(demo.ShutdownGrace):
		t.Fatal("Run did not stop")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v; the hung request should be released at once", d)
	}
	if err := <-hung; err == nil {
		t.Error("the hung request got an answer, want a connection error")
	}
}

func TestRunFailsOnBadAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	for name, addrs := range map[string][2]string{"service": {busy, ""}, "admin": {"127.0.0.1:0", busy}} {
		if err := demo.Run(t.Context(), "test", addrs[0], addrs[1], func(*echo.Echo) {}); err == nil {
			t.Errorf("%s address in use: Run returned nil", name)
		}
	}
}
