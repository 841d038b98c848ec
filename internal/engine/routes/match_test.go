package routes

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

const matchSpec = `
openapi: 3.1.0
info: {title: match, version: "1"}
paths:
  /items/{id}:
    get: {operationId: getItem, responses: {"200": {description: ok}}}
    delete: {operationId: deleteItem, responses: {"204": {description: gone}}}
  /items:
    post: {operationId: createItem, responses: {"201": {description: made}}}
`

// TestMatch: Match resolves the routed operation once, and every middleware after it (and one
// registered before routing, once next has returned) reads it with Current; routes outside
// the contract, unknown paths and requests refused before routing read nil.
func TestMatch(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(matchSpec))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := New(doc)
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range tbl.All() {
		if op.Index != i {
			t.Fatalf("%s: Index %d, want %d", op.ID, op.Index, i)
		}
	}
	for _, withCorrelation := range []bool{true, false} {
		t.Run(fmt.Sprintf("correlation %v", withCorrelation), func(t *testing.T) {
			t.Parallel()
			testMatch(t, tbl, withCorrelation)
		})
	}
}

// testMatch runs the requests of TestMatch with the operation kept on the request's
// correlation.Info, or (without correlation) in the echo.Context.
func testMatch(t *testing.T, tbl *Table, withCorrelation bool) {
	var inner, outer *Operation
	e := echo.New()
	if withCorrelation {
		e.Pre(correlation.New().Middleware())
	}
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("X-Refuse") != "" {
				return echo.ErrForbidden // refused before routing: no operation
			}
			if Current(c) != nil {
				t.Error("Current is set before routing")
			}
			err := next(c)
			outer = Current(c)
			return err
		}
	})
	e.Use(tbl.Match(), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			inner = Current(c)
			return next(c)
		}
	})
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	r := WithHead(e)
	r.GET("/items/:id", ok)
	e.DELETE("/items/:id", ok)
	e.POST("/items", ok)
	e.GET("/healthz", ok)
	tests := []struct {
		desc, method, target, refuse, want string
	}{
		{"GET", http.MethodGet, "/items/7", "", "getItem"},
		{"HEAD is the GET operation", http.MethodHead, "/items/7", "", "getItem"},
		{"DELETE", http.MethodDelete, "/items/7", "", "deleteItem"},
		{"POST", http.MethodPost, "/items", "", "createItem"},
		{"outside the contract", http.MethodGet, "/healthz", "", ""},
		{"unknown path", http.MethodGet, "/nothing", "", ""},
		{"refused before routing", http.MethodGet, "/items/7", "yes", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			inner, outer = nil, nil
			req := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.refuse != "" {
				req.Header.Set("X-Refuse", tt.refuse)
			}
			e.ServeHTTP(httptest.NewRecorder(), req)
			id := func(op *Operation) string {
				if op == nil {
					return ""
				}
				return op.ID
			}
			if id(outer) != tt.want || (tt.want != "" && inner != outer) {
				t.Fatalf("Current = %q after the chain, %q inside it, want %q", id(outer), id(inner), tt.want)
			}
		})
	}
}
