package auth_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/auth"
)

// fakeGuard counts what the middleware asks; blocked makes Check refuse, spent makes Fail
// refuse.
type fakeGuard struct {
	mu             sync.Mutex
	checks, fails  int
	blocked, spent bool
}

var errLimited = apierror.ErrRateLimitExceeded.WithHeader("Retry-After", "7")

func (g *fakeGuard) Check(*http.Request) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checks++
	if g.blocked {
		return errLimited
	}
	return nil
}

func (g *fakeGuard) Fail(*http.Request) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fails++
	if g.spent {
		return errLimited
	}
	return nil
}

// TestFailureReasons: each refusal is reported with its reason, and only refused
// credentials (not missing ones, not a missing scope) are charged to the guard.
func TestFailureReasons(t *testing.T) {
	t.Parallel()
	cfg := fullConfig("")
	cfg.JWT.JWKS.URL = ""
	hs := func(c jwt.MapClaims, header ...any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["kid"] = "hs-1"
		for i := 0; i+1 < len(header); i += 2 {
			tok.Header[header[i].(string)] = header[i+1]
		}
		s, err := tok.SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	set := func(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }
	alice := hs(claims("alice", "orders:read orders:write"))
	tests := []struct {
		desc    string
		target  string
		headers []string
		status  int
		reason  auth.Reason // "" for a success
		charged bool
	}{
		{"valid token", "/v1/orders", []string{"Authorization", alice}, 200, "", false},
		{"valid token and key of the same subject", "/v1/orders", []string{"Authorization", alice, "X-API-Key", aliceKey}, 200, "", false},
		{"no credentials", "/v1/orders", nil, 401, auth.ReasonMissing, false},
		{"query credentials", "/v1/orders?api_key=x", nil, 401, auth.ReasonQueryCredentials, false},
		{"unknown API key", "/v1/orders", []string{"X-API-Key", "nope"}, 401, auth.ReasonUnknownKey, true},
		{"two API key headers", "/v1/orders", []string{"X-API-Key", aliceKey, "X-API-Key", aliceKey}, 401, auth.ReasonMalformed, true},
		{"garbage token", "/v1/orders", []string{"Authorization", "Bearer a.b.c"}, 401, auth.ReasonMalformed, true},
		{"wrong signature", "/v1/orders", []string{"Authorization", alice + "x"}, 401, auth.ReasonInvalidSignature, true},
		{"expired", "/v1/orders", []string{"Authorization", hs(claims("alice", "orders:read", set("exp", time.Now().Add(-time.Hour).Unix())))}, 401, auth.ReasonExpired, true},
		{"wrong audience", "/v1/orders", []string{"Authorization", hs(claims("alice", "orders:read", set("aud", "other")))}, 401, auth.ReasonInvalidClaims, true},
		{"unknown kid", "/v1/orders", []string{"Authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret), "nope", claims("alice", "orders:read"))}, 401, auth.ReasonUnknownKey, true},
		{"crit header", "/v1/orders", []string{"Authorization", hs(claims("alice", "orders:read"), "crit", []string{"b64"}, "b64", false)}, 401, auth.ReasonMalformed, true},
		{"exp as a string", "/v1/orders", []string{"Authorization", hs(claims("alice", "orders:read", set("exp", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))))}, 401, auth.ReasonMalformed, true},
		{"scope as an array", "/v1/orders", []string{"Authorization", hs(claims("alice", "", set("scope", []string{"orders:read"})))}, 401, auth.ReasonInvalidClaims, true},
		{"scope as a number", "/v1/orders", []string{"Authorization", hs(claims("alice", "", set("scope", 1)))}, 401, auth.ReasonInvalidClaims, true},
		{"scp as a string, no scope", "/v1/orders", []string{"Authorization", hs(claims("alice", "", func(c jwt.MapClaims) { delete(c, "scope"); c["scp"] = "orders:read" }))}, 200, "", false},
		{"alice's token, bob's key", "/v1/orders", []string{"Authorization", alice, "X-API-Key", bobKey}, 401, auth.ReasonAmbiguous, true},
		{"alice's token, a wrong key", "/v1/orders", []string{"Authorization", alice, "X-API-Key", "nope"}, 401, auth.ReasonUnknownKey, true},
		{"bob's key lacks the scope", "/v1/orders", []string{"X-API-Key", bobKey}, 403, auth.ReasonInsufficientScope, false},
		{"public operation, no credentials", "/v1/products", nil, 200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			g := &fakeGuard{}
			var mu sync.Mutex
			var reasons []auth.Reason
			ts := gateway(t, cfg, auth.WithGuard(g), auth.WithFailureHook(func(r auth.Reason) {
				mu.Lock()
				reasons = append(reasons, r)
				mu.Unlock()
			}))
			res := do(t, ts, http.MethodGet, tt.target, tt.headers...)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.status, tt.status, res.body)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case tt.reason == "" && len(reasons) != 0, tt.reason != "" && (len(reasons) != 1 || reasons[0] != tt.reason):
				t.Fatalf("reasons %v, want %q", reasons, tt.reason)
			}
			if charged := g.fails == 1; charged != tt.charged || g.fails > 1 {
				t.Fatalf("charged %d times, want %v", g.fails, tt.charged)
			}
			if secured := tt.target != "/v1/products"; (g.checks == 1) != secured {
				t.Fatalf("checked %d times on a secured=%v operation", g.checks, secured)
			}
		})
	}
}

