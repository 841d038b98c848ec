package routes

import (
	"net/http"
	"testing"

	"github.com/contractgate/contractgate/api"
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
	doc, err := api.Load()
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
	doc, err := api.Load()
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
