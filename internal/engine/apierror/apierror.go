// Package apierror defines the gateway's typed errors and the one place that renders every
// error as the response envelope (or an RFC 9457 problem document).
package apierror

import (
	"fmt"
	"net/http"

	"github.com/contractgate/contractgate/internal/engine/components"
)

// Code is a stable, machine-readable error code, as declared by the shared components' ErrorCode enum.
type Code = components.ErrorCode

// Detail is one violation in a VALIDATION_FAILED error.
type Detail = components.ErrorDetail

// Error is an error the gateway answers with: status, code, a message safe to show to the
// client, optional details and headers (Allow, Retry-After, WWW-Authenticate, ...). The
// wrapped cause is logged, never shown.
type Error struct {
	Status  int
	Code    Code
	Message string
	Details []Detail
	Header  http.Header
	Err     error
}

// New returns an *Error with the given status, code and client-safe message.
func New(status int, code Code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Error describes the error for logs, including the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, apierror.ErrNotFound) matches any RESOURCE_NOT_FOUND error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Wrap returns a copy of e with cause attached.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// WithMessage returns a copy of e with another client-safe message.
func (e *Error) WithMessage(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(details ...Detail) *Error {
	c := *e
	c.Details = details
	return &c
}

// WithHeader returns a copy of e that sets header key to value on the response.
func (e *Error) WithHeader(key, value string) *Error {
	c := *e
	c.Header = c.Header.Clone()
	if c.Header == nil {
		c.Header = http.Header{}
	}
	c.Header.Set(key, value)
	return &c
}

// The errors of DESIGN section 5, as templates: use them with errors.Is, or derive a
// specific error with Wrap, WithMessage, WithDetails and WithHeader.
var (
	ErrMalformedJSON             = New(http.StatusBadRequest, components.ErrMalformedJSON, "Request body is not well-formed JSON")
	ErrInvalidPath               = New(http.StatusBadRequest, components.ErrInvalidPath, "Request path contains encoded separators or dot segments")
	ErrIdempotencyKeyMissing     = New(http.StatusBadRequest, components.ErrIdempotencyKeyMissing, "This operation requires an Idempotency-Key header")
	ErrIdempotencyKeyInvalid     = New(http.StatusBadRequest, components.ErrIdempotencyKeyInvalid, "Idempotency-Key must be 1 to 255 printable ASCII characters")
	ErrUnauthorized              = New(http.StatusUnauthorized, components.ErrUnauthorized, "Missing or invalid credentials")
	ErrForbidden                 = New(http.StatusForbidden, components.ErrForbidden, "Insufficient scope")
	ErrRouteNotFound             = New(http.StatusNotFound, components.ErrRouteNotFound, "No operation at this path")
	ErrNotFound                  = New(http.StatusNotFound, components.ErrResourceNotFound, "Resource not found")
	ErrMethodNotAllowed          = New(http.StatusMethodNotAllowed, components.ErrMethodNotAllowed, "Method not allowed on this path")
	ErrNotAcceptable             = New(http.StatusNotAcceptable, components.ErrNotAcceptable, "Accept rules out every representation of this operation")
	ErrConflict                  = New(http.StatusConflict, components.ErrConflict, "The request conflicts with the resource's state")
	ErrIdempotencyKeyInFlight    = New(http.StatusConflict, components.ErrIdempotencyKeyInFlight, "A request with this Idempotency-Key is still being processed")
	ErrPayloadTooLarge           = New(http.StatusRequestEntityTooLarge, components.ErrPayloadTooLarge, "Request body is too large")
	ErrURITooLong                = New(http.StatusRequestURITooLong, components.ErrURITooLong, "Request target is too long")
	ErrUnsupportedMediaType      = New(http.StatusUnsupportedMediaType, components.ErrUnsupportedMediaType, "Unsupported content type")
	ErrValidationFailed          = New(http.StatusUnprocessableEntity, components.ErrValidationFailed, "Request validation failed")
	ErrIdempotencyKeyReused      = New(http.StatusUnprocessableEntity, components.ErrIdempotencyKeyReused, "Idempotency-Key was already used with a different payload")
	ErrRateLimitExceeded         = New(http.StatusTooManyRequests, components.ErrRateLimitExceeded, "Rate limit exceeded")
	ErrInternal                  = New(http.StatusInternalServerError, components.ErrInternalServerError, "Internal server error")
	ErrUpstream                  = New(http.StatusBadGateway, components.ErrUpstreamError, "An upstream service failed")
	ErrUpstreamContractViolation = New(http.StatusBadGateway, components.ErrUpstreamContractViolation, "An upstream service answered outside its contract")
	ErrCircuitOpen               = New(http.StatusServiceUnavailable, components.ErrCircuitOpen, "An upstream service is failing; its circuit is open")
	ErrUpstreamUnavailable       = New(http.StatusServiceUnavailable, components.ErrUpstreamUnavailable, "An upstream service is unavailable")
	ErrUpstreamOverloaded        = New(http.StatusServiceUnavailable, components.ErrUpstreamOverloaded, "An upstream service is overloaded")
	ErrUpstreamTimeout           = New(http.StatusGatewayTimeout, components.ErrUpstreamTimeout, "An upstream service did not answer in time")
)
