// Package auth authenticates callers against the contract's security requirements, with JWT
// bearer tokens (HMAC secrets or a JWKS) and API keys, and checks the scopes they hold.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Identity methods set by this package (identity.Identity.Method).
const (
	MethodBearer = "bearer"
	MethodAPIKey = "apiKey"
)

// QueryCredentialParams are query parameters that carry credentials. A secured operation
// answers 401 when any is present (compared case-insensitively), valid or not, since URLs
// end up in logs and caches; unless the operation itself declares that parameter.
var QueryCredentialParams = []string{"access_token", "api_key", "apikey", "token"}

// ErrQueryCredentials is the cause (logged, never shown) of a 401 for credentials sent in the
// query string.
var ErrQueryCredentials = errors.New("auth: credentials in the query string")

type schemeKind int

const (
	kindBearer schemeKind = iota + 1
	kindAPIKey
)

type scheme struct {
	kind   schemeKind
	header string // the apiKey scheme's header, as the contract spells it
}

// Authenticator is the authentication step, built once. Read-only; safe for concurrent use.
type Authenticator struct {
	table   *routes.Table
	schemes map[string]scheme
	// names are the scheme names of every secured operation (schemeNames), resolved once.
	names map[*routes.Operation][]string
	jwt   *jwtVerifier // nil when no bearer token source is configured
	keys  *keyring
	guard Guard // nil: failures are not limited
	// onFailure observes refusals (nil: none).
	onFailure func(Reason)
	// realm is named in every WWW-Authenticate challenge (Config.Realm).
	realm string
	// identityHeader carries the subject upstream (Config.IdentityHeader).
	identityHeader string
}

// New returns the authentication step; its Middleware must run after routes.Match, and
// Close stops the background JWKS refresh (a no-op without a JWKS URL). cfg must be
// defaulted (Config.SetDefaults, which config.Load applies); New validates it (as not
// production: the config package validates the production rules).
//
// Per request: the identity header (cfg.IdentityHeader) is removed from the client's input; an
// operation the table does not know (operator endpoints, 404, 405) or a public one (empty
// security) passes through. Otherwise the operation's security requirements are evaluated,
// alternatives ORed and the schemes of one requirement ANDed (all of one requirement must
// authenticate the same subject). Credentials in the query string answer 401; missing or
// invalid credentials 401 with a WWW-Authenticate challenge per scheme; valid credentials
// lacking a required scope 403 naming the scope. Every credential presented for the
// operation's schemes must be valid, and all must name the same subject: a refused one is a
// 401 even when another satisfies a requirement, and valid credentials of two subjects (a
// token of alice with a key of bob) are refused as ambiguous, 401. With WithGuard, an
// address that failed too often is refused (429) before anything is verified. On success
// the caller's identity.Identity is on the request context (and, for an API key, its id:
// see KeyID).
//
// Supported schemes: http bearer, oauth2 and openIdConnect (all verified as JWTs), and
// apiKey in a header. Any other scheme in the contract is an error here, at start-up.
func New(cfg Config, table *routes.Table, logger *slog.Logger, opts ...Option) (*Authenticator, error) {
	if table == nil || logger == nil {
		return nil, errors.New("auth: table and logger are required")
	}
	if err := cfg.Validate(false); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	schemes, err := resolveSchemes(table)
	if err != nil {
		return nil, err
	}
	names := map[*routes.Operation][]string{}
	for _, op := range table.All() {
		if len(op.Security) > 0 {
			names[op] = schemeNames(op.Security)
		}
	}
	a := &Authenticator{table: table, schemes: schemes, names: names, keys: newKeyring(cfg.APIKeys), realm: cfg.Realm, identityHeader: cfg.IdentityHeader}
	for _, opt := range opts {
		opt(a)
	}
	for name, s := range schemes {
		switch {
		case s.kind == kindBearer && !cfg.JWT.Configured():
			logger.Warn("the contract uses a bearer scheme but no JWT key is configured: no token will be accepted", "scheme", name)
		case s.kind == kindAPIKey && len(cfg.APIKeys) == 0:
			logger.Warn("the contract uses an API key scheme but no API key is configured", "scheme", name)
		}
	}
	if a.jwt, err = newJWTVerifier(cfg.JWT, logger); err != nil {
		return nil, err
	}
	return a, nil
}

// Close stops the background JWKS refresh. Safe to call twice.
func (a *Authenticator) Close() error {
	if a.jwt == nil {
		return nil
	}
	return a.jwt.Close()
}

// Middleware returns the middleware.
func (a *Authenticator) Middleware() echo.MiddlewareFunc { return a.middleware }

// resolveSchemes maps every scheme name the operations use to how it is verified.
func resolveSchemes(table *routes.Table) (map[string]scheme, error) {
	var defs openapi3.SecuritySchemes
	if doc := table.Doc(); doc != nil && doc.Components != nil {
		defs = doc.Components.SecuritySchemes
	}
	out := map[string]scheme{}
	for _, op := range table.All() {
		for _, req := range op.Security {
			for name := range req {
				if _, done := out[name]; done {
					continue
				}
				ref := defs[name]
				if ref == nil || ref.Value == nil {
					return nil, fmt.Errorf("auth: operation %s uses security scheme %q, which components.securitySchemes does not define", op.ID, name)
				}
				s, err := schemeFor(name, ref.Value)
				if err != nil {
					return nil, err
				}
				out[name] = s
			}
		}
	}
	return out, nil
}

func schemeFor(name string, def *openapi3.SecurityScheme) (scheme, error) {
	switch {
	case def.Type == "http" && strings.EqualFold(def.Scheme, "bearer"), def.Type == "oauth2", def.Type == "openIdConnect":
		return scheme{kind: kindBearer}, nil
	case def.Type == "apiKey" && def.In == "header" && def.Name != "":
		return scheme{kind: kindAPIKey, header: def.Name}, nil
	}
	return scheme{}, fmt.Errorf("auth: security scheme %q (type %q, scheme %q, in %q) is not supported: use http bearer, oauth2, openIdConnect or apiKey in a header",
		name, def.Type, def.Scheme, def.In)
}

type keyIDKey struct{}

// KeyID returns the id of the API key the request authenticated with (safe to log: it is the
// configured id, never the key), and false when it used no API key.
func KeyID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(keyIDKey{}).(string)
	return id, ok
}

func (a *Authenticator) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		req.Header.Del(a.identityHeader) // only the gateway sets it, on upstream calls
		op := routes.Current(c)
		if op == nil || len(op.Security) == 0 {
			return next(c)
		}
		id, keyID, err := a.authenticate(c, op)
		if err != nil {
			return err
		}
		if id.Subject == "" { // an empty requirement ({}) allows anonymous callers
			return next(c)
		}
		id.Header = a.identityHeader
		ctx := identity.NewContext(req.Context(), id)
		if keyID != "" {
			ctx = context.WithValue(ctx, keyIDKey{}, keyID)
		}
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}
