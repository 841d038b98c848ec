package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
)

// Errors a bearer token is refused with. They are causes, logged at debug level; the client
// only sees 401 UNAUTHORIZED with error="invalid_token".
var (
	// ErrTokenTooLarge: the token is longer than jwt.maxTokenBytes.
	ErrTokenTooLarge = errors.New("auth: token too large")
	// ErrUnknownKID: no configured or published key has the token's kid.
	ErrUnknownKID = errors.New("auth: unknown key id")
	// ErrNoKeyForAlgorithm: the token's alg belongs to a key family the gateway has no key for,
	// or the key found is of another family (algorithm confusion).
	ErrNoKeyForAlgorithm = errors.New("auth: no key for the token's algorithm")
	// ErrMissingSubject: the token has no usable sub claim.
	ErrMissingSubject = errors.New("auth: token has no valid sub claim")
	// ErrCriticalHeader: the token has a crit header (RFC 7515 4.1.11). crit lists extensions
	// the recipient must understand, and the gateway understands none, so any crit (even an
	// empty or malformed one) makes the token invalid.
	ErrCriticalHeader = errors.New("auth: token has a crit header")
	// ErrNonNumericDate: exp, nbf or iat is not a JSON number (RFC 7519 2, NumericDate).
	ErrNonNumericDate = errors.New("auth: exp, nbf and iat must be JSON numbers")
	// ErrInvalidScopeClaim: scope is present but not a string (RFC 8693 4.2, RFC 9068 2.2.3),
	// or, without scope, scp is neither a string nor an array of strings.
	ErrInvalidScopeClaim = errors.New("auth: scope must be a space-separated string, scp a string or an array of strings")
)

// claims are the claims the gateway reads: the registered ones plus the scopes (see scopes).
// The dates are read as strictDate (golang-jwt alone also takes "exp":"9999999999"); they
// replace the embedded ones, which stay empty, for decoding and for the parser's validation
// (the Get methods).
type claims struct {
	jwt.RegisteredClaims
	Exp   strictDate `json:"exp"`
	Nbf   strictDate `json:"nbf"`
	Iat   strictDate `json:"iat"`
	Scope rawClaim   `json:"scope"`
	Scp   rawClaim   `json:"scp"`
}

// rawClaim is a claim whose presence matters apart from its value ("scope":null is present).
type rawClaim struct {
	present bool
	value   any
}

// UnmarshalJSON records that the claim is present and decodes its value.
func (r *rawClaim) UnmarshalJSON(b []byte) error {
	r.present = true
	return json.Unmarshal(b, &r.value)
}

// GetExpirationTime returns exp (nil when absent).
func (c *claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.Exp.date, nil }

// GetNotBefore returns nbf (nil when absent).
func (c *claims) GetNotBefore() (*jwt.NumericDate, error) { return c.Nbf.date, nil }

// GetIssuedAt returns iat (nil when absent).
func (c *claims) GetIssuedAt() (*jwt.NumericDate, error) { return c.Iat.date, nil }

// strictDate is a NumericDate claim that must be a JSON number.
type strictDate struct{ date *jwt.NumericDate }

// UnmarshalJSON refuses anything but a JSON number (a string, null, a boolean).
func (d *strictDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return ErrNonNumericDate
	}
	d.date = new(jwt.NumericDate)
	return d.date.UnmarshalJSON(b)
}

// scopes returns the token's scopes, strictly and never from two claims at once:
//   - scope, when present, is the only source and must be a space-separated string (RFC 8693
//     4.2, RFC 9068 2.2.3); any other JSON type (array, number, null) is ErrInvalidScopeClaim;
//   - only without scope, scp is read: an array of strings (Okta and others) or a
//     space-separated string (as Azure AD issues it); any other type is ErrInvalidScopeClaim.
//
// Entries that are not valid scope tokens (empty, spaces or control characters inside an
// array entry, over 256 bytes, non-ASCII) are dropped, which only ever grants less; the
// result is in order, without duplicates.
func (c *claims) scopes() ([]string, error) {
	var out []string
	add := func(s string) {
		for f := range strings.FieldsSeq(s) {
			if validScope(f) && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	if c.Scope.present {
		s, ok := c.Scope.value.(string)
		if !ok {
			return nil, ErrInvalidScopeClaim
		}
		add(s)
		return out, nil
	}
	if !c.Scp.present {
		return nil, nil
	}
	switch v := c.Scp.value.(type) {
	case string:
		add(v)
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, ErrInvalidScopeClaim
			}
			if !strings.ContainsAny(s, " \t\n\r\f\v") {
				add(s)
			}
		}
	default:
		return nil, ErrInvalidScopeClaim
	}
	return out, nil
}

