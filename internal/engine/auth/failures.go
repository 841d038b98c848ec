package auth

import (
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"
)

// Reason is why a request was refused authentication: a small fixed set, fit for a metric
// label (see WithFailureHook).
type Reason string

// The reasons, in Reasons.
const (
	// ReasonMissing: no credentials for the operation's schemes (401).
	ReasonMissing Reason = "missing"
	// ReasonQueryCredentials: credentials in the query string (401).
	ReasonQueryCredentials Reason = "query_credentials"
	// ReasonMalformed: credentials that cannot be read: several Authorization or API key
	// headers, an empty or oversized token, a token that does not parse, a crit header,
	// non-numeric dates (401).
	ReasonMalformed Reason = "malformed"
	// ReasonInvalidSignature: the token's signature does not verify, or its alg is not
	// accepted (401).
	ReasonInvalidSignature Reason = "invalid_signature"
	// ReasonExpired: the token is expired, not valid yet, or issued in the future (401).
	ReasonExpired Reason = "expired"
	// ReasonInvalidClaims: wrong issuer or audience, exp or sub missing, a scope claim that is
	// not a string (or an scp of another shape) (401).
	ReasonInvalidClaims Reason = "invalid_claims"
	// ReasonUnknownKey: an API key, or a token's kid or key family, the gateway does not
	// know (401).
	ReasonUnknownKey Reason = "unknown_key"
	// ReasonAmbiguous: valid credentials naming different subjects in one request (401).
	ReasonAmbiguous Reason = "ambiguous"
	// ReasonInsufficientScope: authenticated, lacking a required scope (403).
	ReasonInsufficientScope Reason = "insufficient_scope"
)

// Reasons lists every Reason.
var Reasons = []Reason{ReasonMissing, ReasonQueryCredentials, ReasonMalformed, ReasonInvalidSignature,
	ReasonExpired, ReasonInvalidClaims, ReasonUnknownKey, ReasonAmbiguous, ReasonInsufficientScope}

// ErrMalformedCredentials is the cause (logged, never shown) when the credential headers
// cannot be read: several of them, or an empty bearer token.
var ErrMalformedCredentials = errors.New("auth: malformed credentials")

// ErrAmbiguousCredentials is the cause (logged, never shown) when valid credentials of one
// request name different subjects: the gateway will not choose who the caller is.
var ErrAmbiguousCredentials = errors.New("auth: credentials name different subjects")

// Guard limits failed authentications; ratelimit.AuthGuard is one. Implementations are safe
// for concurrent use.
type Guard interface {
	// Check is called on every request to a secured operation before any credential is
	// verified; a non-nil error is answered as is (a 429).
	Check(r *http.Request) error
	// Fail is called once per request whose presented credentials were refused (a 401
	// other than for missing credentials, or credentials in the query string, which cost no
	// verification); a non-nil error is answered instead of the 401.
	Fail(r *http.Request) error
}

// Option configures New beyond Config.
type Option func(*Authenticator)

// WithGuard limits failed authentications with g (see Guard).
func WithGuard(g Guard) Option { return func(a *Authenticator) { a.guard = g } }

// WithFailureHook calls f with the reason of every request refused with 401 or 403 (not
// those the Guard refused before verifying). f must be fast and safe for concurrent use.
func WithFailureHook(f func(Reason)) Option { return func(a *Authenticator) { a.onFailure = f } }

// reasonOf classifies why a credential was refused.
func reasonOf(err error) Reason {
	is := func(targets ...error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
	switch {
	case is(ErrAmbiguousCredentials):
		return ReasonAmbiguous
	case is(ErrCriticalHeader, ErrNonNumericDate, ErrTokenTooLarge, ErrMalformedCredentials, jwt.ErrTokenMalformed):
		return ReasonMalformed
	case is(ErrUnknownAPIKey, ErrUnknownKID, ErrNoKeyForAlgorithm):
		return ReasonUnknownKey
	case is(jwt.ErrTokenExpired, jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued):
		return ReasonExpired
	case is(jwt.ErrTokenSignatureInvalid):
		return ReasonInvalidSignature
	case is(ErrMissingSubject, ErrInvalidScopeClaim, jwt.ErrTokenInvalidClaims, jwt.ErrTokenRequiredClaimMissing,
		jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer, jwt.ErrTokenInvalidSubject):
		return ReasonInvalidClaims
	}
	return ReasonMalformed
}

// refuse reports a refusal of reason and, when charge is set, charges it to the guard,
// whose 429 then replaces err.
func (a *Authenticator) refuse(r *http.Request, reason Reason, charge bool, err error) error {
	if a.onFailure != nil {
		a.onFailure(reason)
	}
	if charge && a.guard != nil {
		if gerr := a.guard.Fail(r); gerr != nil {
			return gerr
		}
	}
	return err
}
