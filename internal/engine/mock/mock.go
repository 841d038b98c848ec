// Package mock answers an upstream's operations from the examples in its contract, so that
// client teams can build against the gateway before a backend exists (upstreams.<name>.mock).
package mock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// answer is one operation's canned response.
type answer struct {
	status int
	body   []byte
}

// Handler serves a contract's operations from their examples. Safe for concurrent use.
type Handler struct {
	router  routers.Router
	answers map[*openapi3.Operation]answer
}

// New validates the contract (examples included) and prepares, for every operation, the
// example of its first declared 2xx JSON response. An operation without one is an error
// naming it: mock mode needs examples.
func New(doc *openapi3.T) (*Handler, error) {
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("mock: the contract is invalid: %w", err)
	}
	clone := *doc
	clone.Servers = nil // answer whatever host the client was configured with
	router, err := gorillamux.NewRouter(&clone)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	h := &Handler{router: router, answers: map[*openapi3.Operation]answer{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			a, err := exampleAnswer(op)
			if err != nil {
				return nil, fmt.Errorf("mock: %s %s (%s): %w", method, path, op.OperationID, err)
			}
			h.answers[op] = a
		}
	}
	return h, nil
}

func exampleAnswer(op *openapi3.Operation) (answer, error) {
	codes := make([]int, 0)
	for code := range op.Responses.Map() {
		if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 {
			codes = append(codes, n)
		}
	}
	sort.Ints(codes)
	for _, code := range codes {
		r := op.Responses.Status(code)
		if r == nil || r.Value == nil {
			continue
		}
		mt := r.Value.Content.Get("application/json")
		if mt == nil {
			continue
		}
		ex := mt.Example
		if ex == nil {
			for _, name := range sortedKeys(mt.Examples) {
				if e := mt.Examples[name]; e != nil && e.Value != nil {
					ex = e.Value.Value
					break
				}
			}
		}
		if ex == nil && mt.Schema != nil && mt.Schema.Value != nil {
			ex = mt.Schema.Value.Example
		}
		if ex == nil {
			continue
		}
		body, err := json.Marshal(ex)
		if err != nil {
			return answer{}, err
		}
		return answer{status: code, body: body}, nil
	}
	return answer{}, fmt.Errorf("no 2xx application/json response with an example")
}

func sortedKeys(m openapi3.Examples) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ServeHTTP answers with the matched operation's example, or 404/405 in the upstream error
// shape {code, message}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, _, err := h.router.FindRoute(r)
	if err != nil {
		status, code := http.StatusNotFound, "NOT_FOUND"
		if err == routers.ErrMethodNotAllowed {
			status, code = http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"code":%q,"message":"mock: no such operation"}`, code)
		return
	}
	a := h.answers[route.Operation]
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// Transport returns an http.RoundTripper that answers in process, without a network.
func (h *Handler) Transport() http.RoundTripper { return transport{h} }

type transport struct{ h http.Handler }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer func() { _ = req.Body.Close() }()
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	return res, nil
}
