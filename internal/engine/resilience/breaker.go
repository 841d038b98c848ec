package resilience

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/common"
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

// breaker is a failsafe-go policy around a failsafe-go circuit breaker. The breaker itself
// (time-windowed failure rate, open delay, half-open trials, state listeners) is
// failsafe-go's; this policy adds what its stock executor lacks:
//
//   - a second trigger: FailureThreshold consecutive failures open the circuit whatever the
//     failure rate (failsafe-go counts one kind of threshold per breaker);
//   - a caller that went away is not an outcome: it is recorded neither as a failure nor,
//     in the closed state, as a success. failsafe-go can only release a half-open trial
//     permit by recording a result, so a trial whose caller left is recorded as a success
//     there (counting it as a failure would hold the circuit open for another Delay
//     because of a client);
//   - the whole-call timeout (the deadline of the executor's context) firing during an
//     attempt counts as a failure (the upstream was too slow), whereas the stock executor
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

// ToExecutor returns the breaker itself: it implements failsafe-go's policy executor
// contract (Apply).
func (b *breaker) ToExecutor(_ *http.Response) any { return b }

// Apply runs one attempt through the breaker.
func (b *breaker) Apply(inner func(failsafe.Execution[*http.Response]) *common.PolicyResult[*http.Response]) func(failsafe.Execution[*http.Response]) *common.PolicyResult[*http.Response] {
	return func(exec failsafe.Execution[*http.Response]) *common.PolicyResult[*http.Response] {
		if !b.cb.TryAcquirePermit() {
			return &common.PolicyResult[*http.Response]{
				Error: &OpenError{Upstream: b.name, RemainingDelay: b.cb.RemainingDelay()},
				Done:  true,
			}
		}
		r := inner(exec)
		if exec.IsCanceled() && !canceledByTimeout(exec.Context()) {
			// The caller went away: nothing was learnt about the upstream.
			if b.cb.IsHalfOpen() {
				b.cb.RecordSuccess() // releases the trial permit; see the type's doc
			}
			return r
		}
		// r is this attempt's own result (the breaker is the innermost policy: the executor
		// made r for this attempt and holds no other reference to it), so it is marked in
		// place rather than copied as r.WithFailure and r.WithDone would.
		if exec.IsCanceled() || breakerFailure(r.Result, r.Error) {
			b.recordFailure()
			r.Success, r.SuccessAll = false, false
			return r
		}
		b.consecutive.Store(0)
		b.cb.RecordSuccess()
		r.Done, r.Success = true, true
		return r
	}
}

func (b *breaker) recordFailure() {
	b.cb.RecordFailure()
	if b.cb.IsClosed() && b.consecutive.Add(1) >= b.threshold {
		b.cb.Open()
	}
}
