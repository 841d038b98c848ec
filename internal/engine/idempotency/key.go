// Package idempotency implements the IETF httpapi Idempotency-Key header for the operations
// whose contract declares it required: RequireKey checks the key (400), New claims it and
// stores the final response, then replays that response to repeats of the same request.
package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Header is the request header carrying the key.
const Header = "Idempotency-Key"

// MaxKeyLength is the longest key accepted, in characters.
const MaxKeyLength = 255

// ParseKey returns the key of an Idempotency-Key header value: a token of 1 to 255 printable
// ASCII characters, sent bare or as a structured-field string ("quoted", with \" and \\
// escapes).
func ParseKey(v string) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var b []byte
		inner := v[1 : len(v)-1]
		for i := 0; i < len(inner); i++ {
			c := inner[i]
			if c == '\\' {
				if i+1 >= len(inner) || (inner[i+1] != '"' && inner[i+1] != '\\') {
					return "", apierror.ErrIdempotencyKeyInvalid
				}
				i++
				c = inner[i]
			} else if c == '"' {
				return "", apierror.ErrIdempotencyKeyInvalid
			}
			b = append(b, c)
		}
		v = string(b)
	}
	if len(v) == 0 || len(v) > MaxKeyLength {
		return "", apierror.ErrIdempotencyKeyInvalid
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", apierror.ErrIdempotencyKeyInvalid
		}
	}
	return v, nil
}

// UpstreamKey returns the Idempotency-Key to forward to an upstream that deduplicates on its
// own, for the header value v of a request by subject: derived from both, so that two
// callers' keys never meet upstream and a caller's raw key never leaves the gateway. Equal
// inputs give equal keys, so a retry after a lost answer (a timeout, a dropped connection)
// reaches the upstream with the key of the first attempt.
func UpstreamKey(subject, v string) (string, error) {
	k, err := ParseKey(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(callerScope(subject, true) + k)) // the scope has a fixed length
	return "cg1-" + hex.EncodeToString(sum[:20]), nil
}

// RequireKey returns the key check: a middleware that enforces the header on every operation
// whose contract declares Idempotency-Key as a required header: absent -> 400
// IDEMPOTENCY_KEY_MISSING, not a sane token -> 400 IDEMPOTENCY_KEY_INVALID. It runs after
// routes.Match, before request validation.
func (m *Idempotency) RequireKey() echo.MiddlewareFunc {
	required := m.ops
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op := routes.Current(c)
			if op == nil || !required[op] {
				return next(c)
			}
			if _, err := keyOf(c.Request().Header); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// requiredOps returns the operations of table whose contract declares Idempotency-Key as a
// required header (on the operation or its path item), computed once at start-up.
func requiredOps(table *routes.Table) map[*routes.Operation]bool {
	required := map[*routes.Operation]bool{}
	for _, op := range table.All() {
		for _, params := range []openapi3.Parameters{op.Op.Parameters, op.PathItem.Parameters} {
			for _, p := range params {
				if p.Value != nil && p.Value.In == openapi3.ParameterInHeader &&
					http.CanonicalHeaderKey(p.Value.Name) == Header && p.Value.Required {
					required[op] = true
				}
			}
		}
	}
	return required
}

// keyOf returns the request's one Idempotency-Key, or the 400 error RequireKey answers.
func keyOf(h http.Header) (string, error) {
	values := h.Values(Header)
	switch {
	case len(values) == 0:
		return "", apierror.ErrIdempotencyKeyMissing
	case len(values) > 1:
		return "", apierror.ErrIdempotencyKeyInvalid.WithMessage("Send exactly one Idempotency-Key header")
	}
	return ParseKey(values[0])
}
