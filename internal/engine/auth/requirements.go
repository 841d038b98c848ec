package auth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

type state int

const (
	absent state = iota
	invalid
	valid
)

// outcome is what one scheme's credentials proved.
type outcome struct {
	state state
	id    identity.Identity
	keyID string
	err   error
}

// authenticate evaluates op's security requirements for the request.
func (a *Authenticator) authenticate(c echo.Context, op *routes.Operation) (identity.Identity, string, error) {
	req := c.Request()
	if a.guard != nil {
		if err := a.guard.Check(req); err != nil {
			return identity.Identity{}, "", err
		}
	}
	names, ok := a.names[op]
	if !ok {
		names = schemeNames(op.Security)
	}
	if p := queryCredential(c, op); p != "" {
		return identity.Identity{}, "", a.refuse(req, ReasonQueryCredentials, false, a.unauthorized(names, nil).
			WithMessage("Credentials must not be sent in the query string (parameter %q)", p).Wrap(ErrQueryCredentials))
	}
	outcomes := make(map[string]outcome, len(names))
	for _, name := range names {
		outcomes[name] = a.check(req, name)
	}
	ambiguous(names, outcomes)
	// Every credential presented must be valid, even where another one satisfies a
	// requirement or anonymous callers are allowed: a client that sent a token should learn
	// that it was refused, and a guess must never pass unnoticed (nor uncharged).
	var causes []error
	var reason Reason
	for _, name := range names {
		if o := outcomes[name]; o.state == invalid {
			causes = append(causes, fmt.Errorf("%s: %w", name, o.err))
			if reason == "" {
				reason = reasonOf(o.err)
			}
		}
	}
	if len(causes) > 0 {
		return identity.Identity{}, "", a.refuse(req, reason, true, a.unauthorized(names, outcomes).Wrap(errors.Join(causes...)))
	}
	anonymous := false
	var missing []string
	missingBearer := false
	for _, req := range op.Security {
		if len(req) == 0 {
			anonymous = true
			continue
		}
		id, keyID, need, ok := satisfy(req, outcomes)
		if ok && len(need) == 0 {
			return id, keyID, nil
		}
		if ok && missing == nil {
			missing = need
			for name := range req {
				missingBearer = missingBearer || a.schemes[name].kind == kindBearer
			}
		}
	}
	if anonymous {
		return identity.Identity{}, "", nil
	}
	if missing != nil {
		e := apierror.ErrForbidden.WithMessage("Missing required scope%s: %s", plural(missing), strings.Join(missing, " "))
		if missingBearer {
			e = e.WithHeader(echo.HeaderWWWAuthenticate,
				fmt.Sprintf(`Bearer realm=%q, error="insufficient_scope", scope=%q`, a.realm, strings.Join(missing, " ")))
		}
		return identity.Identity{}, "", a.refuse(req, ReasonInsufficientScope, false, e)
	}
	return identity.Identity{}, "", a.refuse(req, ReasonMissing, false, a.unauthorized(names, outcomes))
}

// ambiguous refuses every valid credential when the valid ones name more than one subject.
func ambiguous(names []string, outcomes map[string]outcome) {
	first, two := "", false
	for _, name := range names {
		if o := outcomes[name]; o.state == valid {
			if first == "" {
				first = o.id.Subject // never empty (validSubject)
			}
			two = two || o.id.Subject != first
		}
	}
	if !two {
		return
	}
	for _, name := range names {
		if outcomes[name].state == valid {
			outcomes[name] = outcome{state: invalid, err: ErrAmbiguousCredentials}
		}
	}
}

// satisfy checks one requirement: every scheme authenticated the same subject (ok), and need
// lists the required scopes the caller lacks. The identity is the first scheme's (by name),
// holding the union of the schemes' scopes.
func satisfy(req openapi3.SecurityRequirement, outcomes map[string]outcome) (id identity.Identity, keyID string, need []string, ok bool) {
	names := make([]string, 0, len(req))
	for name := range req {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		o := outcomes[name]
		if o.state != valid || (i > 0 && o.id.Subject != id.Subject) {
			return identity.Identity{}, "", nil, false
		}
		if i == 0 {
			id = o.id
			id.Scopes = slices.Clone(o.id.Scopes)
		} else {
			for _, s := range o.id.Scopes {
				if !id.HasScope(s) {
					id.Scopes = append(id.Scopes, s)
				}
			}
		}
		if o.keyID != "" {
			keyID = o.keyID
		}
		for _, scope := range req[name] {
			if !o.id.HasScope(scope) && !slices.Contains(need, scope) {
				need = append(need, scope)
			}
		}
	}
	return id, keyID, need, true
}

