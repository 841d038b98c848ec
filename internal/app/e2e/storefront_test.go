package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/app/demo"
	ordersdemo "github.com/contractgate/contractgate/internal/app/demo/orders"
	"github.com/contractgate/contractgate/internal/app/testenv"
)

// assertEnvelope checks the envelope shape shared by every response and returns the body.
func assertEnvelope(t *testing.T, res *testenv.Response, status int, success bool) map[string]any {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	body := res.JSON(t)
	if body["success"] != success {
		t.Fatalf("success = %v, want %v: %s", body["success"], success, res.Body)
	}
	meta, ok := body["meta"].(map[string]any)
	if !ok {
		t.Fatalf("no meta: %s", res.Body)
	}
	rid := res.Header.Get("X-Request-Id")
	if rid == "" || meta["requestId"] != rid {
		t.Fatalf("meta.requestId %v != X-Request-Id %q", meta["requestId"], rid)
	}
	if res.Header.Get("X-Trace-Id") == "" {
		t.Fatal("no X-Trace-Id")
	}
	if _, ok := meta["duration"].(float64); !ok {
		t.Fatalf("meta.duration is not a number: %v", meta["duration"])
	}
	if ts, _ := meta["timestamp"].(string); !strings.HasSuffix(ts, "Z") || len(ts) != len("2026-11-26T17:05:07.123Z") {
		t.Fatalf("meta.timestamp %q is not RFC 3339 UTC with milliseconds", ts)
	}
	return body
}

