package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Fault is one fault-injection rule. Its JSON form is
// {"route":"/products","latency":"250ms","errorRate":0.5,"hang":false,"reset":false}.
type Fault struct {
	// Route is a URL path prefix the rule applies to, matched on whole segments
	// ("/products" matches "/products" and "/products/prd_0001"); empty means every route.
	Route string
	// Latency is added before the request is answered (or faulted).
	Latency time.Duration
	// ErrorRate is the probability, 0..1, of answering 500 {"code":"INTERNAL","message":"injected fault"};
	// 1 always fails.
	ErrorRate float64
	// Hang never answers: the request is held until the client goes away.
	Hang bool
	// Reset hijacks the connection and closes it without answering.
	Reset bool
}

// faultJSON is the wire form of a Fault: Latency as a Go duration string.
type faultJSON struct {
	Route     string  `json:"route,omitempty"`
	Latency   string  `json:"latency"`
	ErrorRate float64 `json:"errorRate"`
	Hang      bool    `json:"hang"`
	Reset     bool    `json:"reset"`
}

// MarshalJSON encodes the rule with its latency as a duration string such as "250ms".
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{Route: f.Route, Latency: f.Latency.String(), ErrorRate: f.ErrorRate, Hang: f.Hang, Reset: f.Reset})
}

// UnmarshalJSON decodes the rule, rejecting unknown members; latency is a duration string
// such as "250ms" (empty means none).
func (f *Fault) UnmarshalJSON(b []byte) error {
	var w faultJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	var d time.Duration
	if w.Latency != "" {
		var err error
		if d, err = time.ParseDuration(w.Latency); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	*f = Fault{Route: w.Route, Latency: d, ErrorRate: w.ErrorRate, Hang: w.Hang, Reset: w.Reset}
	return nil
}

// Validate reports whether the rule's values are in range.
func (f Fault) Validate() error {
	switch {
	case f.Route != "" && !strings.HasPrefix(f.Route, "/"):
		return errors.New(`route must start with "/"`)
	case f.Latency < 0:
		return errors.New("latency must not be negative")
	case f.ErrorRate < 0 || f.ErrorRate > 1 || math.IsNaN(f.ErrorRate):
		return errors.New("errorRate must be between 0 and 1")
	}
	return nil
}

// isZero reports whether the rule injects nothing.
func (f Fault) isZero() bool {
	return f.Latency == 0 && f.ErrorRate == 0 && !f.Hang && !f.Reset
}

// matches reports whether the rule's route covers the URL path p.
func (f Fault) matches(p string) bool {
	r := strings.TrimSuffix(f.Route, "/")
	return r == "" || p == r || strings.HasPrefix(p, r+"/")
}

// Stats counts the requests a demo service received.
type Stats struct {
	// Total counts every request, including those for unknown routes.
	Total int64 `json:"total"`
	// Routes counts the requests per matched route, keyed "METHOD /path/:param",
	// e.g. "GET /products/:productId"; faulted requests are counted too.
	Routes map[string]int64 `json:"routes"`
}

// Faults holds the fault-injection rules and the request counters of one demo service.
// It is safe for concurrent use; the zero value is not, use NewFaults.
type Faults struct {
	mu     sync.Mutex
	rules  map[string]Fault // by Route
	total  int64
	routes map[string]int64

	releaseOnce sync.Once
	released    chan struct{}
}

// NewFaults returns a Faults with no rules and zero counters.
func NewFaults() *Faults {
	return &Faults{rules: map[string]Fault{}, routes: map[string]int64{}, released: make(chan struct{})}
}

// Set validates the rule and stores it, replacing any rule for the same route;
// a rule that injects nothing removes the route's rule.
func (f *Faults) Set(rule Fault) error {
	if err := rule.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rule.isZero() {
		delete(f.rules, rule.Route)
	} else {
		f.rules[rule.Route] = rule
	}
	return nil
}

// Clear removes every rule.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.rules)
}

// Rules returns the current rules sorted by route (the global rule, if any, first).
func (f *Faults) Rules() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Fault, 0, len(f.rules))
	for _, r := range f.rules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}

// For returns the rule that applies to the URL path p: the one with the longest matching
// route, else the global one; ok is false when none applies.
func (f *Faults) For(p string) (rule Fault, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.matches(p) && (!ok || len(r.Route) > len(rule.Route)) {
			rule, ok = r, true
		}
	}
	return rule, ok
}

