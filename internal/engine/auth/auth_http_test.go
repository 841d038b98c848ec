package auth_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// fullConfig accepts HS256 tokens (an HMAC key), RS256/ES256 tokens (the JWKS at jwksURL)
// and two API keys: alice's with scopes, bob's without.
func fullConfig(jwksURL string) auth.Config {
	return auth.Config{
		JWT: auth.JWT{
			HMACKeys: []auth.HMACKey{{KID: "hs-1", Secret: testSecret}},
			JWKS:     auth.JWKS{URL: jwksURL},
			Issuer:   testIssuer,
			Audience: testAudience,
		},
		APIKeys: []auth.APIKey{
			{ID: "alice-key", Owner: "alice", SHA256: sha(aliceKey), Scopes: []string{"orders:read", "orders:write"}},
			{ID: "bob-key", Owner: "bob", SHA256: strings.ToUpper(sha(bobKey))},
		},
	}
}

var routeParam = regexp.MustCompile(`:[A-Za-z]+`)

// target turns an Echo route into a concrete path.
func target(op *routes.Operation) string { return routeParam.ReplaceAllString(op.Route, "x1") }

// bearerScopes returns the scopes op's bearerAuth alternative requires.
func bearerScopes(op *routes.Operation) []string {
	for _, req := range op.Security {
		if s, ok := req["bearerAuth"]; ok {
			return s
		}
	}
	return nil
}

// TestSecuredAndPublicOperations sends valid credentials of every kind to every secured
// operation of the contract, and none to the public ones.
func TestSecuredAndPublicOperations(t *testing.T) {
	t.Parallel()
	jwks := newJWKSServer(t, rsaJWK("rsa-a", rsaA()), ecJWK("ec-a", ecA()))
	ts := gateway(t, fullConfig(jwks.URL))
	tbl, _ := table()

	var secured, public int
	for _, op := range tbl.All() {
		if len(op.Security) == 0 {
			public++
			t.Run(op.ID+"/public without credentials", func(t *testing.T) {
				t.Parallel()
				got := do(t, ts, op.Method, target(op), identity.DefaultHeader, "mallory").identityOf(t)
				if got.Operation != op.ID || got.Authenticated || got.SubjectHeader != "" {
					t.Fatalf("public operation saw %+v", got)
				}
			})
			continue
		}
		secured++
		scopes := bearerScopes(op)
		if len(scopes) == 0 {
			t.Fatalf("%s: no bearer scopes in %v", op.ID, op.Security)
		}
		scope := strings.Join(scopes, " ")
		creds := []struct {
			desc, header, value string
			method, subject     string
			keyID               string
		}{
			{"HS256 token", "Authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret), "hs-1", claims("carol", scope)), auth.MethodBearer, "carol", ""},
			{"HS256 token without kid", "Authorization", "bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims("carol", scope)), auth.MethodBearer, "carol", ""},
			{"RS256 token from the JWKS", "Authorization", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaA(), "rsa-a", claims("dave", scope)), auth.MethodBearer, "dave", ""},
			{"ES256 token from the JWKS", "Authorization", "Bearer " + sign(t, jwt.SigningMethodES256, ecA(), "ec-a", claims("erin", scope)), auth.MethodBearer, "erin", ""},
			{"scp array claim", "Authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret), "hs-1", claims("frank", "", func(c jwt.MapClaims) {
				delete(c, "scope")
				c["scp"] = scopes
			})), auth.MethodBearer, "frank", ""},
			{"API key with scopes", "X-API-Key", aliceKey, auth.MethodAPIKey, "alice", "alice-key"},
		}
		// The contract gives apiKeyAuth roles (OpenAPI 3.1): a key without them is forbidden.
		t.Run(op.ID+"/API key without the operation's role", func(t *testing.T) {
			t.Parallel()
			if r := do(t, ts, op.Method, target(op), "x-api-key", bobKey); r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", r.status)
			}
		})
		for _, cr := range creds {
			t.Run(op.ID+"/"+cr.desc, func(t *testing.T) {
				t.Parallel()
				// A client-supplied identity header never becomes the identity.
				got := do(t, ts, op.Method, target(op), cr.header, cr.value, identity.DefaultHeader, "mallory").identityOf(t)
				if !got.Authenticated || got.Subject != cr.subject || got.Method != cr.method || got.KeyID != cr.keyID || got.Operation != op.ID {
					t.Fatalf("identity %+v, want subject %s method %s keyId %q", got, cr.subject, cr.method, cr.keyID)
				}
				if got.SubjectHeader != "" {
					t.Fatalf("the client's %s reached the handler: %q", identity.DefaultHeader, got.SubjectHeader)
				}
				if cr.method == auth.MethodBearer && !slices.Equal(got.Scopes, scopes) {
					t.Fatalf("scopes %v, want %v", got.Scopes, scopes)
				}
			})
		}
	}
	if secured != 5 || public != 2 {
		t.Fatalf("%d secured and %d public operations, want 5 and 2", secured, public)
	}
	t.Run("operator endpoint passes through", func(t *testing.T) {
		t.Parallel()
		if r := do(t, ts, http.MethodGet, "/healthz"); r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
	})
}

