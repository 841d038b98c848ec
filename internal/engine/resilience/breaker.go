package resilience

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
)

// State is a circuit breaker state as /readyz reports it.
type State string

// The circuit states.
const (
	StateClosed   State = "closed"
	StateOpen     State = "open"
	StateHalfOpen State = "half-open"
)

func stateOf(s circuitbreaker.State) State {
	switch s {
	case circuitbreaker.OpenState:
		return StateOpen
	case circuitbreaker.HalfOpenState:
		return StateHalfOpen
	}
	return StateClosed
}

// breaker is the circuit breaker step of every attempt, around a failsafe-go circuit breaker.
// The breaker itself (time-windowed failure rate, open delay, half-open trials, state
// listeners) is failsafe-go's; each attempt the executor's retry policy runs passes it
// (run.attemptOnce: acquire, then record), as an innermost policy of the executor would, and
// it adds what failsafe-go's stock breaker policy lacks:
//
//   - a second trigger: FailureThreshold consecutive failures open the circuit whatever the
//     failure rate (failsafe-go counts one kind of threshold per breaker);
//   - a caller that went away is not an outcome: it is recorded neither as a failure nor,
//     in the closed state, as a success. failsafe-go can only release a half-open trial
//     permit by recording a result, so a trial whose caller left is recorded as a success
//     there (counting it as a failure would hold the circuit open for another Delay
//     because of a client);
//   - the whole-call timeout (the deadline of the executor's context) firing during an
//     attempt counts as a failure (the upstream was too slow), whereas the stock policy
//     would see only the attempt's cancellation;
//   - a refusal carries the time until half-open (*OpenError) for Retry-After.
type breaker struct {
	name        string
	cb          circuitbreaker.CircuitBreaker[*http.Response]
	threshold   int64
	consecutive atomic.Int64
}

func newBreaker(name string, c CircuitBreaker, logger *slog.Logger, hooks Hooks) *breaker {
	b := &breaker{name: name, threshold: int64(c.FailureThreshold)}
	b.cb = circuitbreaker.NewBuilder[*http.Response]().
		WithFailureRateThreshold(c.FailureRate, uint(c.MinRequests), c.Window).
		WithDelay(c.Delay).
		WithSuccessThreshold(uint(c.HalfOpenTrials)).
		OnStateChanged(func(e circuitbreaker.StateChangedEvent) {
			from, to := stateOf(e.OldState), stateOf(e.NewState)
			b.consecutive.Store(0)
			level := slog.LevelInfo
			if to == StateOpen {
				level = slog.LevelWarn
			}
			logger.Log(e.Context(), level, "circuit breaker state changed", "upstream", name,
				"from", string(from), "to", string(to))
			if hooks.StateChange != nil {
				hooks.StateChange(name, from, to)
			}
		}).
		Build()
	return b
}

// State returns the circuit's state.
func (b *breaker) State() State { return stateOf(b.cb.State()) }

// acquire lets an attempt through, or refuses it (*OpenError) while the circuit is open or
// its half-open trials are taken.
func (b *breaker) acquire() error {
	if !b.cb.TryAcquirePermit() {
		return &OpenError{Upstream: b.name, RemainingDelay: b.cb.RemainingDelay()}
	}
	return nil
}

// record counts the outcome of an attempt acquire let through; c is its call's context.
func (b *breaker) record(c *callCtx, resp *http.Response, err error) {
	canceled := c.Err() != nil
	if canceled && !c.timedOut() {
		// The caller went away: nothing was learnt about the upstream.
		if b.cb.IsHalfOpen() {
			b.cb.RecordSuccess() // releases the trial permit; see the type's doc
		}
		return
	}
	if canceled || breakerFailure(resp, err) {
		b.recordFailure()
		return
	}
	b.consecutive.Store(0)
	b.cb.RecordSuccess()
}

func (b *breaker) recordFailure() {
	b.cb.RecordFailure()
	if b.cb.IsClosed() && b.consecutive.Add(1) >= b.threshold {
		b.cb.Open()
	}
}