// TestGuardRefusals: a blocked address is answered 429 before anything is verified (no
// reason reported), and a failure that spends the budget answers the guard's 429.
func TestGuardRefusals(t *testing.T) {
	t.Parallel()
	cfg := fullConfig("")
	cfg.JWT.JWKS.URL = ""
	var reasons []auth.Reason
	var mu sync.Mutex
	g := &fakeGuard{blocked: true}
	ts := gateway(t, cfg, auth.WithGuard(g), auth.WithFailureHook(func(r auth.Reason) {
		mu.Lock()
		reasons = append(reasons, r)
		mu.Unlock()
	}))
	res := do(t, ts, http.MethodGet, "/v1/orders", "X-API-Key", aliceKey)
	res.envelopeError(t, 429, "RATE_LIMIT_EXCEEDED")
	if res.header.Get("Retry-After") != "7" || g.fails != 0 || len(reasons) != 0 {
		t.Fatalf("Retry-After %q, fails %d, reasons %v", res.header.Get("Retry-After"), g.fails, reasons)
	}
	if res := do(t, ts, http.MethodGet, "/v1/products"); res.status != 200 {
		t.Fatalf("public operation of a blocked address: %d", res.status)
	}
	g.mu.Lock()
	g.blocked, g.spent = false, true
	g.mu.Unlock()
	res = do(t, ts, http.MethodGet, "/v1/orders", "X-API-Key", "nope")
	res.envelopeError(t, 429, "RATE_LIMIT_EXCEEDED")
	if res := do(t, ts, http.MethodGet, "/v1/orders", "X-API-Key", aliceKey); res.status != 200 {
		t.Fatalf("valid key: %d", res.status)
	}
}

// TestStrictDates: exp, nbf and iat must be JSON numbers, whatever their value.
func TestStrictDates(t *testing.T) {
	t.Parallel()
	cfg := fullConfig("")
	cfg.JWT.JWKS.URL = ""
	ts := gateway(t, cfg)
	far := time.Now().Add(time.Hour).Unix()
	for _, tt := range []struct {
		desc   string
		claim  string
		value  any
		status int
	}{
		{"exp number", "exp", far, 200},
		{"exp fractional", "exp", float64(far) + 0.5, 200},
		{"exp string", "exp", strconv.FormatInt(far, 10), 401},
		{"exp string with spaces", "exp", " 9999999999", 401},
		{"exp null", "exp", nil, 401},
		{"exp object", "exp", map[string]any{}, 401},
		{"nbf string", "nbf", "0", 401},
		{"iat string", "iat", "0", 401},
		{"iat array", "iat", []int{0}, 401},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := claims("alice", "orders:read")
			c[tt.claim] = tt.value
			tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "hs-1", c)
			if res := do(t, ts, http.MethodGet, "/v1/orders", "Authorization", "Bearer "+tok); res.status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.status, tt.status, res.body)
			}
		})
	}
}
