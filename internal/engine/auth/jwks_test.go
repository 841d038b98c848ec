package auth_test

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/contractgate/contractgate/internal/engine/auth"
)

func jwksConfig(url string) auth.Config {
	return auth.Config{JWT: auth.JWT{JWKS: auth.JWKS{URL: url}, Issuer: testIssuer, Audience: testAudience}}
}

func bearer(t *testing.T, method jwt.SigningMethod, key any, kid string) string {
	return "Bearer " + sign(t, method, key, kid, claims("carol", "orders:read"))
}

// TestJWKSRotation: the issuer adds key B to its JWKS; a token signed with B is accepted
// without restarting, because its unknown kid triggers a refresh.
func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	jwks := newJWKSServer(t, rsaJWK("key-a", rsaA()))
	cfg := jwksConfig(jwks.URL)
	cfg.JWT.JWKS.RefreshInterval = time.Hour // only the unknown kid can explain a refresh
	cfg.JWT.JWKS.RefreshRateLimit = 50 * time.Millisecond
	ts := gateway(t, cfg)

	tokA := bearer(t, jwt.SigningMethodRS256, rsaA(), "key-a")
	tokB := bearer(t, jwt.SigningMethodES256, ecA(), "key-b")
	if got := do(t, ts, http.MethodGet, "/v1/orders", "Authorization", tokA).identityOf(t); got.Subject != "carol" {
		t.Fatalf("key A: %+v", got)
	}
	do(t, ts, http.MethodGet, "/v1/orders", "Authorization", tokB).envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")

	jwks.set(t, rsaJWK("key-a", rsaA()), ecJWK("key-b", ecA()))
	before := jwks.fetches.Load()
	if got := do(t, ts, http.MethodGet, "/v1/orders", "Authorization", tokB).identityOf(t); got.Subject != "carol" {
		t.Fatalf("key B after rotation: %+v", got)
	}
	if jwks.fetches.Load() != before+1 {
		t.Fatalf("%d fetches for the unknown kid, want 1", jwks.fetches.Load()-before)
	}
	// Key A retired: after the next refresh, its tokens are refused.
	jwks.set(t, ecJWK("key-b", ecA()))
	time.Sleep(60 * time.Millisecond)
	tokC := bearer(t, jwt.SigningMethodRS256, rsaB(), "key-c") // unknown kid: refreshes
	do(t, ts, http.MethodGet, "/v1/orders", "Authorization", tokC).envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
	do(t, ts, http.MethodGet, "/v1/orders", "Authorization", tokA).envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
}

// TestJWKSUnknownKIDRateLimited: unknown kids refresh the set at most once per
// refreshRateLimit, and requests past the limit fail at once instead of waiting.
func TestJWKSUnknownKIDRateLimited(t *testing.T) {
	t.Parallel()
	jwks := newJWKSServer(t, rsaJWK("key-a", rsaA()))
	cfg := jwksConfig(jwks.URL)
	cfg.JWT.JWKS.RefreshInterval = time.Hour
	cfg.JWT.JWKS.RefreshRateLimit = time.Hour
	ts := gateway(t, cfg)
	if n := jwks.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches at start-up, want 1", n)
	}
	start := time.Now()
	for i := range 5 {
		tok := bearer(t, jwt.SigningMethodRS256, rsaB(), "unknown-"+string(rune('a'+i)))
		do(t, ts, http.MethodGet, "/v1/orders", "Authorization", tok).envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
	}
	if n := jwks.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after 5 unknown kids, want 2 (start-up and one refresh)", n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("refused unknown kids took %s: requests waited for the rate limit", d)
	}
	// Known keys keep working.
	do(t, ts, http.MethodGet, "/v1/orders", "Authorization", bearer(t, jwt.SigningMethodRS256, rsaA(), "key-a")).identityOf(t)
}

// TestJWKSCloseStopsRefresh: after Close, the set is no longer fetched in the background.
func TestJWKSCloseStopsRefresh(t *testing.T) {
	t.Parallel()
	jwks := newJWKSServer(t, rsaJWK("key-a", rsaA()))
	cfg := jwksConfig(jwks.URL)
	cfg.JWT.JWKS.RefreshInterval = 10 * time.Millisecond
	tbl, err := table()
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	a, err := auth.New(cfg, tbl, discard())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for jwks.fetches.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the set was not refreshed in the background")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // a refresh in flight at Close may still land
	n := jwks.fetches.Load()
	time.Sleep(100 * time.Millisecond)
	if m := jwks.fetches.Load(); m != n {
		t.Fatalf("%d fetches after Close", m-n)
	}
}

