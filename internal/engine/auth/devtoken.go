package auth

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/golang-jwt/jwt/v5"
)

// ErrDevTokenDisabled is returned by IssueDevToken when devToken.enabled is false.
var ErrDevTokenDisabled = errors.New("auth: development tokens are disabled (devToken.enabled is false)")

// IssueDevToken returns a development JWT for subject holding scopes: HS256, signed with the
// first HMAC key (its kid in the header when set), iss and aud from cfg, iat and nbf now, exp
// now+ttl (devToken.ttl when ttl is 0; at most MaxDevTokenTTL). It refuses when cfg is
// invalid or development tokens are disabled. cfg must be defaulted (config.Load does it).
// For the `contractgate token` command.
func IssueDevToken(cfg Config, subject string, scopes []string, ttl time.Duration) (string, error) {
	if err := cfg.Validate(false); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if !cfg.DevToken.Enabled {
		return "", ErrDevTokenDisabled
	}
	if ttl == 0 {
		ttl = cfg.DevToken.TTL
	}
	if ttl < 0 || ttl > MaxDevTokenTTL {
		return "", fmt.Errorf("auth: token lifetime must be positive and at most %s, got %s", MaxDevTokenTTL, ttl)
	}
	if !validSubject(subject) {
		return "", fmt.Errorf("auth: subject must be 1 to 256 printable characters, got %q", subject)
	}
	for _, s := range scopes {
		if !validScope(s) {
			return "", fmt.Errorf("auth: scope must be printable, without spaces, got %q", s)
		}
	}
	key := cfg.JWT.HMACKeys[0]
	secret, err := key.secret()
	if err != nil {
		return "", fmt.Errorf("auth: jwt.hmacKeys[0]: %w", err)
	}
	now := time.Now()
	var c struct {
		jwt.RegisteredClaims
		Scope string `json:"scope,omitempty"`
	}
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    cfg.JWT.Issuer,
		Subject:   subject,
		Audience:  jwt.ClaimStrings{cfg.JWT.Audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	if len(scopes) > 0 {
		c.Scope = strings.Join(scopes, " ")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	if key.KID != "" {
		t.Header["kid"] = key.KID
	}
	return t.SignedString(secret)
}

// ContractScopes returns every scope doc declares for its security, sorted and without
// duplicates: the scopes the operations' security requirements (and the document's) name, and
// those of its oauth2 schemes' flows. It is the `contractgate token` command's default, so
// that a development token may call every operation of whatever contract is served.
func ContractScopes(doc *openapi3.T) []string {
	var out []string
	add := func(reqs openapi3.SecurityRequirements) {
		for _, req := range reqs {
			for _, scopes := range req {
				out = append(out, scopes...)
			}
		}
	}
	if doc == nil {
		return nil
	}
	add(doc.Security)
	if doc.Paths != nil {
		for _, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				if op.Security != nil {
					add(*op.Security)
				}
			}
		}
	}
	if doc.Components != nil {
		for _, ref := range doc.Components.SecuritySchemes {
			if ref == nil || ref.Value == nil || ref.Value.Flows == nil {
				continue
			}
			f := ref.Value.Flows
			for _, flow := range []*openapi3.OAuthFlow{f.Implicit, f.Password, f.ClientCredentials, f.AuthorizationCode} {
				if flow != nil {
					out = append(out, slices.Collect(maps.Keys(flow.Scopes))...)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
