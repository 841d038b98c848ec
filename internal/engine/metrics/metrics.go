// Package metrics holds the gateway's Prometheus metrics: RED per operation, upstream calls,
// breaker states, rate-limit decisions, idempotency outcomes and validation failures. Label
// values are bounded: operation ids, upstream names, status classes, error codes and known
// methods, never raw paths, raw methods or user ids. As a guard against a caller passing raw
// input by mistake, every label keeps at most MaxLabelValues distinct values of at most
// MaxLabelLength bytes of valid UTF-8; any other value is recorded as OtherValue. Safe for concurrent use.
package metrics

import (
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Namespace prefixes every metric name.
const Namespace = "contractgate"

// DurationBuckets suit a gateway: 0.5 ms to 10 s.
var DurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Label guard bounds.
const (
	// MaxLabelValues is the most distinct values one label of one metric takes.
	MaxLabelValues = 256
	// MaxLabelLength is the longest label value kept, in bytes.
	MaxLabelLength = 128
	// OtherValue replaces a label value past either bound.
	OtherValue = "other"
)

// labelGuard admits up to MaxLabelValues distinct values of at most MaxLabelLength bytes of
// valid UTF-8 for one label of one metric; others become OtherValue.
type labelGuard struct {
	mu   sync.RWMutex
	seen map[string]struct{}
}

func (g *labelGuard) value(v string) string {
	if len(v) > MaxLabelLength || !utf8.ValidString(v) { // invalid UTF-8 would panic in client_golang
		return OtherValue
	}
	g.mu.RLock()
	_, ok := g.seen[v]
	g.mu.RUnlock()
	if ok {
		return v
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.seen[v]; ok {
		return v
	}
	if len(g.seen) >= MaxLabelValues {
		return OtherValue
	}
	if g.seen == nil {
		g.seen = map[string]struct{}{}
	}
	g.seen[v] = struct{}{}
	return v
}

// guards holds one labelGuard per metric and label name.
type guards struct {
	mu sync.Mutex
	m  map[[2]string]*labelGuard
}

func (gs *guards) get(metric, label string) *labelGuard {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	k := [2]string{metric, label}
	g := gs.m[k]
	if g == nil {
		if gs.m == nil {
			gs.m = map[[2]string]*labelGuard{}
		}
		g = &labelGuard{}
		gs.m[k] = g
	}
	return g
}

// guardedCounter, guardedHistogram and guardedGauge pass every label value through its
// label's guard, and keep the metric of each tuple of label values they have seen (handles).
// Their with methods are spelled out per type: one generic over an interface of
// WithLabelValues would move every call's label values to the heap.
type guardedCounter struct {
	vec     *prometheus.CounterVec
	labels  []*labelGuard
	handles *handles[prometheus.Counter]
}

func (c guardedCounter) with(values ...string) prometheus.Counter {
	k, keyed := tuple(values)
	if m, ok := c.handles.load(k, keyed); ok {
		return m
	}
	guarded := guard(c.labels, values)
	m := c.vec.WithLabelValues(guarded...)
	c.handles.store(k, keyed && kept(k, guarded), m)
	return m
}

type guardedHistogram struct {
	vec     *prometheus.HistogramVec
	labels  []*labelGuard
	handles *handles[prometheus.Observer]
}

func (h guardedHistogram) with(values ...string) prometheus.Observer {
	k, keyed := tuple(values)
	if m, ok := h.handles.load(k, keyed); ok {
		return m
	}
	guarded := guard(h.labels, values)
	m := h.vec.WithLabelValues(guarded...)
	h.handles.store(k, keyed && kept(k, guarded), m)
	return m
}

type guardedGauge struct {
	vec     *prometheus.GaugeVec
	labels  []*labelGuard
	handles *handles[prometheus.Gauge]
}

func (g guardedGauge) with(values ...string) prometheus.Gauge {
	k, keyed := tuple(values)
	if m, ok := g.handles.load(k, keyed); ok {
		return m
	}
	guarded := guard(g.labels, values)
	m := g.vec.WithLabelValues(guarded...)
	g.handles.store(k, keyed && kept(k, guarded), m)
	return m
}

// guard replaces values, in place, by what their labels' guards make of them, and returns
// them.
func guard(labels []*labelGuard, values []string) []string {
	for i, v := range values {
		values[i] = labels[i].value(v)
	}
	return values
}

// maxHandles bounds the tuples of label values a metric keeps the handle of; others take
// the guard and client_golang's lookup every time.
const maxHandles = 4096

// handles keeps the metric client_golang returns for each tuple of (up to three) label
// values the guard admits as they are, as client_golang's documentation advises for hot
// paths: such a tuple seen before costs one map lookup under a read lock, instead of a guard
// lookup per label and client_golang's hashing, validation and lookup of the values. Series
// are never deleted, so a kept handle stays the registered one.
type handles[M any] struct {
	mu sync.RWMutex
	m  map[[3]string]M
}

func newHandles[M any]() *handles[M] { return &handles[M]{m: map[[3]string]M{}} }

// kept reports whether the guard left every value of the tuple k as it was (guarded holds
// what it made of them): only such tuples are kept, so that values the guard cut or replaced,
// raw input passed by mistake, neither stay in memory nor fill the handles of real tuples.
func kept(k [3]string, guarded []string) bool {
	for i, v := range guarded {
		if k[i] != v {
			return false
		}
	}
	return true
}

// tuple is values as a key of handles; false for more than three values.
func tuple(values []string) ([3]string, bool) {
	var k [3]string
	if len(values) > len(k) {
		return k, false
	}
	copy(k[:], values)
	return k, true
}

func (h *handles[M]) load(k [3]string, keyed bool) (M, bool) {
	if !keyed {
		var zero M
		return zero, false
	}
	h.mu.RLock()
	m, ok := h.m[k]
	h.mu.RUnlock()
	return m, ok
}

func (h *handles[M]) store(k [3]string, keep bool, m M) {
	if !keep {
		return
	}
	h.mu.Lock()
	if len(h.m) < maxHandles {
		h.m[k] = m
	}
	h.mu.Unlock()
}

func (gs *guards) counter(opts prometheus.CounterOpts, labels ...string) guardedCounter {
	return guardedCounter{vec: prometheus.NewCounterVec(opts, labels), labels: gs.all(opts.Name, labels), handles: newHandles[prometheus.Counter]()}
}

func (gs *guards) histogram(opts prometheus.HistogramOpts, labels ...string) guardedHistogram {
	return guardedHistogram{vec: prometheus.NewHistogramVec(opts, labels), labels: gs.all(opts.Name, labels), handles: newHandles[prometheus.Observer]()}
}

func (gs *guards) gauge(opts prometheus.GaugeOpts, labels ...string) guardedGauge {
	return guardedGauge{vec: prometheus.NewGaugeVec(opts, labels), labels: gs.all(opts.Name, labels), handles: newHandles[prometheus.Gauge]()}
}

func (gs *guards) all(metric string, labels []string) []*labelGuard {
	out := make([]*labelGuard, len(labels))
	for i, l := range labels {
		out[i] = gs.get(metric, l)
	}
	return out
}

// Metrics is the gateway's metric set on its own registry.
type Metrics struct {
	reg *prometheus.Registry

	requests         guardedCounter
	duration         guardedHistogram
	inFlight         prometheus.Gauge
	inFlightDone     func() // inFlight.Dec, bound once: RequestStarted allocates nothing
	errors           guardedCounter
	upstreamCalls    guardedCounter
	upstreamAttempts guardedCounter
	upstreamDuration guardedHistogram
	breakerState     guardedGauge
	rateLimit        guardedCounter
	rateLimitFallbck prometheus.Counter
	idempotency      guardedCounter
	authFailures     guardedCounter
	cacheBytes       guardedGauge
}

// New registers the metric set, plus the Go runtime and process collectors, on a fresh
// registry.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	var g guards
	m.requests = g.counter(prometheus.CounterOpts{Namespace: Namespace, Name: "requests_total",
		Help: "Requests answered, by operation id, method and status class."}, "operation", "method", "status")
	m.duration = g.histogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "request_duration_seconds",
		Help: "Time to answer a request, by operation id, method and status class.", Buckets: DurationBuckets}, "operation", "method", "status")
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "requests_in_flight",
		Help: "Requests being handled."})
	m.inFlightDone = m.inFlight.Dec
	m.errors = g.counter(prometheus.CounterOpts{Namespace: Namespace, Name: "errors_total",
		Help: "Error responses, by operation id and error code (VALIDATION_FAILED, UPSTREAM_TIMEOUT, ...)."}, "operation", "code")
	m.upstreamCalls = g.counter(prometheus.CounterOpts{Namespace: Namespace, Name: "upstream_calls_total",
		Help: "Upstream calls, by upstream and outcome (success, error, timeout, circuit_open, rejected, canceled)."}, "upstream", "outcome")
	m.upstreamAttempts = g.counter(prometheus.CounterOpts{Namespace: Namespace, Name: "upstream_attempts_total",
		Help: "Upstream attempts (first tries and retries), by upstream and kind (first, retry)."}, "upstream", "kind")
	m.upstreamDuration = g.histogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "upstream_duration_seconds",
		Help: "Upstream call latency, retries included, by upstream.", Buckets: DurationBuckets}, "upstream")
	m.breakerState = g.gauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "circuit_breaker_state",
		Help: "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open."}, "upstream")
	m.rateLimit = g.counter(prometheus.CounterOpts{Namespace: Namespace, Name: "ratelimit_decisions_total",
		Help: "Rate-limit decisions, by policy and decision (allowed, limited)."}, "policy", "decision")
	m.rateLimitFallbck = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "ratelimit_store_fallbacks_total",
		Help: "Rate-limit decisions taken by the local limiter because the shared store was unavailable."})
	m.idempotency = g.counter(prometheus.CounterOpts{Namespace: Namespace, Name: "idempotency_outcomes_total",
		Help: "Idempotency-Key outcomes, by operation id and outcome (stored, released, replayed, in_flight, reused, lease_expired, full, store_error)."}, "operation", "outcome")
	m.authFailures = g.counter(prometheus.CounterOpts{Namespace: Namespace, Name: "auth_failures_total",
		Help: "Requests refused authentication, by reason (missing, query_credentials, malformed, invalid_signature, expired, invalid_claims, unknown_key, ambiguous, insufficient_scope)."}, "reason")
	m.cacheBytes = g.gauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "cache_bytes",
		Help: "Bytes held by the answer cache of x-cache operations (bounded by cache.maxBytes)."})
	m.cacheBytes.with().Set(0)
	// The names are constants: registration cannot clash.
	m.reg.MustRegister(m.requests.vec, m.duration.vec, m.inFlight, m.errors.vec, m.upstreamCalls.vec, m.upstreamAttempts.vec,
		m.upstreamDuration.vec, m.breakerState.vec, m.rateLimit.vec, m.rateLimitFallbck, m.idempotency.vec, m.authFailures.vec,
		m.cacheBytes.vec, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// StatusClass returns "2xx" for 204 and so on.
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return statusClasses[status/100-1]
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// RequestStarted counts a request in flight; call the returned function when it is answered.
func (m *Metrics) RequestStarted() func() {
	m.inFlight.Inc()
	return m.inFlightDone
}

// Request records an answered request. code is the error code, or "" on success. method is
// recorded as routes.Method has it (unknown methods: OTHER).
func (m *Metrics) Request(operation, method string, status int, code string, d time.Duration) {
	class := StatusClass(status)
	method = routes.Method(method)
	m.requests.with(operation, method, class).Inc()
	m.duration.with(operation, method, class).Observe(d.Seconds())
	if code != "" {
		m.errors.with(operation, code).Inc()
	}
}

// UpstreamCall records one upstream call (all its attempts) and its outcome.
func (m *Metrics) UpstreamCall(upstream, outcome string, d time.Duration) {
	m.upstreamCalls.with(upstream, outcome).Inc()
	m.upstreamDuration.with(upstream).Observe(d.Seconds())
}

// UpstreamAttempt records one attempt; retry is false for the first.
func (m *Metrics) UpstreamAttempt(upstream string, retry bool) {
	kind := "first"
	if retry {
		kind = "retry"
	}
	m.upstreamAttempts.with(upstream, kind).Inc()
}

// Breaker states as gauge values.
const (
	BreakerClosed   = 0
	BreakerHalfOpen = 1
	BreakerOpen     = 2
)

// BreakerState sets an upstream's circuit breaker state (BreakerClosed, ...).
func (m *Metrics) BreakerState(upstream string, state float64) {
	m.breakerState.with(upstream).Set(state)
}

// RateLimitDecision records one rate-limit decision.
func (m *Metrics) RateLimitDecision(policy string, allowed bool) {
	d := "limited"
	if allowed {
		d = "allowed"
	}
	m.rateLimit.with(policy, d).Inc()
}

// RateLimitFallback records a decision taken locally because the shared store was down.
func (m *Metrics) RateLimitFallback() { m.rateLimitFallbck.Inc() }

// Idempotency records an Idempotency-Key outcome: stored, released, replayed, in_flight, full,
// reused, lease_expired or store_error.
func (m *Metrics) Idempotency(operation, outcome string) {
	m.idempotency.with(operation, outcome).Inc()
}

// AuthFailure records a request refused authentication. reason must come from a fixed set
// (auth.Reasons), never from the request.
func (m *Metrics) AuthFailure(reason string) { m.authFailures.with(reason).Inc() }

// CacheBytes sets the bytes held by the answer cache.
func (m *Metrics) CacheBytes(bytes int64) { m.cacheBytes.with().Set(float64(bytes)) }

// Connections registers the listener's connection metrics: connections_open and
// connections_idle (read from open and idle at scrape time), connections_refused_total and idle_connections_closed_total by reason
// (limit, client_limit, pressure). It returns the two recorders. Call it once.
func (m *Metrics) Connections(open, idle func() int) (refused, idleClosed func(reason string)) {
	refusedVec := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "connections_refused_total",
		Help: "New connections closed at once, by reason (limit: the listener is full with nothing idle; client_limit: the client address holds its cap)."}, []string{"reason"})
	idleVec := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "idle_connections_closed_total",
		Help: "Idle keep-alive connections closed to make room, by reason (limit: the listener was full; pressure: idle too long above the high-water mark)."}, []string{"reason"})
	openGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "connections_open",
		Help: "Open client connections of the public listener."}, func() float64 { return float64(open()) })
	idleGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "connections_idle",
		Help: "Idle keep-alive client connections of the public listener."}, func() float64 { return float64(idle()) })
	m.reg.MustRegister(refusedVec, idleVec, openGauge, idleGauge)
	return func(r string) { refusedVec.WithLabelValues(r).Inc() }, func(r string) { idleVec.WithLabelValues(r).Inc() }
}