// TestJWKSFile: keys from a local JWKS file; a symmetric ("oct") key in the set never
// verifies anything, even under a kid the token names.
func TestJWKSFile(t *testing.T) {
	t.Parallel()
	secret := []byte(testSecret)
	set, err := json.Marshal(map[string]any{"keys": []any{
		ecJWK("ec-a", ecA()),
		map[string]any{"kty": "oct", "kid": "oct-1", "k": b64(secret)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, set, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{JWT: auth.JWT{JWKS: auth.JWKS{File: file}, Issuer: testIssuer, Audience: testAudience,
		Algorithms: []string{"ES256", "RS256"}}}
	ts := gateway(t, cfg)
	do(t, ts, http.MethodGet, "/v1/orders", "Authorization", bearer(t, jwt.SigningMethodES256, ecA(), "ec-a")).identityOf(t)
	do(t, ts, http.MethodGet, "/v1/orders", "Authorization", bearer(t, jwt.SigningMethodES256, ecA(), "")).identityOf(t)

	// HS256 is not pinned here; with it pinned (and an HMAC key configured so that
	// Validate allows it), the JWKS oct key still never verifies.
	cfg.JWT.Algorithms = []string{"ES256", "HS256"}
	cfg.JWT.HMACKeys = []auth.HMACKey{{KID: "hs-other", Secret: strings.Repeat("z", 40)}}
	ts2, logs2 := gatewayWithLogs(t, cfg)
	for _, kid := range []string{"oct-1", ""} {
		tok := bearer(t, jwt.SigningMethodHS256, secret, kid)
		do(t, ts, http.MethodGet, "/v1/orders", "Authorization", tok).envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
		do(t, ts2, http.MethodGet, "/v1/orders", "Authorization", tok).envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
	}
	// An ES256 token naming the oct key gets no key of its family.
	r := do(t, ts2, http.MethodGet, "/v1/orders", "Authorization", bearer(t, jwt.SigningMethodES256, ecA(), "oct-1"))
	r.envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
	if cause := logs2.cause(r.header.Get("X-Request-Id")); !strings.Contains(cause, "no key for the token's algorithm") {
		t.Fatalf("cause %q", cause)
	}
}

// TestJWKSTooLarge: a set over maxBytes is refused, so no token verifies.
func TestJWKSTooLarge(t *testing.T) {
	t.Parallel()
	keys := []map[string]any{rsaJWK("key-a", rsaA())}
	for range 10 {
		keys = append(keys, rsaJWK("padding", rsaB()))
	}
	jwks := newJWKSServer(t, keys...)
	cfg := jwksConfig(jwks.URL)
	cfg.JWT.JWKS.MaxBytes = 2048
	cfg.JWT.JWKS.RefreshRateLimit = time.Hour
	ts, logs := gatewayWithLogs(t, cfg)
	r := do(t, ts, http.MethodGet, "/v1/orders", "Authorization", bearer(t, jwt.SigningMethodRS256, rsaA(), "key-a"))
	r.envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
	if cause := logs.cause(r.header.Get("X-Request-Id")); !strings.Contains(cause, "unknown key id") {
		t.Fatalf("cause %q", cause)
	}
	if !logs.contains("JWKS response too large") {
		t.Fatal("the oversized set was not logged as such")
	}
}

// TestJWKSOverTLS: a key set served over https by a private CA is trusted through
// jwt.jwks.tls.caFile, and refused without it.
func TestJWKSOverTLS(t *testing.T) {
	t.Parallel()
	set, err := json.Marshal(map[string]any{"keys": []any{ecJWK("ec-a", ecA())}})
	if err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
	t.Cleanup(idp.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := bearer(t, jwt.SigningMethodES256, ecA(), "ec-a")

	cfg := jwksConfig(idp.URL)
	cfg.JWT.JWKS.TLS.CAFile = caFile
	do(t, gateway(t, cfg), http.MethodGet, "/v1/orders", "Authorization", tok).identityOf(t)

	untrusted := jwksConfig(idp.URL)
	ts, logs := gatewayWithLogs(t, untrusted)
	do(t, ts, http.MethodGet, "/v1/orders", "Authorization", tok).envelopeError(t, http.StatusUnauthorized, "UNAUTHORIZED")
	if !logs.contains("certificate signed by unknown authority") {
		t.Fatal("the untrusted JWKS server was not logged as such")
	}
}
