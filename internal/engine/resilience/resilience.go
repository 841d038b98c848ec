// Package resilience builds, once at start-up, the policies that guard every call to one
// upstream, with failsafe-go's builders, and plugs them into an http.RoundTripper
// that runs their executor directly, so that a generated client gets them through its
// http.Client. Outermost first:
//
//	bulkhead -> timeout (whole call) -> retry (backoff, Retry-After, budget)
//	         -> circuit breaker -> attempt timeout -> attempt (body read whole, capped)
//
// The failsafe-go executor runs the retry policy, and each attempt passes the circuit breaker
// (failsafe-go's, breaker.go) inside it. The bulkhead (failsafe-go's) is taken around the
// executor, and the whole-call timeout is the deadline of the context the executor runs in:
// the same order and failures (bulkhead.ErrFull, timeout.ErrExceeded, *OpenError) as
// policies of the executor, without their per-call executors, results and timer
// (transport.go).
//
// A request only adds its context. Which requests may be retried, and how each failure
// counts, is decided in one place (classify.go); Go's own transparent replay of requests is
// switched off so that every resend goes through these policies (transport.go).
package resilience

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// Hooks are callbacks for metrics. Each may be nil; each must be safe for concurrent use
// and quick (they run on the request path).
type Hooks struct {
	// Attempt is called when an attempt is sent: the first (retry false) or a retry.
	// Attempts refused by the open circuit are not sent.
	Attempt func(upstream string, retry bool)
	// Done is called once per call with its outcome and latency (every attempt, the
	// backoffs and the response body included).
	Done func(upstream string, outcome Outcome, latency time.Duration)
	// StateChange is called when the circuit changes state.
	StateChange func(upstream string, from, to State)
}

// Option configures New.
type Option func(*options)

type options struct {
	logger *slog.Logger
	hooks  Hooks
	check  func(*http.Response) error
}

// WithLogger sets the logger of circuit state changes (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHooks sets the metrics callbacks.
func WithHooks(h Hooks) Option { return func(o *options) { o.hooks = h } }

// WithCheck sets a check of every final response (after the retries), such as contract
// validation. A non-nil error replaces the response; the check may read resp.Body and must
// then leave an equivalent body in its place.
func WithCheck(check func(resp *http.Response) error) Option {
	return func(o *options) { o.check = check }
}

// Policy is the set of policies guarding the calls to one upstream, built once. Safe for
// concurrent use.
type Policy struct {
	name    string
	cfg     Config
	breaker *breaker
	// bulkhead bounds the calls in flight; the whole-call timeout starts once it let one in.
	bulkhead bulkhead.Bulkhead[*http.Response]
	// repeatable runs requests that may be sent again (Repeatable); once runs the others,
	// retried only when never sent. Both share the budget and the breaker.
	repeatable, once failsafe.Executor[*http.Response]
	opts             options
	// runs holds the per-call state (run), its executors bound once to its context.
	runs sync.Pool
}

// New builds the policies of the upstream name from cfg, which must be defaulted
// (Config.SetDefaults, which config.Load applies); New validates it.
func New(name string, cfg Config, opts ...Option) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("resilience %s: %w", name, err)
	}
	p := &Policy{name: name, cfg: cfg, opts: options{logger: slog.Default()}}
	for _, o := range opts {
		o(&p.opts)
	}
	p.breaker = newBreaker(name, cfg.CircuitBreaker, p.opts.logger, p.opts.hooks)
	p.bulkhead = bulkhead.NewBuilder[*http.Response](uint(cfg.Bulkhead.MaxConcurrent)).
		WithMaxWaitTime(cfg.Bulkhead.MaxWait).
		Build()
	// The whole-call timeout is the deadline of the executor's context (call.RoundTrip) and
	// the attempt timeout the attempt's own deadline (attempt.send), not policies: the same
	// failures (timeout.ErrExceeded; an attempt's is retried, each counted by the breaker) at
	// a fraction of a policy's per-call cost.
	b := budget.NewBuilder().
		WithMaxRate(cfg.Retry.Budget.MaxRatio).
		WithMinConcurrency(uint(cfg.Retry.Budget.MinConcurrency)).
		Build()
	executor := func(retryable func(*http.Response, error) bool) failsafe.Executor[*http.Response] {
		return failsafe.With[*http.Response](p.retryPolicy(b, retryable))
	}
	maxRetryAfter := cfg.Retry.MaxRetryAfter
	p.repeatable = executor(func(resp *http.Response, err error) bool {
		if err != nil {
			return retryableError(err)
		}
		return retryableResponse(resp, maxRetryAfter)
	})
	p.once = executor(func(_ *http.Response, err error) bool {
		return err != nil && neverSent(err) && retryableError(err)
	})
	p.runs.New = p.newRun
	return p, nil
}

func (p *Policy) retryPolicy(b budget.Budget, retryable func(*http.Response, error) bool) retrypolicy.RetryPolicy[*http.Response] {
	return retrypolicy.NewBuilder[*http.Response]().
		// Never retry into an open circuit (the failure may just have opened it): the
		// attempt would be refused, and the real failure is the better answer.
		HandleIf(func(resp *http.Response, err error) bool {
			return retryable(resp, err) && p.breaker.State() != StateOpen
		}).
		WithMaxAttempts(p.cfg.Retry.MaxAttempts).
		WithDelayFunc(delayFunc(p.cfg.Retry)).
		WithBudget(b).
		// The last answer or error is returned as it is (a 503 stays a 503 for the error
		// mapping), not wrapped in retrypolicy.ExceededError.
		ReturnLastFailure().
		Build()
}

// Name returns the upstream's name.
func (p *Policy) Name() string { return p.name }

// Config returns the policy's configuration, defaults applied.
func (p *Policy) Config() Config { return p.cfg }

// State returns the circuit's state.
func (p *Policy) State() State { return p.breaker.State() }

// RoundTripper returns base (the connection-level transport) wrapped in the policies. Each
// attempt that is sent (not refused by the open circuit) is reported to Hooks.Attempt.
func (p *Policy) RoundTripper(base http.RoundTripper) http.RoundTripper {
	a := &attempt{base: base, maxBytes: p.cfg.MaxResponseBytes, name: p.name, onAttempt: p.opts.hooks.Attempt}
	if p.cfg.AttemptTimeout < p.cfg.Timeout {
		a.timeout = p.cfg.AttemptTimeout
	}
	return &call{policy: p, attempt: a}
}

// discard drains (bounded: bodies are already read whole, capped) and closes a final
// response that will not be used.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, DefaultMaxResponseBytes))
	_ = resp.Body.Close()
}
