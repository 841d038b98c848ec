package validation_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/routes"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// benchOrder is a realistic create-order body of about 1 KB.
var benchOrder = validation.BenchOrder

const benchQuery = "/v1/products?page=2&pageSize=50&category=kitchen"

// newEcho returns an Echo that routes the contract's operations to a no-op handler behind
// the validator: route lookup and validation, nothing else.
func newEcho(tb testing.TB) *echo.Echo {
	tb.Helper()
	doc, err := enginetest.Shop()
	if err != nil {
		tb.Fatal(err)
	}
	table, err := routes.New(doc)
	if err != nil {
		tb.Fatal(err)
	}
	vc := validation.Config{Skip: []string{"Idempotency-Key"}}
	vc.SetDefaults()
	v, err := validation.New(vc, table)
	if err != nil {
		tb.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		_ = c.NoContent(apierror.From(err).Status)
	}
	e.Use(table.Match(), v.Middleware())
	for _, op := range table.All() {
		e.Add(op.Method, op.Route, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	}
	return e
}

func TestBenchInputsAreValid(t *testing.T) {
	e := newEcho(t)
	if n := len(benchOrder); n < 900 || n > 1100 {
		t.Fatalf("bench body is %d bytes, want about 1 KB", n)
	}
	for _, req := range []*http.Request{postOrder(), httptest.NewRequest(http.MethodGet, benchQuery, nil)} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("%s %s: %d", req.Method, req.URL, rec.Code)
		}
	}
}

func postOrder() *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(benchOrder))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "bench-1")
	return req
}

// BenchmarkValidate measures route lookup plus validation per request, compiled once at
// start-up, for a 1 KB POST and a GET with three query parameters.
func BenchmarkValidate(b *testing.B) {
	e := newEcho(b)
	b.Run("POST-1KB", func(b *testing.B) {
		rec := httptest.NewRecorder()
		req := postOrder()
		b.ReportAllocs()
		b.SetBytes(int64(len(benchOrder)))
		for b.Loop() {
			req.Body = readCloser{bytes.NewReader(benchOrder)}
			e.ServeHTTP(rec, req)
		}
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code)
		}
	})
	b.Run("GET-3-query-params", func(b *testing.B) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, benchQuery, nil)
		b.ReportAllocs()
		for b.Loop() {
			e.ServeHTTP(rec, req)
		}
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code)
		}
	})
}

// BenchmarkValidateStockKin is the baseline: kin-openapi's own router and request validator
// on the same contract and requests (its OpenAPI 3.1 path compiles schemas per call).
func BenchmarkValidateStockKin(b *testing.B) {
	doc, err := enginetest.Shop()
	if err != nil {
		b.Fatal(err)
	}
	doc.Servers = nil // match any host, as the gateway does
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		b.Fatal(err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	validate := func(b *testing.B, req *http.Request) {
		route, params, err := router.FindRoute(req)
		if err != nil {
			b.Fatal(err)
		}
		if err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route, Options: opts,
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("POST-1KB", func(b *testing.B) {
		req := postOrder()
		b.ReportAllocs()
		b.SetBytes(int64(len(benchOrder)))
		for b.Loop() {
			req.Body = readCloser{bytes.NewReader(benchOrder)}
			validate(b, req)
		}
	})
	b.Run("GET-3-query-params", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, benchQuery, nil)
		b.ReportAllocs()
		for b.Loop() {
			validate(b, req)
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
