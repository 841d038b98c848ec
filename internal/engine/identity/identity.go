// Package identity carries the authenticated caller on the request context: the one seam
// through which handlers, rate limits and idempotency learn who is calling.
package identity

import (
	"context"
	"slices"
)

// DefaultHeader is the default of the header the gateway sets to the caller's subject on
// every upstream call (auth.identityHeader). It is always removed from client requests
// first, so a client cannot claim another identity.
const DefaultHeader = "X-Contractgate-Subject"

// Identity is an authenticated caller.
type Identity struct {
	// Subject identifies the user (a JWT's sub, an API key's owner).
	Subject string
	// Scopes are the scopes the caller holds.
	Scopes []string
	// Method tells how the caller authenticated (e.g. "bearer", "apiKey", "development").
	Method string
	// Header is the header upstream calls carry Subject in (auth.identityHeader), as set by
	// the authentication that established the identity; "" means DefaultHeader.
	Header string
}

// ForwardHeader returns the header upstream calls carry the subject in: Header, or
// DefaultHeader when unset.
func (id Identity) ForwardHeader() string {
	if id.Header == "" {
		return DefaultHeader
	}
	return id.Header
}

// HasScope reports whether the identity holds scope.
func (id Identity) HasScope(scope string) bool { return slices.Contains(id.Scopes, scope) }

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the caller's identity, and false for an anonymous request.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok && id.Subject != ""
}