// check verifies the credentials the request carries for one scheme.
func (a *Authenticator) check(req *http.Request, name string) outcome {
	s := a.schemes[name]
	switch s.kind {
	case kindBearer:
		token, present, err := bearerToken(req.Header)
		if !present {
			return outcome{state: absent}
		}
		if err == nil {
			if a.jwt == nil {
				err = ErrNoKeyForAlgorithm
			} else {
				var id identity.Identity
				if id, err = a.jwt.verify(req.Context(), token); err == nil {
					return outcome{state: valid, id: id}
				}
			}
		}
		return outcome{state: invalid, err: err}
	case kindAPIKey:
		vals := req.Header.Values(s.header)
		switch len(vals) {
		case 0:
			return outcome{state: absent}
		case 1:
			id, keyID, err := a.keys.verify(vals[0])
			if err != nil {
				return outcome{state: invalid, err: err}
			}
			return outcome{state: valid, id: id, keyID: keyID}
		default:
			return outcome{state: invalid, err: fmt.Errorf("%w: %d %s headers", ErrMalformedCredentials, len(vals), s.header)}
		}
	}
	return outcome{state: absent}
}

// bearerToken extracts the token of an "Authorization: Bearer" header. present is false when
// there is no Authorization header of the Bearer scheme.
func bearerToken(h http.Header) (token string, present bool, err error) {
	vals := h.Values(echo.HeaderAuthorization)
	if len(vals) == 0 {
		return "", false, nil
	}
	if len(vals) > 1 {
		return "", true, fmt.Errorf("%w: several Authorization headers", ErrMalformedCredentials)
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, nil
	}
	token = strings.TrimSpace(rest)
	if token == "" {
		return "", true, fmt.Errorf("%w: empty bearer token", ErrMalformedCredentials)
	}
	return token, true, nil
}

// unauthorized returns the 401 with one challenge per scheme; a bearer challenge carries
// error="invalid_token" when the request's token was refused.
func (a *Authenticator) unauthorized(names []string, outcomes map[string]outcome) *apierror.Error {
	e := apierror.ErrUnauthorized
	for _, name := range names {
		s := a.schemes[name]
		var ch string
		switch s.kind {
		case kindBearer:
			ch = fmt.Sprintf("Bearer realm=%q", a.realm)
			if outcomes[name].state == invalid {
				ch += `, error="invalid_token"`
			}
		case kindAPIKey:
			ch = fmt.Sprintf("ApiKey realm=%q, header=%q", a.realm, s.header)
		default:
			continue
		}
		if e.Header == nil {
			e = e.WithHeader(echo.HeaderWWWAuthenticate, ch)
		} else if !slices.Contains(e.Header.Values(echo.HeaderWWWAuthenticate), ch) {
			e.Header.Add(echo.HeaderWWWAuthenticate, ch) // e is already a copy with its own header
		}
	}
	return e
}

// schemeNames lists the schemes reqs use, in order of first appearance (sorted within one
// requirement), without duplicates.
func schemeNames(reqs openapi3.SecurityRequirements) []string {
	var out []string
	for _, req := range reqs {
		names := make([]string, 0, len(req))
		for name := range req {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, n := range names {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// queryCredential returns the first credential-carrying query parameter of the request that
// op does not declare itself, or "".
func queryCredential(c echo.Context, op *routes.Operation) string {
	if c.Request().URL.RawQuery == "" {
		return ""
	}
	query := c.QueryParams()
	for _, p := range QueryCredentialParams {
		for key := range query {
			if strings.EqualFold(key, p) && !declaresQueryParam(op, key) {
				return p
			}
		}
	}
	return ""
}

func declaresQueryParam(op *routes.Operation, name string) bool {
	var params openapi3.Parameters
	if op.PathItem != nil {
		params = append(params, op.PathItem.Parameters...)
	}
	if op.Op != nil {
		params = append(params, op.Op.Parameters...)
	}
	for _, p := range params {
		if p != nil && p.Value != nil && p.Value.In == openapi3.ParameterInQuery && p.Value.Name == name {
			return true
		}
	}
	return false
}

func plural(s []string) string {
	if len(s) > 1 {
		return "s"
	}
	return ""
}
