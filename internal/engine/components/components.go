// Package components is the Go side of api/components.yaml, the envelope and error schemas
// every public contract $refs and the engine writes: Meta, Pagination, ErrorEnvelope,
// Error, ErrorCode and ErrorDetail. Names, field types and JSON tags are exactly what
// oapi-codegen generates for those schemas, so that a contract's generated code (gen/gateway,
// through its import-mapping of ./components.yaml to this package) uses these types
// directly, with no copy and no conversion. The tests validate values of them against the
// schemas, so the two cannot drift apart. Package envelope builds Meta values.
package components

// Meta is the meta block of every response, success or error.
type Meta struct {
	// Degraded names the parts of the answer that are degraded, when the answer is still
	// useful: DegradedStale when the data was served from the gateway's cache because the
	// upstream failed (stale-if-error); otherwise the names of the parts an operation left
	// out because their upstream failed, as its description lists them. Nil when nothing is.
	Degraded *[]string `json:"degraded,omitempty"`

	// Duration is the time spent in the gateway, in milliseconds.
	Duration float64 `json:"duration"`
	// Pagination describes the page of a list; nil on everything else.
	Pagination *Pagination `json:"pagination,omitempty"`

	// RequestId equals the X-Request-Id response header.
	RequestId string `json:"requestId"`

	// Timestamp is when the response was produced (RFC 3339, UTC, milliseconds; see
	// TimestampFormat).
	Timestamp string `json:"timestamp"`
}

// DegradedStale in Meta.Degraded: the data was served from the gateway's cache because the
// upstream failed (stale-if-error).
const DegradedStale = "stale"

// Pagination describes one page of a list.
type Pagination struct {
	HasNext     bool  `json:"hasNext"`
	HasPrevious bool  `json:"hasPrevious"`
	Page        int32 `json:"page"`
	PageSize    int32 `json:"pageSize"`
	TotalItems  int64 `json:"totalItems"`
	TotalPages  int32 `json:"totalPages"`
}

// ErrorEnvelope is the body of every error response.
type ErrorEnvelope struct {
	Error   Error                `json:"error"`
	Meta    Meta                 `json:"meta"`
	Success ErrorEnvelopeSuccess `json:"success"`
}

// ErrorEnvelopeSuccess is ErrorEnvelope.success, always false.
type ErrorEnvelopeSuccess bool

// Error is what went wrong: a stable code, a message safe to show, and for
// VALIDATION_FAILED every violation found.
type Error struct {
	// Code A stable, machine-readable error code.
	Code    ErrorCode      `json:"code"`
	Details *[]ErrorDetail `json:"details,omitempty"`
	Message string         `json:"message"`
}

// ErrorCode A stable, machine-readable error code (DESIGN section 5 lists when each is
// answered).
type ErrorCode string

// The error codes (components.yaml's ErrorCode enum, named by its x-enum-varnames).
const (
	ErrCircuitOpen               ErrorCode = "CIRCUIT_OPEN"
	ErrConflict                  ErrorCode = "CONFLICT"
	ErrForbidden                 ErrorCode = "FORBIDDEN"
	ErrIdempotencyKeyInFlight    ErrorCode = "IDEMPOTENCY_KEY_IN_FLIGHT"
	ErrIdempotencyKeyInvalid     ErrorCode = "IDEMPOTENCY_KEY_INVALID"
	ErrIdempotencyKeyMissing     ErrorCode = "IDEMPOTENCY_KEY_MISSING"
	ErrIdempotencyKeyReused      ErrorCode = "IDEMPOTENCY_KEY_REUSED"
	ErrInternalServerError       ErrorCode = "INTERNAL_SERVER_ERROR"
	ErrInvalidPath               ErrorCode = "INVALID_PATH"
	ErrMalformedJSON             ErrorCode = "MALFORMED_JSON"
	ErrMethodNotAllowed          ErrorCode = "METHOD_NOT_ALLOWED"
	ErrNotAcceptable             ErrorCode = "NOT_ACCEPTABLE"
	ErrPayloadTooLarge           ErrorCode = "PAYLOAD_TOO_LARGE"
	ErrRateLimitExceeded         ErrorCode = "RATE_LIMIT_EXCEEDED"
	ErrResourceNotFound          ErrorCode = "RESOURCE_NOT_FOUND"
	ErrRouteNotFound             ErrorCode = "ROUTE_NOT_FOUND"
	ErrURITooLong                ErrorCode = "URI_TOO_LONG"
	ErrUnauthorized              ErrorCode = "UNAUTHORIZED"
	ErrUnsupportedMediaType      ErrorCode = "UNSUPPORTED_MEDIA_TYPE"
	ErrUpstreamContractViolation ErrorCode = "UPSTREAM_CONTRACT_VIOLATION"
	ErrUpstreamError             ErrorCode = "UPSTREAM_ERROR"
	ErrUpstreamOverloaded        ErrorCode = "UPSTREAM_OVERLOADED"
	ErrUpstreamTimeout           ErrorCode = "UPSTREAM_TIMEOUT"
	ErrUpstreamUnavailable       ErrorCode = "UPSTREAM_UNAVAILABLE"
	ErrValidationFailed          ErrorCode = "VALIDATION_FAILED"
)

// ErrorCodes lists every ErrorCode, in the order of the constants above.
var ErrorCodes = []ErrorCode{
	ErrCircuitOpen, ErrConflict, ErrForbidden, ErrIdempotencyKeyInFlight, ErrIdempotencyKeyInvalid,
	ErrIdempotencyKeyMissing, ErrIdempotencyKeyReused, ErrInternalServerError, ErrInvalidPath,
	ErrMalformedJSON, ErrMethodNotAllowed, ErrNotAcceptable, ErrPayloadTooLarge,
	ErrRateLimitExceeded, ErrResourceNotFound, ErrRouteNotFound, ErrURITooLong, ErrUnauthorized,
	ErrUnsupportedMediaType, ErrUpstreamContractViolation, ErrUpstreamError,
	ErrUpstreamOverloaded, ErrUpstreamTimeout, ErrUpstreamUnavailable, ErrValidationFailed,
}

// Valid indicates whether the value is a known member of the ErrorCode enum.
func (e ErrorCode) Valid() bool {
	for _, c := range ErrorCodes {
		if e == c {
			return true
		}
	}
	return false
}

// ErrorDetail is one violation in a VALIDATION_FAILED error.
type ErrorDetail struct {
	// Constraint is the violated JSON Schema keyword (or `required`, `type`, ...).
	Constraint string `json:"constraint"`

	// Field is where the violation is, prefixed by its location (`path.`, `query.`,
	// `header.`, `body.`), e.g. body.items[0].quantity.
	Field string `json:"field"`

	// Message says what is wrong, e.g. "must be at most 100".
	Message string `json:"message"`

	// Received is the received value, for scalars only.
	Received interface{} `json:"received,omitempty"`
}