type hmacKey struct {
	kid    string
	secret []byte
}

// jwtVerifier verifies bearer tokens. Safe for concurrent use.
type jwtVerifier struct {
	parser   *jwt.Parser
	maxBytes int
	hmac     []hmacKey
	jwks     keyfunc.Keyfunc // nil without jwks
	cancel   context.CancelFunc
	cache    verifiedCache
	now      func() time.Time
}

// newJWTVerifier builds the verifier from a validated config; nil when JWT is not configured.
func newJWTVerifier(cfg JWT, logger *slog.Logger) (*jwtVerifier, error) {
	if !cfg.Configured() {
		return nil, nil
	}
	v := &jwtVerifier{
		maxBytes: cfg.MaxTokenBytes,
		parser: jwt.NewParser(
			jwt.WithValidMethods(cfg.Algorithms),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(cfg.ClockSkew),
			jwt.WithStrictDecoding(),
		),
		cancel: func() {},
		now:    time.Now,
	}
	for _, k := range cfg.HMACKeys {
		secret, err := k.secret()
		if err != nil {
			return nil, err
		}
		v.hmac = append(v.hmac, hmacKey{kid: k.KID, secret: secret})
	}
	switch {
	case cfg.JWKS.File != "":
		raw, err := os.ReadFile(cfg.JWKS.File)
		if err != nil {
			return nil, fmt.Errorf("auth: jwt.jwks.file: %w", err)
		}
		if v.jwks, err = keyfunc.NewJWKSetJSON(json.RawMessage(raw)); err != nil {
			return nil, fmt.Errorf("auth: jwt.jwks.file: %w", err)
		}
	case cfg.JWKS.URL != "":
		ctx, cancel := context.WithCancel(context.Background())
		c := cfg.JWKS
		client, err := jwksClient(c)
		if err != nil {
			cancel()
			return nil, err
		}
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{c.URL}, keyfunc.Override{
			Client:          client,
			HTTPTimeout:     c.Timeout,
			RefreshInterval: c.RefreshInterval,
			// One unknown-kid refresh per refreshRateLimit; a request waits at most Timeout
			// for its turn (else it fails at once), so unknown kids cannot pile requests up.
			RefreshUnknownKID: rate.NewLimiter(rate.Every(c.RefreshRateLimit), 1),
			RateLimitWaitMax:  c.Timeout,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(ctx context.Context, err error) {
					logger.ErrorContext(ctx, "refreshing the JWKS failed", "url", u, "error", err.Error())
				}
			},
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("auth: jwt.jwks.url: %w", err)
		}
		v.jwks, v.cancel = kf, cancel
	}
	return v, nil
}

// verify checks raw and returns the caller it identifies.
func (v *jwtVerifier) verify(ctx context.Context, raw string) (identity.Identity, error) {
	if len(raw) > v.maxBytes {
		return identity.Identity{}, ErrTokenTooLarge
	}
	now := v.now()
	if id, ok := v.cache.get(raw, now); ok {
		return id, nil
	}
	var c claims
	tok, err := v.parser.ParseWithClaims(raw, &c, v.keyfunc(ctx))
	if err != nil {
		return identity.Identity{}, err
	}
	if !validSubject(c.Subject) {
		return identity.Identity{}, ErrMissingSubject
	}
	scopes, err := c.scopes()
	if err != nil {
		return identity.Identity{}, err
	}
	id := identity.Identity{Subject: c.Subject, Scopes: scopes, Method: MethodBearer}
	// Only tokens signed with a configured HMAC key are remembered: a key retired from the
	// JWKS must stop being honoured at the next refresh, not a minute later.
	if _, hmac := tok.Method.(*jwt.SigningMethodHMAC); hmac && c.Exp.date != nil {
		v.cache.put(raw, id, c.Exp.date.Time, now)
	}
	return id, nil
}

