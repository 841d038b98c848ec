package auth

import (
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
)

// validToken reports whether s is an RFC 9110 token (a header field name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validRealm reports whether r fits a WWW-Authenticate quoted-string as is.
func validRealm(r string) bool {
	if r == "" || len(r) > 128 {
		return false
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// DevHMACSecret is the development JWT signing secret that the demo configuration carries.
// It is public (it is in the repository), so Validate refuses it when production is true.
const DevHMACSecret = "contractgate-dev-hmac-secret-NOT-FOR-PRODUCTION-0001"

// DemoAPIKeySHA256 is the SHA-256 (hex) of the demo API key "demo-key-alice-0123456789abcdef"
// that the demo configuration carries. It is public, so Validate refuses it when production
// is true.
const DemoAPIKeySHA256 = "dc275ab1c4bc17899cdfff16563da508be4c9275589ce936577f52f0512f22bb"

// Limits and defaults of the configuration.
const (
	// MinHMACSecretBytes is the shortest HMAC secret accepted (256 bits, as RFC 7518 3.2
	// requires for HS256).
	MinHMACSecretBytes = 32
	// MaxClockSkew is the largest clockSkew accepted.
	MaxClockSkew = 5 * time.Minute
	// MaxDevTokenTTL is the longest lifetime of a development token.
	MaxDevTokenTTL = 24 * time.Hour
)

// Config configures authentication (see New). The zero value, after SetDefaults, accepts
// no credentials at all: every secured operation answers 401.
type Config struct {
	// JWT configures bearer tokens (the contract's http bearer, oauth2 and openIdConnect
	// schemes). Unset (no hmacKeys, no jwks) means no token is ever accepted.
	JWT JWT `yaml:"jwt"`
	// APIKeys are the accepted API keys (the contract's apiKey schemes, sent in the header
	// the scheme names, e.g. X-API-Key). Only their SHA-256 is configured.
	APIKeys []APIKey `yaml:"apiKeys"`
	// DevToken configures issuing development tokens (the `contractgate token` command).
	DevToken DevToken `yaml:"devToken"`
	// Realm is the realm named in every WWW-Authenticate challenge: printable ASCII without
	// quotes or backslashes, at most 128 characters. Default DefaultRealm ("contractgate").
	Realm string `yaml:"realm"`
	// IdentityHeader is the request header the gateway sets to the caller's subject on every
	// upstream call, and removes from every client request first: an HTTP header name.
	// Default identity.DefaultHeader (X-Contractgate-Subject).
	IdentityHeader string `yaml:"identityHeader"`
}

// DefaultRealm is the default of Config.Realm.
const DefaultRealm = "contractgate"

// JWT configures how bearer tokens are verified.
type JWT struct {
	// HMACKeys are shared secrets for HS256/HS384/HS512 tokens. A token with a kid header
	// must name one of them; a token without kid is tried against each.
	HMACKeys []HMACKey `yaml:"hmacKeys"`
	// JWKS is where RS*/PS*/ES*/EdDSA public keys come from.
	JWKS JWKS `yaml:"jwks"`
	// Issuer is the required iss claim. Required when JWT is configured.
	Issuer string `yaml:"issuer"`
	// Audience is the aud the token must carry (one of its values). Required when JWT is
	// configured.
	Audience string `yaml:"audience"`
	// Algorithms are the accepted alg values, pinned. Default: HS256 when hmacKeys are set,
	// plus RS256 and ES256 when jwks is set. "none" is never accepted; HS* requires hmacKeys
	// and the asymmetric algorithms require jwks, and a key is only ever used with its own
	// family (an HMAC secret never verifies an RS/ES token, a JWKS key never an HS token).
	Algorithms []string `yaml:"algorithms"`
	// ClockSkew is the leeway allowed on exp, nbf and iat. Default (and when 0) 30s, at most 5m.
	ClockSkew time.Duration `yaml:"clockSkew"`
	// MaxTokenBytes caps the token's length in bytes; longer tokens are refused before
	// parsing. Default 8192, between 512 and 65536.
	MaxTokenBytes int `yaml:"maxTokenBytes"`
}

// HMACKey is one shared secret for HS* tokens.
type HMACKey struct {
	// KID is the key id a token names in its kid header. Optional; unique when set.
	KID string `yaml:"kid"`
	// Secret is the secret itself, at least 32 bytes. Exactly one of secret and secretEnv.
	Secret string `yaml:"secret"`
	// SecretEnv names an environment variable holding the secret (at least 32 bytes), so
	// that the secret stays out of the file.
	SecretEnv string `yaml:"secretEnv"`
}

// JWKS configures a JSON Web Key Set.
type JWKS struct {
	// URL is an http(s) URL serving the key set (https when production). The set is fetched
	// at start-up (a failure is logged; the gateway still starts and keeps retrying), then
	// every refreshInterval, and again when a token names an unknown kid (rate limited).
	// Exclusive with file.
	URL string `yaml:"url"`
	// File is a local key set file, read once at start-up. Exclusive with url.
	File string `yaml:"file"`
	// RefreshInterval is how often the set at url is fetched again. Default 15m.
	RefreshInterval time.Duration `yaml:"refreshInterval"`
	// RefreshRateLimit is the minimum gap between two fetches triggered by unknown kids.
	// Default 1m.
	RefreshRateLimit time.Duration `yaml:"refreshRateLimit"`
	// Timeout bounds one fetch of the set, and how long a request may wait for a fetch
	// triggered by an unknown kid. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBytes caps the size of the fetched set, in bytes. Default 1048576 (1 MiB).
	MaxBytes int64 `yaml:"maxBytes"`
	// TLS configures the connection to url: a private CA (caFile), a client certificate.
	// Default: the system roots, TLS 1.2 or later.
	TLS tlsconfig.ClientConfig `yaml:"tls"`
}

// APIKey is one accepted API key.
type APIKey struct {
	// ID names the key in logs (never the key itself). Required, unique.
	ID string `yaml:"id"`
	// Owner is the subject a request with this key acts as. Required.
	Owner string `yaml:"owner"`
	// SHA256 is the hex SHA-256 of the key. Required; the key itself is never configured.
	SHA256 string `yaml:"sha256"`
	// Scopes are the scopes the key grants.
	Scopes []string `yaml:"scopes"`
}

// DevToken configures development tokens (IssueDevToken). Never in production.
type DevToken struct {
	// Enabled allows issuing development tokens, signed with the first HMAC key. Default false.
	Enabled bool `yaml:"enabled"`
	// TTL is the default lifetime of an issued token. Default 1h, at most 24h.
	TTL time.Duration `yaml:"ttl"`
}

// FieldError is a configuration problem at a key path relative to this package's Config.
type FieldError = configerr.FieldError

// FieldErrors returns every *FieldError in err (as joined by Validate), in order.
func FieldErrors(err error) []*FieldError { return configerr.List(err) }

// lookupEnv reads HMAC secrets named by secretEnv (a variable for tests).
var lookupEnv = os.LookupEnv

var (
	hmacAlgorithms       = []string{"HS256", "HS384", "HS512"}
	asymmetricAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// Configured reports whether any bearer token source is set.
func (j JWT) Configured() bool {
	return len(j.HMACKeys) > 0 || j.JWKS.URL != "" || j.JWKS.File != ""
}

// SetDefaults fills every unset field with its documented default.
func (c *Config) SetDefaults() {
	j := &c.JWT
	if len(j.Algorithms) == 0 {
		if len(j.HMACKeys) > 0 {
			j.Algorithms = append(j.Algorithms, "HS256")
		}
		if j.JWKS.URL != "" || j.JWKS.File != "" {
			j.Algorithms = append(j.Algorithms, "RS256", "ES256")
		}
	}
	if j.ClockSkew == 0 {
		j.ClockSkew = 30 * time.Second
	}
	if j.MaxTokenBytes == 0 {
		j.MaxTokenBytes = 8192
	}
	if j.JWKS.RefreshInterval == 0 {
		j.JWKS.RefreshInterval = 15 * time.Minute
	}
	if j.JWKS.RefreshRateLimit == 0 {
		j.JWKS.RefreshRateLimit = time.Minute
	}
	if j.JWKS.Timeout == 0 {
		j.JWKS.Timeout = 5 * time.Second
	}
	if j.JWKS.MaxBytes == 0 {
		j.JWKS.MaxBytes = 1 << 20
	}
	j.JWKS.TLS.SetDefaults()
	if c.DevToken.TTL == 0 {
		c.DevToken.TTL = time.Hour
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.IdentityHeader == "" {
		c.IdentityHeader = identity.DefaultHeader
	}
}

// Validate checks the configuration (after SetDefaults) and returns every problem, each a
// *FieldError. With production true it also refuses development credentials: the demo HMAC
// secret, the demo API key, development tokens, and a JWKS URL that is not https.
func (c *Config) Validate(production bool) error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	if !validRealm(c.Realm) {
		bad("realm", "must be 1 to 128 printable ASCII characters without quotes or backslashes, got %q", c.Realm)
	}
	if !validToken(c.IdentityHeader) {
		bad("identityHeader", "must be an HTTP header name (a token, e.g. X-User-Id), got %q", c.IdentityHeader)
	}
	j := c.JWT
	if j.Configured() {
		if j.Issuer == "" {
			bad("jwt.issuer", "is required")
		}
		if j.Audience == "" {
			bad("jwt.audience", "is required")
		}
	}
	kids := map[string]bool{}
	for i, k := range j.HMACKeys {
		p := fmt.Sprintf("jwt.hmacKeys[%d]", i)
		if k.KID != "" {
			if kids[k.KID] {
				bad(p+".kid", "duplicate kid %q", k.KID)
			}
			kids[k.KID] = true
		}
		secret, err := k.secret()
		switch {
		case err != nil:
			bad(p, "%s", err)
		case len(secret) < MinHMACSecretBytes:
			bad(p+".secret", "must be at least %d bytes, got %d", MinHMACSecretBytes, len(secret))
		case production && string(secret) == DevHMACSecret:
			bad(p+".secret", "is the public development secret, refused when env is production")
		}
	}
	if j.JWKS.URL != "" && j.JWKS.File != "" {
		bad("jwt.jwks", "set url or file, not both")
	}
	if j.JWKS.URL != "" {
		u, err := url.Parse(j.JWKS.URL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			bad("jwt.jwks.url", "must be an absolute http or https URL, got %q", j.JWKS.URL)
		case production && u.Scheme != "https":
			bad("jwt.jwks.url", "must be https when env is production")
		}
	}
	for _, fe := range tlsconfig.FieldErrors(j.JWKS.TLS.Validate(production)) {
		bad("jwt.jwks.tls."+fe.Path, "%s", fe.Problem)
	}
	positive := func(path string, d time.Duration) {
		if d <= 0 {
			bad(path, "must be a positive duration, got %s", d)
		}
	}
	positive("jwt.jwks.refreshInterval", j.JWKS.RefreshInterval)
	positive("jwt.jwks.refreshRateLimit", j.JWKS.RefreshRateLimit)
	positive("jwt.jwks.timeout", j.JWKS.Timeout)
	if j.JWKS.MaxBytes < 1024 {
		bad("jwt.jwks.maxBytes", "must be at least 1024, got %d", j.JWKS.MaxBytes)
	}
	hasJWKS := j.JWKS.URL != "" || j.JWKS.File != ""
	for i, alg := range j.Algorithms {
		p := fmt.Sprintf("jwt.algorithms[%d]", i)
		switch {
		case strings.EqualFold(alg, "none"):
			bad(p, `"none" is never accepted`)
		case slices.Contains(hmacAlgorithms, alg):
			if len(j.HMACKeys) == 0 {
				bad(p, "%s requires jwt.hmacKeys", alg)
			}
		case slices.Contains(asymmetricAlgorithms, alg):
			if !hasJWKS {
				bad(p, "%s requires jwt.jwks", alg)
			}
		default:
			bad(p, "unknown algorithm %q (known: %s)", alg, strings.Join(append(slices.Clone(hmacAlgorithms), asymmetricAlgorithms...), ", "))
		}
	}
	if j.Configured() && len(j.Algorithms) == 0 {
		bad("jwt.algorithms", "must name at least one algorithm")
	}
	if j.ClockSkew < 0 || j.ClockSkew > MaxClockSkew {
		bad("jwt.clockSkew", "must be between 0 and %s, got %s", MaxClockSkew, j.ClockSkew)
	}
	if j.MaxTokenBytes < 512 || j.MaxTokenBytes > 64<<10 {
		bad("jwt.maxTokenBytes", "must be between 512 and 65536, got %d", j.MaxTokenBytes)
	}

	ids, hashes := map[string]bool{}, map[string]bool{}
	for i, k := range c.APIKeys {
		p := fmt.Sprintf("apiKeys[%d]", i)
		if k.ID == "" {
			bad(p+".id", "is required")
		} else if ids[k.ID] {
			bad(p+".id", "duplicate id %q", k.ID)
		}
		ids[k.ID] = true
		if !validSubject(k.Owner) {
			bad(p+".owner", "must be 1 to 256 printable characters, got %q", k.Owner)
		}
		h := strings.ToLower(k.SHA256)
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
			bad(p+".sha256", "must be 64 hex digits (the SHA-256 of the key, never the key itself)")
		} else if hashes[h] {
			bad(p+".sha256", "duplicate key")
		} else if production && h == DemoAPIKeySHA256 {
			bad(p+".sha256", "is the public demo key, refused when env is production")
		}
		hashes[h] = true
		for s, scope := range k.Scopes {
			if !validScope(scope) {
				bad(fmt.Sprintf("%s.scopes[%d]", p, s), "must be printable, without spaces, got %q", scope)
			}
		}
	}

	d := c.DevToken
	if d.TTL <= 0 || d.TTL > MaxDevTokenTTL {
		bad("devToken.ttl", "must be positive and at most %s, got %s", MaxDevTokenTTL, d.TTL)
	}
	if d.Enabled {
		if production {
			bad("devToken.enabled", "must be false when env is production")
		}
		if len(j.HMACKeys) == 0 {
			bad("devToken.enabled", "requires jwt.hmacKeys (tokens are signed with the first)")
		} else if !slices.Contains(j.Algorithms, "HS256") {
			bad("devToken.enabled", "requires HS256 in jwt.algorithms")
		}
	}
	return errors.Join(errs...)
}

// secret returns the key's secret, from secret or the variable secretEnv names.
func (k HMACKey) secret() ([]byte, error) {
	switch {
	case k.Secret != "" && k.SecretEnv != "":
		return nil, errors.New("set secret or secretEnv, not both")
	case k.Secret != "":
		return []byte(k.Secret), nil
	case k.SecretEnv != "":
		v, ok := lookupEnv(k.SecretEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("secretEnv: environment variable %s is not set", k.SecretEnv)
		}
		return []byte(v), nil
	default:
		return nil, errors.New("secret or secretEnv is required")
	}
}

// validSubject reports whether s can be a caller's subject: 1 to 256 bytes of valid UTF-8
// without control characters (it is forwarded upstream in a header).
func validSubject(s string) bool {
	// "." and ".." would change the path of upstream calls that carry the subject.
	if s == "" || s == "." || s == ".." || len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validScope reports whether s can be a scope: 1 to 256 printable ASCII characters, no space.
func validScope(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
