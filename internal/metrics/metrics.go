// Package metrics holds the gateway's Prometheus metrics: RED per operation, upstream calls,
// breaker states, rate-limit decisions, idempotency outcomes and validation failures. Label
// values are bounded: operation ids, upstream names, status classes and error codes, never
// raw paths or user ids. Safe for concurrent use.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "contractgate"

// DurationBuckets suit a gateway: 0.5 ms to 10 s.
var DurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is the gateway's metric set on its own registry.
type Metrics struct {
	reg *prometheus.Registry

	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	inFlight         prometheus.Gauge
	errors           *prometheus.CounterVec
	upstreamCalls    *prometheus.CounterVec
	upstreamAttempts *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	breakerState     *prometheus.GaugeVec
	rateLimit        *prometheus.CounterVec
	rateLimitFallbck prometheus.Counter
	idempotency      *prometheus.CounterVec
}

// New registers the metric set, plus the Go runtime and process collectors, on a fresh
// registry.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "requests_total",
		Help: "Requests answered, by operation id, method and status class."}, []string{"operation", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "request_duration_seconds",
		Help: "Time to answer a request, by operation id, method and status class.", Buckets: DurationBuckets}, []string{"operation", "method", "status"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "requests_in_flight",
		Help: "Requests being handled."})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "errors_total",
		Help: "Error responses, by operation id and error code (VALIDATION_FAILED, UPSTREAM_TIMEOUT, ...)."}, []string{"operation", "code"})
	m.upstreamCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "upstream_calls_total",
		Help: "Upstream calls, by upstream and outcome (success, error, timeout, circuit_open, rejected, canceled)."}, []string{"upstream", "outcome"})
	m.upstreamAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "upstream_attempts_total",
		Help: "Upstream attempts (first tries and retries), by upstream and kind (first, retry)."}, []string{"upstream", "kind"})
	m.upstreamDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "upstream_duration_seconds",
		Help: "Upstream call latency, retries included, by upstream.", Buckets: DurationBuckets}, []string{"upstream"})
	m.breakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "circuit_breaker_state",
		Help: "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open."}, []string{"upstream"})
	m.rateLimit = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "ratelimit_decisions_total",
		Help: "Rate-limit decisions, by policy and decision (allowed, limited)."}, []string{"policy", "decision"})
	m.rateLimitFallbck = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "ratelimit_store_fallbacks_total",
		Help: "Rate-limit decisions taken by the local limiter because the shared store was unavailable."})
	m.idempotency = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "idempotency_outcomes_total",
		Help: "Idempotency-Key outcomes, by operation id and outcome (stored, released, replayed, in_flight, reused, lease_expired, store_error)."}, []string{"operation", "outcome"})
	// The names are constants: registration cannot clash.
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.errors, m.upstreamCalls, m.upstreamAttempts,
		m.upstreamDuration, m.breakerState, m.rateLimit, m.rateLimitFallbck, m.idempotency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
	return strconv.Itoa(status/100) + "xx"
}

// RequestStarted counts a request in flight; call the returned function when it is answered.
func (m *Metrics) RequestStarted() func() {
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// Request records an answered request. code is the error code, or "" on success.
func (m *Metrics) Request(operation, method string, status int, code string, d time.Duration) {
	class := StatusClass(status)
	m.requests.WithLabelValues(operation, method, class).Inc()
	m.duration.WithLabelValues(operation, method, class).Observe(d.Seconds())
	if code != "" {
		m.errors.WithLabelValues(operation, code).Inc()
	}
}

// UpstreamCall records one upstream call (all its attempts) and its outcome.
func (m *Metrics) UpstreamCall(upstream, outcome string, d time.Duration) {
	m.upstreamCalls.WithLabelValues(upstream, outcome).Inc()
	m.upstreamDuration.WithLabelValues(upstream).Observe(d.Seconds())
}

// UpstreamAttempt records one attempt; retry is false for the first.
func (m *Metrics) UpstreamAttempt(upstream string, retry bool) {
	kind := "first"
	if retry {
		kind = "retry"
	}
	m.upstreamAttempts.WithLabelValues(upstream, kind).Inc()
}

// Breaker states as gauge values.
const (
	BreakerClosed   = 0
	BreakerHalfOpen = 1
	BreakerOpen     = 2
)

// BreakerState sets an upstream's circuit breaker state (BreakerClosed, ...).
func (m *Metrics) BreakerState(upstream string, state float64) {
	m.breakerState.WithLabelValues(upstream).Set(state)
}

// RateLimitDecision records one rate-limit decision.
func (m *Metrics) RateLimitDecision(policy string, allowed bool) {
	d := "limited"
	if allowed {
		d = "allowed"
	}
	m.rateLimit.WithLabelValues(policy, d).Inc()
}

// RateLimitFallback records a decision taken locally because the shared store was down.
func (m *Metrics) RateLimitFallback() { m.rateLimitFallbck.Inc() }

// Idempotency records an Idempotency-Key outcome: stored, released, replayed, in_flight,
// reused, lease_expired or store_error.
func (m *Metrics) Idempotency(operation, outcome string) {
	m.idempotency.WithLabelValues(operation, outcome).Inc()
}

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
