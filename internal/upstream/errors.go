package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/contractgate/contractgate/internal/apierror"
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
// answered (err is then nil); err is the transport or decoding error otherwise. The upstream's
// body and Go error text are kept as the cause for the log, never shown.
func Failure(name string, status int, err error) error {
	if err != nil {
		cause := fmt.Errorf("upstream %s: %w", name, err)
		switch {
		case errors.Is(err, context.Canceled):
			return cause // the client went away; the error handler writes nothing useful
		case errors.Is(err, timeout.ErrExceeded), errors.Is(err, context.DeadlineExceeded), isNetTimeout(err):
			return apierror.ErrUpstreamTimeout.Wrap(cause)
		case errors.Is(err, syscall.ECONNREFUSED):
			return apierror.ErrUpstreamUnavailable.Wrap(cause)
		case isDecodeError(err):
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
	case status >= 500:
		return apierror.ErrUpstream.Wrap(cause)
	default:
		// Any other answer means the gateway and the upstream disagree about the contract.
		return apierror.ErrUpstream.Wrap(cause)
	}
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
