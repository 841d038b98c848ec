package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

func TestClaimScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		payload string // the scope-related members of the claims
		want    []string
		err     error
	}{
		{"none", `{}`, nil, nil},
		{"space separated", `{"scope":"orders:read  orders:write"}`, []string{"orders:read", "orders:write"}, nil},
		{"empty scope", `{"scope":""}`, nil, nil},
		{"scp array", `{"scp":["orders:read","orders:write"]}`, []string{"orders:read", "orders:write"}, nil},
		{"scp string (Azure AD)", `{"scp":"a b a"}`, []string{"a", "b"}, nil},
		{"scope wins over scp, never a union", `{"scope":"orders:read","scp":["orders:write"]}`, []string{"orders:read"}, nil},
		{"empty scope still wins over scp", `{"scope":"","scp":["orders:write"]}`, nil, nil},
		{"scope array refused", `{"scope":["a"]}`, nil, ErrInvalidScopeClaim},
		{"scope array refused even with scp", `{"scope":["a"],"scp":["a"]}`, nil, ErrInvalidScopeClaim},
		{"scope number refused", `{"scope":42}`, nil, ErrInvalidScopeClaim},
		{"scope null refused", `{"scope":null}`, nil, ErrInvalidScopeClaim},
		{"scope object refused", `{"scope":{"a":1}}`, nil, ErrInvalidScopeClaim},
		{"scp number refused", `{"scp":3}`, nil, ErrInvalidScopeClaim},
		{"scp null refused", `{"scp":null}`, nil, ErrInvalidScopeClaim},
		{"scp with a non-string entry refused", `{"scp":["a",3]}`, nil, ErrInvalidScopeClaim},
		{"scp entries with spaces dropped", `{"scp":["a b","c","c"]}`, []string{"c"}, nil},
		{"invalid tokens dropped", `{"scope":"a \u00e9t\u00e9 b"}`, []string{"a", "b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var c claims
			if err := json.Unmarshal([]byte(tt.payload), &c); err != nil {
				t.Fatal(err)
			}
			got, err := c.scopes()
			if !errors.Is(err, tt.err) || !slices.Equal(got, tt.want) {
				t.Fatalf("scopes() = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestKeyring(t *testing.T) {
	t.Parallel()
	r := newKeyring([]APIKey{
		{ID: "k1", Owner: "alice", SHA256: HashAPIKey("key-one"), Scopes: []string{"s1"}},
		{ID: "k2", Owner: "bob", SHA256: strings.ToUpper(HashAPIKey("key-two"))},
	})
	tests := []struct {
		desc, key, wantOwner, wantID string
	}{
		{"first key", "key-one", "alice", "k1"},
		{"second key, configured in upper case hex", "key-two", "bob", "k2"},
		{"unknown", "key-three", "", ""},
		{"empty", "", "", ""},
		{"prefix", "key-on", "", ""},
		{"too long", strings.Repeat("k", maxAPIKeyBytes+1), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			id, keyID, err := r.verify(tt.key)
			if tt.wantOwner == "" {
				if !errors.Is(err, ErrUnknownAPIKey) {
					t.Fatalf("verify = %+v, %v; want ErrUnknownAPIKey", id, err)
				}
				return
			}
			if err != nil || id.Subject != tt.wantOwner || keyID != tt.wantID || id.Method != MethodAPIKey {
				t.Fatalf("verify = %+v, %q, %v", id, keyID, err)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		values  []string
		token   string
		present bool
		wantErr bool
	}{
		{"absent", nil, "", false, false},
		{"bearer", []string{"Bearer abc"}, "abc", true, false},
		{"case and spaces", []string{"  bEaReR   abc  "}, "abc", true, false},
		{"basic is not a bearer credential", []string{"Basic abc"}, "", false, false},
		{"empty token", []string{"Bearer"}, "", true, true},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("Authorization", v)
			}
			token, present, err := bearerToken(h)
			if token != tt.token || present != tt.present || (err != nil) != tt.wantErr {
				t.Fatalf("bearerToken = %q, %v, %v", token, present, err)
			}
		})
	}
}

func TestKeyForMethod(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(goodSecret)
	tests := []struct {
		desc   string
		method jwt.SigningMethod
		key    any
		ok     bool
	}{
		{"ES256 with an EC key", jwt.SigningMethodES256, &ec.PublicKey, true},
		{"EdDSA with an Ed25519 key", jwt.SigningMethodEdDSA, edPub, true},
		{"RS256 with an EC key", jwt.SigningMethodRS256, &ec.PublicKey, false},
		{"ES256 with a symmetric JWKS key", jwt.SigningMethodES256, secret, false},
		{"PS256 with a symmetric JWKS key", jwt.SigningMethodPS256, secret, false},
		{"HS256 with anything from the JWKS", jwt.SigningMethodHS256, secret, false},
		{"set keeps only matching keys", jwt.SigningMethodES256, jwt.VerificationKeySet{Keys: []jwt.VerificationKey{secret, &ec.PublicKey}}, true},
		{"set without a matching key", jwt.SigningMethodES256, jwt.VerificationKeySet{Keys: []jwt.VerificationKey{secret, edPub}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := keyForMethod(tt.method, tt.key)
			if tt.ok != (err == nil) {
				t.Fatalf("keyForMethod = %v, %v", got, err)
			}
			if set, isSet := got.(jwt.VerificationKeySet); isSet && len(set.Keys) != 1 {
				t.Fatalf("set %v, want the EC key only", set.Keys)
			}
			if err != nil && !errors.Is(err, ErrNoKeyForAlgorithm) {
				t.Fatalf("error %v, want ErrNoKeyForAlgorithm", err)
			}
		})
	}
}

func TestSatisfy(t *testing.T) {
	t.Parallel()
	alice := func(method string, scopes ...string) outcome {
		return outcome{state: valid, id: identity.Identity{Subject: "alice", Scopes: scopes, Method: method}}
	}
	tests := []struct {
		desc     string
		req      openapi3.SecurityRequirement
		outcomes map[string]outcome
		ok       bool
		need     []string
		scopes   []string
	}{
		{"bearer with scope", openapi3.SecurityRequirement{"b": {"r"}}, map[string]outcome{"b": alice("bearer", "r", "w")}, true, nil, []string{"r", "w"}},
		{"bearer missing scopes", openapi3.SecurityRequirement{"b": {"r", "w"}}, map[string]outcome{"b": alice("bearer")}, true, []string{"r", "w"}, nil},
		{"absent", openapi3.SecurityRequirement{"b": {}}, map[string]outcome{"b": {state: absent}}, false, nil, nil},
		{"AND: both valid, scopes united", openapi3.SecurityRequirement{"a": {}, "b": {"w"}}, map[string]outcome{"a": alice("apiKey", "r"), "b": alice("bearer", "w")}, true, nil, []string{"r", "w"}},
		{"AND: one invalid", openapi3.SecurityRequirement{"a": {}, "b": {}}, map[string]outcome{"a": alice("apiKey"), "b": {state: invalid}}, false, nil, nil},
		{"AND: different subjects", openapi3.SecurityRequirement{"a": {}, "b": {}}, map[string]outcome{"a": alice("apiKey"), "b": {state: valid, id: identity.Identity{Subject: "bob"}}}, false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			id, _, need, ok := satisfy(tt.req, tt.outcomes)
			if ok != tt.ok || !slices.Equal(need, tt.need) {
				t.Fatalf("satisfy = %+v, need %v, ok %v", id, need, ok)
			}
			if ok && len(need) == 0 && !slices.Equal(id.Scopes, tt.scopes) {
				t.Fatalf("scopes %v, want %v", id.Scopes, tt.scopes)
			}
		})
	}
}

// docWith returns a one-operation contract (GET /x) whose operation requires scheme "s", or
// the requirements given.
func docWith(t *testing.T, scheme *openapi3.SecurityScheme, reqs ...openapi3.SecurityRequirement) *routes.Table {
	t.Helper()
	op := openapi3.NewOperation()
	op.OperationID = "op"
	if len(reqs) == 0 {
		reqs = []openapi3.SecurityRequirement{{"s": {}}}
	}
	sec := openapi3.SecurityRequirements(reqs)
	op.Security = &sec
	doc := &openapi3.T{OpenAPI: "3.1.0", Paths: openapi3.NewPaths(), Components: &openapi3.Components{}}
	doc.Paths.Set("/x", &openapi3.PathItem{Get: op})
	if scheme != nil {
		doc.Components.SecuritySchemes = openapi3.SecuritySchemes{"s": {Value: scheme}}
	}
	tbl, err := routes.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func TestNewRefusesUnsupportedSchemes(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		desc   string
		scheme *openapi3.SecurityScheme
		want   string
	}{
		{"undefined", nil, "does not define"},
		{"http basic", &openapi3.SecurityScheme{Type: "http", Scheme: "basic"}, "not supported"},
		{"api key in the query", &openapi3.SecurityScheme{Type: "apiKey", In: "query", Name: "k"}, "not supported"},
		{"api key in a cookie", &openapi3.SecurityScheme{Type: "apiKey", In: "cookie", Name: "k"}, "not supported"},
		{"mutual TLS", &openapi3.SecurityScheme{Type: "mutualTLS"}, "not supported"},
		{"bearer", &openapi3.SecurityScheme{Type: "http", Scheme: "Bearer"}, ""},
		{"oauth2", &openapi3.SecurityScheme{Type: "oauth2"}, ""},
		{"api key in a header", &openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: "X-Key"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			a, err := New(defaulted(Config{}), docWith(t, tt.scheme), logger)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				_ = a.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(defaulted(Config{}), nil, logger); err == nil {
		t.Fatal("New accepted a nil table")
	}
	if _, err := New(defaulted(Config{JWT: JWT{Issuer: "x"}, APIKeys: []APIKey{{ID: "a"}}}), docWith(t, nil), logger); err == nil || !strings.Contains(err.Error(), "apiKeys[0].owner") {
		t.Fatalf("New with an invalid config = %v", err)
	}
}

func TestVerifyCapsTheTokenBeforeParsing(t *testing.T) {
	t.Parallel()
	cfg := Config{JWT: JWT{HMACKeys: []HMACKey{{Secret: goodSecret}}, Issuer: "i", Audience: "a", MaxTokenBytes: 512}}
	cfg.SetDefaults()
	v, err := newJWTVerifier(cfg.JWT, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.verify(context.Background(), strings.Repeat("a", 513)); !errors.Is(err, ErrTokenTooLarge) {
		t.Fatalf("verify = %v, want ErrTokenTooLarge", err)
	}
	if _, err := v.verify(context.Background(), strings.Repeat("a", 512)); err == nil || errors.Is(err, ErrTokenTooLarge) {
		t.Fatalf("verify = %v, want a parse error", err)
	}
}

// TestOptionalSecurity: an operation whose requirements include {} takes anonymous callers
// and authenticated ones, but still refuses invalid credentials.
func TestOptionalSecurity(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tbl := docWith(t, &openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: "X-Key"},
		openapi3.SecurityRequirement{"s": {}}, openapi3.SecurityRequirement{})
	a, err := New(defaulted(Config{APIKeys: []APIKey{{ID: "k", Owner: "alice", SHA256: HashAPIKey("secret-key")}}}), tbl, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(logger)
	e.Use(tbl.Match(), a.Middleware())
	e.GET("/x", func(c echo.Context) error {
		id, _ := identity.FromContext(c.Request().Context())
		return c.String(http.StatusOK, "subject="+id.Subject)
	})
	tests := []struct {
		desc, key string
		status    int
		wantBody  string
	}{
		{"anonymous", "", http.StatusOK, "subject="},
		{"valid key", "secret-key", http.StatusOK, "subject=alice"},
		{"invalid key", "wrong-key", http.StatusUnauthorized, `"UNAUTHORIZED"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tt.key != "" {
				req.Header.Set("X-Key", tt.key)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.wantBody)
			}
		})
	}
}

// TestProductNames: the realm of the challenges and the identity header are configuration.
// The configured header is removed from the client's input and carried by the identity (for
// upstream calls); the default one is then an ordinary header.
func TestProductNames(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tbl := docWith(t, &openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: "X-Key"}, openapi3.SecurityRequirement{"s": {}})
	a, err := New(defaulted(Config{Realm: "acme", IdentityHeader: "X-User-Id",
		APIKeys: []APIKey{{ID: "k", Owner: "alice", SHA256: HashAPIKey("secret-key")}}}), tbl, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(logger)
	e.Use(tbl.Match(), a.Middleware())
	e.GET("/x", func(c echo.Context) error {
		id, _ := identity.FromContext(c.Request().Context())
		h := c.Request().Header
		return c.String(http.StatusOK, id.ForwardHeader()+"|"+h.Get("X-User-Id")+"|"+h.Get(identity.DefaultHeader))
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if got := rec.Header().Get(echo.HeaderWWWAuthenticate); rec.Code != http.StatusUnauthorized || got != `ApiKey realm="acme", header="X-Key"` {
		t.Fatalf("%d, challenge %q", rec.Code, got)
	}
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("X-Key", "secret-key")
	req.Header.Set("X-User-Id", "mallory")
	req.Header.Set(identity.DefaultHeader, "untouched")
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "X-User-Id||untouched" {
		t.Fatalf("%d %q, want the configured header stripped and forwarded", rec.Code, rec.Body)
	}
}

// defaulted returns c with its defaults applied, as config.Load applies them.
func defaulted(c Config) Config {
	c.SetDefaults()
	return c
}
