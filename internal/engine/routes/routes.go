// Package routes indexes the contract's operations by the Echo route that serves them, once
// at start-up, so that per-operation policies (validation, auth, rate limits, idempotency)
// find their operation from Echo's own route match: no second router per request.
package routes

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// Operation is one operation of the contract.
type Operation struct {
	// ID is the operationId.
	ID string
	// Method is the HTTP method, upper case.
	Method string
	// Path is the OpenAPI path template, e.g. /v1/products/{productId}.
	Path string
	// Route is the Echo route template, e.g. /v1/products/:productId.
	Route string
	// PathItem and Op are the contract's definitions (resolved by kin-openapi).
	PathItem *openapi3.PathItem
	Op       *openapi3.Operation
	// Pointer is the JSON pointer of the operation in the contract, e.g.
	// /paths/~1v1~1products/get.
	Pointer string
	// Security is the operation's effective security requirements: its own, else the
	// document's. Empty means public. Alternatives are ORed, schemes within one ANDed.
	Security openapi3.SecurityRequirements
	// Extensions are the operation's x- extensions (e.g. x-ratelimit), as decoded by kin.
	Extensions map[string]any
	// Index is the operation's position in Table.All (0..n-1): policies may keep their
	// per-operation settings, resolved at start-up, in a slice indexed by it.
	Index int
}

type key struct{ method, route string }

// Table maps Echo routes to operations. Read-only after New; safe for concurrent use.
type Table struct {
	ops map[key]*Operation
	all []*Operation
	doc *openapi3.T
}

// New indexes every operation of doc. Every operation must have an operationId.
func New(doc *openapi3.T) (*Table, error) {
	t := &Table{ops: map[key]*Operation{}, doc: doc}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			if op.OperationID == "" {
				return nil, fmt.Errorf("routes: %s %s has no operationId", method, p)
			}
			o := &Operation{
				ID:         op.OperationID,
				Method:     method,
				Path:       p,
				Route:      EchoRoute(p),
				PathItem:   item,
				Op:         op,
				Pointer:    "/paths/" + escapePointer(p) + "/" + strings.ToLower(method),
				Security:   doc.Security,
				Extensions: op.Extensions,
				Index:      len(t.all),
			}
			if op.Security != nil {
				o.Security = *op.Security
			}
			t.ops[key{method, o.Route}] = o
			t.all = append(t.all, o)
		}
	}
	return t, nil
}

// Match returns the middleware that resolves the request's operation, once, right after
// Echo's route match: every per-operation policy after it reads Current. Register it first
// with e.Use (e.Pre runs before routing, when there is nothing to match yet). Safe for
// concurrent use.
func (t *Table) Match() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if op := t.Find(req.Method, c.Path()); op != nil {
				if info := correlation.FromContext(req.Context()); info != nil {
					info.Operation = op // the request's record: no allocation
				} else {
					c.Set(currentKey, op) // without correlation (tests of one middleware)
				}
			}
			return next(c)
		}
	}
}

// currentKey is where Match keeps the operation in the echo.Context's store when the request
// carries no correlation.Info (Echo's store takes string keys; the prefix keeps it apart).
const currentKey = "contractgate/routes.operation"

// Current returns the operation Match resolved for c, or nil: a route outside the contract
// (operator endpoints), no route (404, 405), or a request refused before routing. A HEAD
// request on a route the contract declares only GET for is the GET operation (see Find).
// Middleware registered with e.Pre may call it once next has returned.
func Current(c echo.Context) *Operation {
	if info := correlation.FromContext(c.Request().Context()); info != nil {
		if op, ok := info.Operation.(*Operation); ok {
			return op
		}
	}
	op, _ := c.Get(currentKey).(*Operation)
	return op
}

// Find returns the operation for a method and Echo route template, or nil (start-up and
// tests; per request, Match resolves it once and policies read Current). HEAD finds the
// GET operation unless the contract declares a HEAD operation of its own (RFC 9110 section
// 9.3.2: HEAD is GET without the body, so it runs the GET operation's policies: auth, rate
// limit, validation, cache).
func (t *Table) Find(method, route string) *Operation {
	if op := t.ops[key{method, route}]; op != nil || method != http.MethodHead {
		return op
	}
	return t.ops[key{http.MethodGet, route}]
}

// HeadRouter registers every GET route for HEAD as well, with the same handler and
// middleware: RFC 9110 requires HEAD wherever GET is served. net/http sends the GET answer's
// status and headers (Content-Length included) without the body. A route registered with
// HEAD explicitly keeps its own handler. Use it only while registering routes.
type HeadRouter struct {
	*echo.Echo
}

// WithHead returns a router that registers HEAD along with every GET route on e.
func WithHead(e *echo.Echo) *HeadRouter { return &HeadRouter{Echo: e} }

// GET registers path for GET and, unless HEAD is already registered for it, for HEAD.
func (r *HeadRouter) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	if !r.has(http.MethodHead, path) {
		r.Echo.HEAD(path, h, m...)
	}
	return r.Echo.GET(path, h, m...)
}

func (r *HeadRouter) has(method, path string) bool {
	for _, rt := range r.Echo.Routes() {
		if rt.Method == method && rt.Path == path {
			return true
		}
	}
	return false
}

// Doc returns the contract the table was built from (for its security schemes).
func (t *Table) Doc() *openapi3.T { return t.doc }

// All returns every operation, sorted by path then method.
func (t *Table) All() []*Operation { return t.all }

// EchoRoute converts an OpenAPI path template to Echo's: {id} becomes :id.
func EchoRoute(path string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			b.WriteString(path)
			return b.String()
		}
		b.WriteString(path[:i])
		b.WriteByte(':')
		b.WriteString(path[i+1 : i+j])
		path = path[i+j+1:]
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
