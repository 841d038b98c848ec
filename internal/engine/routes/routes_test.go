package routes

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/enginetest"
)

func TestEchoRoute(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/v1/products", "/v1/products"},
		{"/v1/products/{productId}", "/v1/products/:productId"},
		{"/v1/orders/{orderId}/cancel", "/v1/orders/:orderId/cancel"},
		{"/a/{x}/b/{y}", "/a/:x/b/:y"},
		{"/broken/{x", "/broken/{x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := EchoRoute(tt.in); got != tt.want {
				t.Fatalf("EchoRoute(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTableIndexesTheContract(t *testing.T) {
	doc, err := enginetest.Shop()
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := New(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"listProducts": "GET /v1/products",
		"getProduct":   "GET /v1/products/:productId",
		"listOrders":   "GET /v1/orders",
		"createOrder":  "POST /v1/orders",
		"getOrder":     "GET /v1/orders/:orderId",
		"cancelOrder":  "POST /v1/orders/:orderId/cancel",
		"getDashboard": "GET /v1/me/dashboard",
	}
	if len(tbl.All()) != len(want) {
		t.Fatalf("%d operations, want %d", len(tbl.All()), len(want))
	}
	for _, op := range tbl.All() {
		if got := op.Method + " " + op.Route; want[op.ID] != got {
			t.Errorf("%s: %s, want %s", op.ID, got, want[op.ID])
		}
		if tbl.Find(op.Method, op.Route) != op {
			t.Errorf("Find(%s %s) did not return %s", op.Method, op.Route, op.ID)
		}
	}
	if tbl.Find(http.MethodDelete, "/v1/products") != nil {
		t.Error("Find returned an operation for an undeclared method")
	}
	if got := tbl.Find(http.MethodPost, "/v1/orders").Pointer; got != "/paths/~1v1~1orders/post" {
		t.Errorf("pointer = %q", got)
	}
}

func TestSecurityAndExtensions(t *testing.T) {
	doc, err := enginetest.Shop()
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := New(doc)
	if err != nil {
		t.Fatal(err)
	}
	if sec := tbl.Find(http.MethodGet, "/v1/products").Security; len(sec) != 0 {
		t.Errorf("listProducts is public, got %v", sec)
	}
	sec := tbl.Find(http.MethodPost, "/v1/orders").Security
	if len(sec) != 2 || len(sec[0]["bearerAuth"]) != 1 || sec[0]["bearerAuth"][0] != "orders:write" {
		t.Errorf("createOrder security %v", sec)
	}
	rl, ok := tbl.Find(http.MethodGet, "/v1/me/dashboard").Extensions["x-ratelimit"].(map[string]any)
	if !ok || rl["window"] != "1m" {
		t.Errorf("getDashboard x-ratelimit %#v", tbl.Find(http.MethodGet, "/v1/me/dashboard").Extensions)
	}
}

func TestHeadFindsTheGetOperation(t *testing.T) {
	t.Parallel()
	doc, err := enginetest.Shop()
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := New(doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, method, route, want string
	}{
		{"HEAD on a GET route", http.MethodHead, "/v1/products/:productId", "getProduct"},
		{"HEAD on a route with GET and POST", http.MethodHead, "/v1/orders", "listOrders"},
		{"HEAD on a POST-only route", http.MethodHead, "/v1/orders/:orderId/cancel", ""},
		{"HEAD on an unknown route", http.MethodHead, "/v1/nothing", ""},
		{"no fallback for other methods", http.MethodOptions, "/v1/products", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := ""
			if op := tbl.Find(tt.method, tt.route); op != nil {
				got = op.ID
			}
			if got != tt.want {
				t.Fatalf("Find(%s %s) = %q, want %q", tt.method, tt.route, got, tt.want)
			}
		})
	}
}

func TestHeadRouter(t *testing.T) {
	t.Parallel()
	e := echo.New()
	r := WithHead(e)
	body := func(s string) echo.HandlerFunc {
		return func(c echo.Context) error { return c.String(http.StatusOK, s) }
	}
	r.GET("/a", body("a"))
	r.HEAD("/b", body("own head")) // an explicit HEAD route keeps its handler
	r.GET("/b", body("b"))
	r.POST("/c", body("c"))
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodHead, "/a", http.StatusOK, "a"}, // the recorder keeps what net/http would drop
		{http.MethodGet, "/a", http.StatusOK, "a"},
		{http.MethodHead, "/b", http.StatusOK, "own head"},
		{http.MethodHead, "/c", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status || (tt.body != "" && rec.Body.String() != tt.body) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, rec.Code, rec.Body, tt.status, tt.body)
		}
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/a", nil))
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "HEAD") {
		t.Errorf("DELETE /a: Allow %q, want GET and HEAD", allow)
	}
}