func errorCode(t *testing.T, body map[string]any) string {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestProducts(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)

	tests := []struct {
		desc       string
		path       string
		wantItems  int
		pagination map[string]any
	}{
		{"first page with defaults", "/v1/products", 20, map[string]any{"page": 1.0, "pageSize": 20.0, "totalItems": 36.0, "totalPages": 2.0, "hasNext": true, "hasPrevious": false}},
		{"last page", "/v1/products?page=2", 16, map[string]any{"page": 2.0, "pageSize": 20.0, "totalItems": 36.0, "totalPages": 2.0, "hasNext": false, "hasPrevious": true}},
		{"small pages", "/v1/products?page=3&pageSize=5", 5, map[string]any{"page": 3.0, "pageSize": 5.0, "totalItems": 36.0, "totalPages": 8.0, "hasNext": true, "hasPrevious": true}},
		{"past the end", "/v1/products?page=99", 0, map[string]any{"page": 99.0, "totalItems": 36.0, "hasNext": false}},
		{"category filter", "/v1/products?category=books&pageSize=100", -1, map[string]any{"page": 1.0, "pageSize": 100.0}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			body := assertEnvelope(t, env.Do(t, http.MethodGet, tt.path, ""), http.StatusOK, true)
			items, ok := body["data"].([]any)
			if !ok {
				t.Fatalf("data is not an array: %v", body["data"])
			}
			if tt.wantItems >= 0 && len(items) != tt.wantItems {
				t.Fatalf("%d items, want %d", len(items), tt.wantItems)
			}
			p := body["meta"].(map[string]any)["pagination"].(map[string]any)
			for k, v := range tt.pagination {
				if p[k] != v {
					t.Errorf("pagination.%s = %v, want %v", k, p[k], v)
				}
			}
			for _, it := range items {
				prod := it.(map[string]any)
				if strings.Contains(tt.path, "category=books") && prod["category"] != "books" {
					t.Errorf("category filter let %v through", prod)
				}
				if _, ok := prod["inStock"].(bool); !ok {
					t.Errorf("product without inStock: %v", prod)
				}
			}
		})
	}

	t.Run("one product", func(t *testing.T) {
		t.Parallel()
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/products/prd_0001", ""), http.StatusOK, true)
		p := body["data"].(map[string]any)
		if p["id"] != "prd_0001" || p["name"] != "Enamel camping mug" || p["priceCents"] != 1499.0 || p["currency"] != "USD" {
			t.Fatalf("product %v", p)
		}
		if _, ok := body["meta"].(map[string]any)["pagination"]; ok {
			t.Fatal("a single resource carries no pagination")
		}
	})
	t.Run("unknown product", func(t *testing.T) {
		t.Parallel()
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/products/prd_9999", ""), http.StatusNotFound, false)
		if code := errorCode(t, body); code != "RESOURCE_NOT_FOUND" {
			t.Fatalf("code %q", code)
		}
	})
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	tests := []struct {
		desc, method, path string
		status             int
		code, allow        string
	}{
		{"unknown route", http.MethodGet, "/v1/nothing-here", 404, "ROUTE_NOT_FOUND", ""},
		{"unknown nested route", http.MethodGet, "/v1/products/prd_0001/reviews", 404, "ROUTE_NOT_FOUND", ""},
		{"root", http.MethodGet, "/", 404, "ROUTE_NOT_FOUND", ""},
		{"wrong method on a collection", http.MethodDelete, "/v1/products", 405, "METHOD_NOT_ALLOWED", "GET"},
		{"wrong method on an item", http.MethodPut, "/v1/orders/0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90", 405, "METHOD_NOT_ALLOWED", "GET"},
		{"GET on an action", http.MethodGet, "/v1/orders/0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90/cancel", 405, "METHOD_NOT_ALLOWED", "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			res := env.Do(t, tt.method, tt.path, "")
			body := assertEnvelope(t, res, tt.status, false)
			if code := errorCode(t, body); code != tt.code {
				t.Fatalf("code %q, want %q", code, tt.code)
			}
			if tt.allow != "" && !strings.Contains(res.Header.Get("Allow"), tt.allow) {
				t.Fatalf("Allow %q does not name %s", res.Header.Get("Allow"), tt.allow)
			}
		})
	}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t) // the development identity is alice

	t.Run("list shows only my orders", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/orders", ""), http.StatusOK, true)
		items := body["data"].([]any)
		ids := map[string]bool{}
		for _, it := range items {
			ids[it.(map[string]any)["id"].(string)] = true
		}
		for _, id := range []string{ordersdemo.AlicePendingOrderID, ordersdemo.AliceConfirmedOrderID, ordersdemo.AliceShippedOrderID} {
			if !ids[id] {
				t.Errorf("alice's order %s missing from %v", id, ids)
			}
		}
		if ids[ordersdemo.BobPendingOrderID] || ids[ordersdemo.BobShippedOrderID] {
			t.Errorf("bob's orders leaked into alice's list: %v", ids)
		}
		if p := body["meta"].(map[string]any)["pagination"].(map[string]any); p["totalItems"] != float64(len(items)) {
			t.Errorf("pagination %v for %d items", p, len(items))
		}
	})
	t.Run("status filter", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/orders?status=shipped", ""), http.StatusOK, true)
		for _, it := range body["data"].([]any) {
			if it.(map[string]any)["status"] != "shipped" {
				t.Errorf("status filter let %v through", it)
			}
		}
	})
	t.Run("get my order", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/orders/"+ordersdemo.AliceShippedOrderID, ""), http.StatusOK, true)
		o := body["data"].(map[string]any)
		if o["id"] != ordersdemo.AliceShippedOrderID || o["status"] != "shipped" {
			t.Fatalf("order %v", o)
		}
		var sum float64
		for _, it := range o["items"].([]any) {
			sum += it.(map[string]any)["lineTotalCents"].(float64)
		}
		if sum != o["totalCents"] {
			t.Fatalf("line totals %v != totalCents %v", sum, o["totalCents"])
		}
	})
	t.Run("another user's order is not found", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/orders/"+ordersdemo.BobPendingOrderID, ""), http.StatusNotFound, false)
		if code := errorCode(t, body); code != "RESOURCE_NOT_FOUND" {
			t.Fatalf("code %q", code)
		}
	})
	t.Run("cancelling another user's order is not found", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodPost, "/v1/orders/"+ordersdemo.BobPendingOrderID+"/cancel", "", "Idempotency-Key", "k-bob-1"), http.StatusNotFound, false)
		if code := errorCode(t, body); code != "RESOURCE_NOT_FOUND" {
			t.Fatalf("code %q", code)
		}
	})
	t.Run("unknown order", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/orders/00000000-0000-4000-8000-000000000000", ""), http.StatusNotFound, false)
		if code := errorCode(t, body); code != "RESOURCE_NOT_FOUND" {
			t.Fatalf("code %q", code)
		}
	})
	t.Run("create then cancel", func(t *testing.T) {
		before := env.OrdersService.Count()
		res := env.Do(t, http.MethodPost, "/v1/orders",
			`{"items":[{"productId":"prd_0001","quantity":2},{"productId":"prd_0002","quantity":1}],"note":"gift","payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
			"Idempotency-Key", "create-then-cancel-1")
		body := assertEnvelope(t, res, http.StatusCreated, true)
		o := body["data"].(map[string]any)
		if o["status"] != "pending" || o["note"] != "gift" || len(o["items"].([]any)) != 2 {
			t.Fatalf("created order %v", o)
		}
		first := o["items"].([]any)[0].(map[string]any)
		if first["unitPriceCents"] != 1499.0 || first["lineTotalCents"] != 2998.0 || first["name"] != "Enamel camping mug" {
			t.Fatalf("catalog prices not applied: %v", first)
		}
		if env.OrdersService.Count() != before+1 {
			t.Fatalf("orders upstream holds %d orders, want %d", env.OrdersService.Count(), before+1)
		}
		id := o["id"].(string)
		body = assertEnvelope(t, env.Do(t, http.MethodPost, "/v1/orders/"+id+"/cancel", "", "Idempotency-Key", "cancel-"+id), http.StatusOK, true)
		if s := body["data"].(map[string]any)["status"]; s != "cancelled" {
			t.Fatalf("status after cancel %v", s)
		}
		body = assertEnvelope(t, env.Do(t, http.MethodPost, "/v1/orders/"+id+"/cancel", "", "Idempotency-Key", "cancel-again-"+id), http.StatusConflict, false)
		if code := errorCode(t, body); code != "CONFLICT" {
			t.Fatalf("code %q", code)
		}
	})
	t.Run("shipped order cannot be cancelled", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodPost, "/v1/orders/"+ordersdemo.AliceShippedOrderID+"/cancel", "", "Idempotency-Key", "k-shipped"), http.StatusConflict, false)
		if code := errorCode(t, body); code != "CONFLICT" {
			t.Fatalf("code %q", code)
		}
	})
	t.Run("unknown product in an order", func(t *testing.T) {
		body := assertEnvelope(t, env.Do(t, http.MethodPost, "/v1/orders",
			`{"items":[{"productId":"prd_9999","quantity":1}],"payment":{"method":"invoice","purchaseOrder":"PO-1"}}`,
			"Idempotency-Key", "unknown-product"), http.StatusUnprocessableEntity, false)
		details := body["error"].(map[string]any)["details"].([]any)
		if d := details[0].(map[string]any); d["field"] != "body.items[0].productId" || d["constraint"] != "exists" {
			t.Fatalf("details %v", details)
		}
	})
}

func TestDashboard(t *testing.T) {
	t.Parallel()

	t.Run("all parts", func(t *testing.T) {
		t.Parallel()
		env := testenv.Start(t)
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/me/dashboard", ""), http.StatusOK, true)
		d := body["data"].(map[string]any)
		if p := d["profile"].(map[string]any); p["id"] != "alice" || p["email"] != "alice@example.com" {
			t.Fatalf("profile %v", p)
		}
		if n := len(d["recentOrders"].([]any)); n < 3 || n > 5 {
			t.Fatalf("%d recent orders", n)
		}
		if len(d["recommendations"].([]any)) == 0 {
			t.Fatal("no recommendations")
		}
		if _, ok := body["meta"].(map[string]any)["degraded"]; ok {
			t.Fatal("meta.degraded set on a healthy dashboard")
		}
	})
	t.Run("optional parts degrade", func(t *testing.T) {
		t.Parallel()
		env := testenv.Start(t)
		mustSet(t, env.Catalog.Faults, demo.Fault{Route: "/recommendations", ErrorRate: 1})
		mustSet(t, env.Orders.Faults, demo.Fault{ErrorRate: 1})
		body := assertEnvelope(t, env.Do(t, http.MethodGet, "/v1/me/dashboard", ""), http.StatusOK, true)
		d := body["data"].(map[string]any)
		if _, ok := d["recommendations"]; ok {
			t.Error("recommendations present although the catalog failed")
		}
		if _, ok := d["recentOrders"]; ok {
			t.Error("recentOrders present although orders failed")
		}
		deg, _ := body["meta"].(map[string]any)["degraded"].([]any)
		if len(deg) != 2 || deg[0] != "recentOrders" || deg[1] != "recommendations" {
			t.Fatalf("meta.degraded = %v", deg)
		}
	})
	t.Run("essential part fails the request", func(t *testing.T) {
		t.Parallel()
		env := testenv.Start(t)
		mustSet(t, env.Users.Faults, demo.Fault{ErrorRate: 1})
		res := env.Do(t, http.MethodGet, "/v1/me/dashboard", "")
		body := assertEnvelope(t, res, http.StatusBadGateway, false)
		if code := errorCode(t, body); code != "UPSTREAM_ERROR" {
			t.Fatalf("code %q", code)
		}
		if strings.Contains(string(res.Body), "injected fault") || strings.Contains(string(res.Body), "127.0.0.1") {
			t.Fatalf("upstream details leaked: %s", res.Body)
		}
	})
}

func mustSet(t *testing.T, f *demo.Faults, rule demo.Fault) {
	t.Helper()
	if err := f.Set(rule); err != nil {
		t.Fatal(err)
	}
}

func TestOpsEndpoints(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	tests := []struct {
		path, contentType, contains string
	}{
		{"/healthz", "application/json", `"status":"ok"`},
		{"/readyz", "application/json", `"status":"ready"`},
		{"/openapi.yaml", "application/yaml", "operationId: createOrder"},
		{"/openapi.json", "application/json", `"operationId":"createOrder"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			res := env.Do(t, http.MethodGet, tt.path, "")
			if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), tt.contentType) || !strings.Contains(string(res.Body), tt.contains) {
				t.Fatalf("%d %s: %.200s", res.Status, res.Header.Get("Content-Type"), res.Body)
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Fatal("ops responses carry X-Request-Id too")
			}
		})
	}
}