// Stats returns a snapshot of the request counters.
func (f *Faults) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Stats{Total: f.total, Routes: make(map[string]int64, len(f.routes))}
	for k, v := range f.routes {
		s.Routes[k] = v
	}
	return s
}

// ResetStats sets every request counter back to zero.
func (f *Faults) ResetStats() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.total = 0
	clear(f.routes)
}

// count records one request; route is "" for unknown routes.
func (f *Faults) count(route string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.total++
	if route != "" {
		f.routes[route]++
	}
}

// releaseHung makes every hanging request (now and later) give up by resetting its
// connection, so that a graceful shutdown does not wait for them.
func (f *Faults) releaseHung() {
	f.releaseOnce.Do(func() { close(f.released) })
}

// Middleware returns the Echo middleware that counts each request and applies the rule
// that covers its path. Requests for unknown routes are counted in the total only and
// are never faulted.
func (f *Faults) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route := matchedRoute(c)
			f.count(route)
			if route == "" {
				return next(c)
			}
			rule, ok := f.For(req.URL.Path)
			if !ok {
				return next(c)
			}
			ctx := req.Context()
			if rule.Latency > 0 {
				t := time.NewTimer(rule.Latency)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil // the client is gone; nobody reads an answer
				case <-f.released:
					t.Stop()
					return resetConn(c)
				}
			}
			switch {
			case rule.Hang:
				// Read the body first: net/http notices that the client went away (and
				// cancels ctx) only once the request body has been read to its end.
				_, _ = io.Copy(io.Discard, c.Request().Body)
				select {
				case <-ctx.Done():
					return nil
				case <-f.released:
					return resetConn(c)
				}
			case rule.Reset:
				return resetConn(c)
			case rule.ErrorRate > 0 && rand.Float64() < rule.ErrorRate:
				return writeError(c.Response(), http.StatusInternalServerError, "INTERNAL", "injected fault")
			}
			return next(c)
		}
	}
}

// matchedRoute returns "METHOD /pattern" of the registered route the request matched, or "".
func matchedRoute(c echo.Context) string {
	p, m := c.Path(), c.Request().Method
	if p == "" {
		return ""
	}
	for _, r := range c.Echo().Routes() {
		if r.Path == p && r.Method == m {
			return m + " " + p
		}
	}
	return ""
}

// resetConn closes the request's connection without answering: hijacked and closed with
// SO_LINGER 0 (a TCP RST) where possible, else by aborting the handler.
func resetConn(c echo.Context) error {
	conn, _, err := c.Response().Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // e.g. HTTP/2: net/http resets the stream
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	return nil
}

// AdminHandler returns the fault-injection admin API, to be served on its own port:
//
//	GET    /faults   the current rules: {"faults":[...]}
//	PUT    /faults   set one rule, e.g. {"latency":"250ms","errorRate":0.5,"route":"/products"}
//	DELETE /faults   remove every rule
//	GET    /stats    the request counters: {"total":3,"routes":{"GET /products":3}}
//	DELETE /stats    zero the request counters
//	GET    /healthz  {"status":"ok"}
func (f *Faults) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		_ = writeJSON(w, http.StatusOK, map[string][]Fault{"faults": f.Rules()})
	})
	mux.HandleFunc("PUT /faults", func(w http.ResponseWriter, r *http.Request) {
		var rule Fault
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rule); err != nil {
			_ = writeError(w, http.StatusBadRequest, "BAD_REQUEST", "invalid fault: "+err.Error())
			return
		}
		if err := f.Set(rule); err != nil {
			_ = writeError(w, http.StatusBadRequest, "BAD_REQUEST", "invalid fault: "+err.Error())
			return
		}
		slog.Info("demo fault set", "route", rule.Route, "latency", rule.Latency, "errorRate", rule.ErrorRate, "hang", rule.Hang, "reset", rule.Reset)
		_ = writeJSON(w, http.StatusOK, map[string][]Fault{"faults": f.Rules()})
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, _ *http.Request) {
		f.Clear()
		slog.Info("demo faults cleared")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = writeJSON(w, http.StatusOK, f.Stats())
	})
	mux.HandleFunc("DELETE /stats", func(w http.ResponseWriter, _ *http.Request) {
		f.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_ = writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/faults", "/stats", "/healthz":
			_ = writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method not allowed")
		default:
			_ = writeError(w, http.StatusNotFound, "NOT_FOUND", "route not found")
		}
	})
	return mux
}
