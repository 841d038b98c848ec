package e2e_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/contractgate/contractgate/api"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// TestMockMode: with every upstream mocked from its contract's examples, every public
// operation answers with a body valid against the public contract.
func TestMockMode(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, func(c *config.Config) {
		for name, u := range c.Upstreams {
			u.Mock, u.BaseURL = true, "" // no upstream process is called
			c.Upstreams[name] = u
		}
	})
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	const orderID = "019343e0-cfb8-7e85-b2d6-4c8f0a1b2c03" // the orders contract's example
	order := `{"items":[{"productId":"prd_0001","quantity":1}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`
	tests := []struct {
		op, method, path, body string
		status                 int
	}{
		{"listProducts", http.MethodGet, "/v1/products", "", 200},
		{"getProduct", http.MethodGet, "/v1/products/prd_0001", "", 200},
		{"listOrders", http.MethodGet, "/v1/orders", "", 200},
		{"createOrder", http.MethodPost, "/v1/orders", order, 201},
		{"getOrder", http.MethodGet, "/v1/orders/" + orderID, "", 200},
		{"cancelOrder", http.MethodPost, "/v1/orders/" + orderID + "/cancel", "", 200},
		{"getDashboard", http.MethodGet, "/v1/me/dashboard", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			res := env.Do(t, tt.method, tt.path, tt.body, "Idempotency-Key", "mock-"+tt.op)
			body := assertEnvelope(t, res, tt.status, true)
			if _, degraded := body["meta"].(map[string]any)["degraded"]; degraded {
				t.Fatalf("degraded in mock mode: %s", res.Body)
			}
			req, _ := http.NewRequest(tt.method, "http://gateway"+tt.path, nil)
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 res.Status,
				Header:                 res.Header,
				Body:                   io.NopCloser(bytes.NewReader(res.Body)),
			}
			if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
				t.Fatalf("%s answered outside the public contract: %v", tt.op, err)
			}
		})
	}
}
