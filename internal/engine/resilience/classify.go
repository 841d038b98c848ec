package resilience

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// IdempotencyKeyHeader marks a request the upstream deduplicates, so that it may be retried
// whatever its method (IETF httpapi Idempotency-Key draft).
const IdempotencyKeyHeader = "Idempotency-Key"

// Repeatable reports whether req may be sent again after it may have reached the upstream:
// its method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE; RFC 9110 section 9.2.2) or it
// carries an Idempotency-Key.
func Repeatable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get(IdempotencyKeyHeader) != ""
}

// ErrResponseTooLarge is returned when an upstream response body exceeds
// Config.MaxResponseBytes. It is never retried and never counts against the breaker.
var ErrResponseTooLarge = errors.New("upstream response body exceeds maxResponseBytes")

// NotSentError wraps the error of an attempt that never delivered a complete request to the
// upstream (no connection, or the request write failed), so that the upstream cannot have
// acted on it: such an attempt may be retried whatever the method.
type NotSentError struct{ Err error }

// Error returns the cause's text.
func (e *NotSentError) Error() string { return "request not sent: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *NotSentError) Unwrap() error { return e.Err }

// OpenError is returned, instead of the bare circuitbreaker.ErrOpen, when a call is refused
// because the circuit is open; errors.Is(err, circuitbreaker.ErrOpen) holds.
type OpenError struct {
	// Upstream names the upstream whose circuit is open.
	Upstream string
	// RemainingDelay is the time left until the circuit half-opens.
	RemainingDelay time.Duration
}

// Error describes the refusal.
func (e *OpenError) Error() string {
	return fmt.Sprintf("circuit breaker of %s open, half-opens in %s", e.Upstream, e.RemainingDelay)
}

// Unwrap returns circuitbreaker.ErrOpen.
func (e *OpenError) Unwrap() error { return circuitbreaker.ErrOpen }

// RetryAfterSeconds returns the Retry-After value, in whole seconds (at least 1), for a
// client refused by an open circuit: the time until the circuit half-opens, rounded up.
func (e *OpenError) RetryAfterSeconds() int {
	return max(1, int((e.RemainingDelay+time.Second-1)/time.Second))
}

// retryableResponse reports whether an answer from the upstream is worth another attempt:
// 5xx except 501 Not Implemented, and not when its Retry-After is longer than maxRetryAfter.
func retryableResponse(resp *http.Response, maxRetryAfter time.Duration) bool {
	if resp.StatusCode < 500 || resp.StatusCode == http.StatusNotImplemented {
		return false
	}
	d, ok := retryAfter(resp)
	return !ok || d <= maxRetryAfter
}

// retryableError reports whether a failed attempt of a repeatable request is worth another
// attempt: connection failures, resets, cut bodies and attempt timeouts; not an open circuit,
// an oversized body or a caller that went away.
func retryableError(err error) bool {
	switch {
	case errors.Is(err, circuitbreaker.ErrOpen), errors.Is(err, ErrResponseTooLarge),
		errors.Is(err, context.Canceled), errors.Is(err, budget.ErrExceeded), errors.Is(err, bulkhead.ErrFull):
		return false
	}
	return true
}

// breakerFailure reports whether an attempt's outcome counts as a failure of the upstream.
func breakerFailure(resp *http.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, ErrResponseTooLarge) && !errors.Is(err, circuitbreaker.ErrOpen)
	}
	return resp != nil && resp.StatusCode >= 500
}

// retryAfter parses the Retry-After of a 429 or 503 answer (delay-seconds or HTTP-date).
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusTooManyRequests) {
		return 0, false
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// delayFunc returns the wait before the next attempt: the upstream's Retry-After when it
// sent one (retryableResponse already refused those above the cap), else exponential
// backoff with equal jitter, uniform in [d/2, d] with d = min(initial * 2^(retries), max).
func delayFunc(r Retry) failsafe.DelayFunc[*http.Response] {
	return func(exec failsafe.ExecutionAttempt[*http.Response]) time.Duration {
		if d, ok := retryAfter(exec.LastResult()); ok {
			return min(d, r.MaxRetryAfter)
		}
		d := r.InitialBackoff
		for i := 1; i < exec.Attempts() && d < r.MaxBackoff; i++ {
			d *= 2
		}
		d = min(d, r.MaxBackoff)
		return d/2 + rand.N(d/2+1)
	}
}

// neverSent reports whether a failed attempt never delivered its request.
func neverSent(err error) bool {
	if _, ok := errors.AsType[*NotSentError](err); ok {
		return true
	}
	op, ok := errors.AsType[*net.OpError](err)
	return ok && op.Op == "dial"
}

// Outcome classifies a finished call for metrics.
type Outcome string

// The outcomes of a call.
const (
	// OutcomeSuccess: the upstream answered, below 500.
	OutcomeSuccess Outcome = "success"
	// OutcomeError: a 5xx answer, a transport failure or a contract violation.
	OutcomeError Outcome = "error"
	// OutcomeTimeout: the call or its last attempt timed out.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeCircuitOpen: refused by the open circuit.
	OutcomeCircuitOpen Outcome = "circuit_open"
	// OutcomeRejected: refused by the full bulkhead or the spent retry budget.
	OutcomeRejected Outcome = "rejected"
	// OutcomeCanceled: the caller went away.
	OutcomeCanceled Outcome = "canceled"
)

// outcomeOf classifies a call's result.
func outcomeOf(resp *http.Response, err error) Outcome {
	switch {
	case err == nil && resp.StatusCode < 500:
		return OutcomeSuccess
	case err == nil:
		return OutcomeError
	case errors.Is(err, circuitbreaker.ErrOpen):
		return OutcomeCircuitOpen
	case errors.Is(err, bulkhead.ErrFull), errors.Is(err, budget.ErrExceeded):
		return OutcomeRejected
	case errors.Is(err, timeout.ErrExceeded), errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	}
	return OutcomeError
}
