// Package idempotency implements the IETF httpapi Idempotency-Key header for the operations
// whose contract declares it required.
package idempotency

import (
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/apierror"
	"github.com/contractgate/contractgate/internal/routes"
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

// RequireKey returns a middleware that enforces the header on every operation of table whose
// contract declares Idempotency-Key as a required header: absent -> 400
// IDEMPOTENCY_KEY_MISSING, not a sane token -> 400 IDEMPOTENCY_KEY_INVALID.
func RequireKey(table *routes.Table) echo.MiddlewareFunc {
	required := map[*routes.Operation]bool{}
	for _, op := range table.All() {
		for _, p := range append(op.Op.Parameters, op.PathItem.Parameters...) {
			if p.Value != nil && p.Value.In == openapi3.ParameterInHeader &&
				http.CanonicalHeaderKey(p.Value.Name) == Header && p.Value.Required {
				required[op] = true
			}
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op := table.Lookup(c)
			if op == nil || !required[op] {
				return next(c)
			}
			values := c.Request().Header.Values(Header)
			switch {
			case len(values) == 0:
				return apierror.ErrIdempotencyKeyMissing
			case len(values) > 1:
				return apierror.ErrIdempotencyKeyInvalid.WithMessage("Send exactly one Idempotency-Key header")
			}
			if _, err := ParseKey(values[0]); err != nil {
				return err
			}
			return next(c)
		}
	}
}