// TestRefusedCredentials covers every way a credential is refused, on listOrders
// (bearerAuth [orders:read] OR apiKeyAuth) unless the case says otherwise.
func TestRefusedCredentials(t *testing.T) {
	t.Parallel()
	jwks := newJWKSServer(t, rsaJWK("rsa-a", rsaA()), ecJWK("ec-a", ecA()))
	cfg := fullConfig(jwks.URL)
	cfg.JWT.JWKS.RefreshRateLimit = time.Hour // one unknown-kid refresh at most
	ts, logs := gatewayWithLogs(t, cfg)

	hs := func(c jwt.MapClaims) string {
		return "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret), "hs-1", c)
	}
	rs := func(c jwt.MapClaims) string { return "Bearer " + sign(t, jwt.SigningMethodRS256, rsaA(), "rsa-a", c) }
	read := func(edits ...func(jwt.MapClaims)) jwt.MapClaims { return claims("carol", "orders:read", edits...) }
	set := func(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }
	del := func(k string) func(jwt.MapClaims) { return func(c jwt.MapClaims) { delete(c, k) } }
	hour := time.Hour

	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, read()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	big := read(set("pad", strings.Repeat("x", 9000)))

	const (
		noChallenge      = `Bearer realm="contractgate"`
		invalidChallenge = `Bearer realm="contractgate", error="invalid_token"`
		apiKeyChallenge  = `ApiKey realm="contractgate", header="X-API-Key"`
	)
	tests := []struct {
		desc    string
		method  string
		target  string
		headers []string
		status  int
		// want lists the WWW-Authenticate values expected (in order).
		want    []string
		message string
		// cause is part of the logged cause (never shown), so that each case fails for the
		// reason it is about.
		cause string
	}{
		{desc: "no credentials", status: 401, want: []string{noChallenge, apiKeyChallenge}, cause: "Missing or invalid credentials"},
		{desc: "garbage token", headers: []string{"Authorization", "Bearer not.a.jwt"}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "token is malformed"},
		{desc: "empty bearer token", headers: []string{"Authorization", "Bearer "}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "empty bearer token"},
		{desc: "two Authorization headers", headers: []string{"Authorization", hs(read()), "Authorization", hs(read())}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "several Authorization headers"},
		{desc: "other Authorization scheme", headers: []string{"Authorization", "Basic YWxpY2U6c2VjcmV0"}, status: 401, want: []string{noChallenge, apiKeyChallenge}, cause: "Missing or invalid credentials"},
		{desc: "alg none", headers: []string{"Authorization", "Bearer " + none}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "signing method none is invalid"},
		{desc: "alg confusion: HS256 signed with the RSA public key PEM, kid of the RSA key", headers: []string{"Authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, rsaPublicPEM(rsaA()), "rsa-a", read())}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "unknown key id"},
		{desc: "alg confusion: HS256 signed with the RSA public key PEM, no kid", headers: []string{"Authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, rsaPublicPEM(rsaA()), "", read())}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "signature is invalid"},
		{desc: "RS256 header on an HMAC kid", headers: []string{"Authorization", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaA(), "hs-1", read())}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "unknown key id"},
		{desc: "algorithm not pinned (HS512)", headers: []string{"Authorization", "Bearer " + sign(t, jwt.SigningMethodHS512, []byte(testSecret), "hs-1", read())}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "signing method HS512 is invalid"},
		{desc: "wrong HMAC secret", headers: []string{"Authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret+"x"), "hs-1", read())}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "signature is invalid"},
		{desc: "expired", headers: []string{"Authorization", hs(read(set("exp", time.Now().Add(-hour).Unix())))}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "token is expired"},
		{desc: "nbf in the future", headers: []string{"Authorization", rs(read(set("nbf", time.Now().Add(hour).Unix())))}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "token is not valid yet"},
		{desc: "iat in the future", headers: []string{"Authorization", hs(read(set("iat", time.Now().Add(hour).Unix())))}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "token used before issued"},
		{desc: "wrong iss", headers: []string{"Authorization", hs(read(set("iss", "https://evil.test")))}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "invalid issuer"},
		{desc: "wrong aud", headers: []string{"Authorization", rs(read(set("aud", "billing")))}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "invalid audience"},
		{desc: "missing exp", headers: []string{"Authorization", hs(read(del("exp")))}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "exp claim is required"},
		{desc: "missing sub", headers: []string{"Authorization", rs(read(del("sub")))}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "no valid sub claim"},
		{desc: "sub with a control character", headers: []string{"Authorization", hs(read(set("sub", "carol\nX-Evil: 1")))}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "no valid sub claim"},
		{desc: "unknown kid", headers: []string{"Authorization", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaB(), "rsa-unknown", read())}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "unknown key id"},
		{desc: "unknown HMAC kid", headers: []string{"Authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret), "hs-9", read())}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "unknown key id"},
		{desc: "oversized token", headers: []string{"Authorization", hs(big)}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "token too large"},
		{desc: "API key in the query string", target: "/v1/orders?api_key=" + aliceKey, status: 401, want: []string{noChallenge, apiKeyChallenge}, message: "query string", cause: "credentials in the query string"},
		{desc: "token in the query string, valid header too", target: "/v1/orders?Access_Token=x", headers: []string{"X-API-Key", aliceKey}, status: 401, want: []string{noChallenge, apiKeyChallenge}, message: "access_token", cause: "credentials in the query string"},
		{desc: "wrong API key", headers: []string{"X-API-Key", "test-key-mallory-000000000000000"}, status: 401, want: []string{noChallenge, apiKeyChallenge}, cause: "unknown API key"},
		{desc: "empty API key", headers: []string{"X-API-Key", ""}, status: 401, want: []string{noChallenge, apiKeyChallenge}, cause: "unknown API key"},
		{desc: "API key hash sent as the key", headers: []string{"X-API-Key", sha(aliceKey)}, status: 401, want: []string{noChallenge, apiKeyChallenge}, cause: "unknown API key"},
		{desc: "two API key headers", headers: []string{"X-API-Key", aliceKey, "X-API-Key", aliceKey}, status: 401, want: []string{noChallenge, apiKeyChallenge}, cause: "2 X-API-Key headers"},
		{desc: "invalid token with a wrong API key", headers: []string{"Authorization", "Bearer x.y.z", "X-API-Key", "nope"}, status: 401, want: []string{invalidChallenge, apiKeyChallenge}, cause: "token is malformed"},
		{desc: "token lacking the scope", method: http.MethodPost, target: "/v1/orders", headers: []string{"Authorization", hs(read())}, status: 403,
			want: []string{`Bearer realm="contractgate", error="insufficient_scope", scope="orders:write"`}, message: "orders:write", cause: "Missing required scope: orders:write"},
		{desc: "token without scopes", target: "/v1/me/dashboard", headers: []string{"Authorization", rs(claims("carol", ""))}, status: 403,
			want: []string{`Bearer realm="contractgate", error="insufficient_scope", scope="orders:read"`}, message: "orders:read", cause: "Missing required scope: orders:read"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			method, path := tt.method, tt.target
			if method == "" {
				method = http.MethodGet
			}
			if path == "" {
				path = "/v1/orders"
			}
			res := do(t, ts, method, path, tt.headers...)
			code := "UNAUTHORIZED"
			if tt.status == http.StatusForbidden {
				code = "FORBIDDEN"
			}
			msg := res.envelopeError(t, tt.status, code)
			if tt.message != "" && !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not name %q", msg, tt.message)
			}
			if got := res.header.Values("WWW-Authenticate"); !slices.Equal(got, tt.want) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.want)
			}
			if cause := logs.cause(res.header.Get("X-Request-Id")); !strings.Contains(cause, tt.cause) {
				t.Errorf("logged cause %q, want it to contain %q", cause, tt.cause)
			}
			if strings.Contains(string(res.body), "token is") || strings.Contains(string(res.body), "crypto") {
				t.Errorf("the envelope leaks a cause: %s", res.body)
			}
		})
	}
}

// TestAlgorithmConfusionJWKSOnly: a gateway with only a JWKS refuses an HS256 token signed
// with the RSA public key (as PEM, and as the raw modulus) used as an HMAC secret.
func TestAlgorithmConfusionJWKSOnly(t *testing.T) {
	t.Parallel()
	jwks := newJWKSServer(t, rsaJWK("rsa-a", rsaA()))
	ts := gateway(t, auth.Config{JWT: auth.JWT{JWKS: auth.JWKS{URL: jwks.URL}, Issuer: testIssuer, Audience: testAudience}})
	for _, secret := range [][]byte{rsaPublicPEM(rsaA()), rsaA().N.Bytes()} {
		for _, kid := range []string{"rsa-a", ""} {
			tok := sign(t, jwt.SigningMethodHS256, secret, kid, claims("carol", "orders:read"))
			r := do(t, ts, http.MethodGet, "/v1/orders", "Authorization", "Bearer "+tok)
			r.envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
			if !strings.Contains(challenges(r), `error="invalid_token"`) {
				t.Fatalf("challenge %q", challenges(r))
			}
		}
	}
	// The genuine RS256 token passes, so the refusals above are about the algorithm.
	ok := sign(t, jwt.SigningMethodRS256, rsaA(), "rsa-a", claims("carol", "orders:read"))
	if got := do(t, ts, http.MethodGet, "/v1/orders", "Authorization", "Bearer "+ok).identityOf(t); got.Subject != "carol" {
		t.Fatalf("identity %+v", got)
	}
}

// TestDevToken: a token from IssueDevToken passes the middleware built from the same config.
func TestDevToken(t *testing.T) {
	t.Parallel()
	cfg := auth.Config{
		JWT:      auth.JWT{HMACKeys: []auth.HMACKey{{KID: "dev", Secret: auth.DevHMACSecret}}, Issuer: "contractgate-dev", Audience: "storefront"},
		DevToken: auth.DevToken{Enabled: true},
	}
	cfg.SetDefaults()
	ts := gateway(t, cfg)
	tok, err := auth.IssueDevToken(cfg, "alice", []string{"orders:read", "orders:write"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := do(t, ts, http.MethodPost, "/v1/orders/x1/cancel", "Authorization", "Bearer "+tok).identityOf(t)
	if got.Subject != "alice" || !slices.Equal(got.Scopes, []string{"orders:read", "orders:write"}) {
		t.Fatalf("identity %+v", got)
	}
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte(auth.DevHMACSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("contractgate-dev"), jwt.WithAudience("storefront"))
	if err != nil {
		t.Fatal(err)
	}
	c := parsed.Claims.(jwt.MapClaims)
	if parsed.Header["kid"] != "dev" || c["exp"].(float64)-c["iat"].(float64) != 3600 || c["nbf"] != c["iat"] || c["scope"] != "orders:read orders:write" {
		t.Fatalf("dev token header %v claims %v", parsed.Header, c)
	}
}

func TestIssueDevTokenRefuses(t *testing.T) {
	t.Parallel()
	enabled := auth.Config{
		JWT:      auth.JWT{HMACKeys: []auth.HMACKey{{Secret: testSecret}}, Issuer: testIssuer, Audience: testAudience},
		DevToken: auth.DevToken{Enabled: true},
	}
	disabled := enabled
	disabled.DevToken.Enabled = false
	noIssuer := enabled
	noIssuer.JWT.Issuer = ""
	tests := []struct {
		desc    string
		cfg     auth.Config
		subject string
		scopes  []string
		ttl     time.Duration
		want    string
	}{
		{"disabled", disabled, "alice", nil, 0, "disabled"},
		{"invalid config", noIssuer, "alice", nil, 0, "jwt.issuer: is required"},
		{"ttl too long", enabled, "alice", nil, 25 * time.Hour, "at most 24h"},
		{"negative ttl", enabled, "alice", nil, -time.Second, "positive"},
		{"empty subject", enabled, "", nil, 0, "subject"},
		{"scope with a space", enabled, "alice", []string{"orders:read orders:write"}, 0, "scope"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			tt.cfg.SetDefaults()
			tok, err := auth.IssueDevToken(tt.cfg, tt.subject, tt.scopes, tt.ttl)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("IssueDevToken = %q, %v; want an error containing %q", tok, err, tt.want)
			}
		})
	}
}
