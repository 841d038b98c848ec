package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"

	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/resilience"
)

// Response is what every generated *XxxResponse provides.
type Response interface {
	StatusCode() int
}

// Check returns nil when an upstream call returned status want, and otherwise the error the
// gateway answers with, from Failure. res is only read when err is nil.
func Check(name string, res Response, err error, want int) error {
	if err != nil {
		return Failure(name, 0, err)
	}
	if code := res.StatusCode(); code != want {
		return Failure(name, code, nil)
	}
	return nil
}

// Require returns v, or UPSTREAM_CONTRACT_VIOLATION when the upstream's answer had no body of
// the declared type (for example a 200 that was not JSON).
func Require[T any](name string, v *T) (*T, error) {
	if v == nil {
		return nil, apierror.ErrUpstreamContractViolation.Wrap(fmt.Errorf("upstream %s: response without the declared JSON body", name))
	}
	return v, nil
}

// Failure maps a failed upstream call to the error the client sees: the one place where
// upstream failures get their status and code. status is the upstream's HTTP status when it
// answered (err is then nil); err is the transport, policy or decoding error otherwise. The
// upstream's body and Go error text are kept as the cause for the log, never shown.
//
//	caller went away                          -> the cause as is (nothing is written)
//	circuit open                              -> 503 CIRCUIT_OPEN, Retry-After = seconds until half-open
//	bulkhead full, retry budget spent         -> 503 UPSTREAM_OVERLOADED
//	call or attempt timed out                 -> 504 UPSTREAM_TIMEOUT
//	connection refused                        -> 503 UPSTREAM_UNAVAILABLE
//	outside the contract, oversized, bad JSON -> 502 UPSTREAM_CONTRACT_VIOLATION
//	reset, cut mid-body, other failures       -> 502 UPSTREAM_ERROR
//	answered 404 / 409                        -> 404 RESOURCE_NOT_FOUND / 409 CONFLICT
//	answered 5xx (after its retries), other   -> 502 UPSTREAM_ERROR
func Failure(name string, status int, err error) error {
	if ee := retrypolicy.AsExceededError(err); ee != nil && ee.LastError == nil {
		// Retries exhausted on an answer (the policies return the last answer itself; this
		// keeps the mapping right should an ExceededError reach here).
		if resp, ok := ee.LastResult.(*http.Response); ok && resp != nil {
			return Failure(name, resp.StatusCode, nil)
		}
	}
	if err != nil {
		cause := fmt.Errorf("upstream %s: %w", name, err)
		switch {
		case errors.Is(err, context.Canceled) && !errors.Is(err, timeout.ErrExceeded):
			return cause // the client went away; the error handler writes nothing useful
		case errors.Is(err, circuitbreaker.ErrOpen):
			retryAfter := 1
			if oe, ok := errors.AsType[*resilience.OpenError](err); ok {
				retryAfter = oe.RetryAfterSeconds()
			}
			return apierror.ErrCircuitOpen.WithHeader("Retry-After", strconv.Itoa(retryAfter)).Wrap(cause)
		case errors.Is(err, bulkhead.ErrFull), errors.Is(err, budget.ErrExceeded):
			return apierror.ErrUpstreamOverloaded.Wrap(cause)
		case errors.Is(err, timeout.ErrExceeded), errors.Is(err, context.DeadlineExceeded), isNetTimeout(err):
			return apierror.ErrUpstreamTimeout.Wrap(cause)
		case errors.Is(err, syscall.ECONNREFUSED):
			return apierror.ErrUpstreamUnavailable.Wrap(cause)
		case errors.Is(err, resilience.ErrResponseTooLarge), isContractError(err), isDecodeError(err):
			return apierror.ErrUpstreamContractViolation.Wrap(cause)
		default:
			return apierror.ErrUpstream.Wrap(cause)
		}
	}
	cause := fmt.Errorf("upstream %s answered %d", name, status)
	switch {
	case status == http.StatusNotFound:
		return apierror.ErrNotFound.Wrap(cause)
	case status == http.StatusConflict:
		return apierror.ErrConflict.Wrap(cause)
	default:
		// 5xx after the retries it may have had; any other answer means the gateway and the
		// upstream disagree about the contract (a 400 is the gateway's bug, not the client's).
		return apierror.ErrUpstream.Wrap(cause)
	}
}

func isContractError(err error) bool {
	_, ok := errors.AsType[*ContractError](err)
	return ok
}

func isNetTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

func isDecodeError(err error) bool {
	_, syntax := errors.AsType[*json.SyntaxError](err)
	_, typ := errors.AsType[*json.UnmarshalTypeError](err)
	return syntax || typ
}