// keyfunc picks the verification key by the token's algorithm family first, so that a key
// is only ever used with its own family: HMAC secrets for HS*, JWKS keys of the matching
// type for RS*/PS*, ES* and EdDSA. The parser has already refused algorithms not pinned.
func (v *jwtVerifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, crit := t.Header["crit"]; crit {
			return nil, ErrCriticalHeader
		}
		kid, hasKID := t.Header["kid"].(string)
		if _, present := t.Header["kid"]; present && !hasKID {
			return nil, ErrUnknownKID
		}
		switch t.Method.(type) {
		case *jwt.SigningMethodHMAC:
			return v.hmacKey(kid, hasKID)
		case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS, *jwt.SigningMethodECDSA, *jwt.SigningMethodEd25519:
			if v.jwks == nil {
				return nil, ErrNoKeyForAlgorithm
			}
			key, err := v.jwks.KeyfuncCtx(ctx)(t)
			if err != nil {
				return nil, errors.Join(ErrUnknownKID, err)
			}
			return keyForMethod(t.Method, key)
		default:
			return nil, ErrNoKeyForAlgorithm
		}
	}
}

func (v *jwtVerifier) hmacKey(kid string, hasKID bool) (any, error) {
	if len(v.hmac) == 0 {
		return nil, ErrNoKeyForAlgorithm
	}
	if hasKID {
		for _, k := range v.hmac {
			if k.kid == kid {
				return k.secret, nil
			}
		}
		return nil, ErrUnknownKID
	}
	set := jwt.VerificationKeySet{}
	for _, k := range v.hmac {
		set.Keys = append(set.Keys, k.secret)
	}
	return set, nil
}

// keyForMethod keeps only the keys whose type belongs to m's family (a JWKS may also
// publish symmetric "oct" keys: they must never verify anything here).
func keyForMethod(m jwt.SigningMethod, key any) (any, error) {
	if set, ok := key.(jwt.VerificationKeySet); ok {
		out := jwt.VerificationKeySet{}
		for _, k := range set.Keys {
			if matchesMethod(m, k) {
				out.Keys = append(out.Keys, k)
			}
		}
		if len(out.Keys) == 0 {
			return nil, ErrNoKeyForAlgorithm
		}
		return out, nil
	}
	if !matchesMethod(m, key) {
		return nil, ErrNoKeyForAlgorithm
	}
	return key, nil
}

func matchesMethod(m jwt.SigningMethod, key any) bool {
	switch m.(type) {
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		_, ok := key.(*rsa.PublicKey)
		return ok
	case *jwt.SigningMethodECDSA:
		_, ok := key.(*ecdsa.PublicKey)
		return ok
	case *jwt.SigningMethodEd25519:
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}

// jwksClient is the HTTP client that fetches the key set: bounded in time and size, with
// the configured TLS, and refusing redirects from https to http.
func jwksClient(c JWKS) (*http.Client, error) {
	tlsCfg, err := tlsconfig.NewClient(c.TLS)
	if err != nil {
		return nil, fmt.Errorf("auth: jwt.jwks.tls: %w", err)
	}
	base := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, TLSHandshakeTimeout: c.Timeout}
	if def, ok := http.DefaultTransport.(*http.Transport); ok {
		base = def.Clone()
	}
	base.TLSClientConfig = tlsCfg
	return &http.Client{
		Timeout:   c.Timeout,
		Transport: limitTransport{base: base, max: c.MaxBytes},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("auth: too many JWKS redirects")
			}
			if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return errors.New("auth: refusing a JWKS redirect from https to http")
			}
			return nil
		},
	}, nil
}

// Close stops the background JWKS refresh. Safe to call more than once.
func (v *jwtVerifier) Close() error {
	v.cancel()
	return nil
}

// limitTransport refuses JWKS responses larger than max bytes.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	res.Body = &limitedBody{r: io.LimitReader(res.Body, t.max+1), c: res.Body, left: t.max}
	return res, nil
}

type limitedBody struct {
	r    io.Reader
	c    io.Closer
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, errors.New("auth: JWKS response too large")
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.c.Close() }
