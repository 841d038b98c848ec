package e2e_test

import (
	"context"
	"fmt"
	"github.com/contractgate/contractgate/internal/app"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
)

// clientFrom returns an HTTP client whose connections leave from a loopback address of their
// own (127/8), so that the gateway sees another client address than the default client's.
func clientFrom(t *testing.T) (*http.Client, string) {
	t.Helper()
	ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, ip
}

// send sends one request with client (nil: the env's) and reads the answer whole.
func send(t *testing.T, env *testenv.Env, client *http.Client, method, path string, headers ...string) *testenv.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if client == nil {
		client = env.Client
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &testenv.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// slowRefill keeps the default budget of failed authentications (20, all at once) but
// refills it over an hour instead of a minute (one failure per 3 minutes instead of per 3
// seconds), so that a slow run cannot see a failure allowed again and flake.
func slowRefill(c *config.Config) {
	c.RateLimit.AuthFailures = ratelimit.AuthFailures{Requests: 20, Window: time.Hour, Burst: 20}
}

// TestAttackAuthFailuresLimitedPerAddress: 100 wrong API keys from one address (issue 13,
// item 6). Before: 100 x 401, every key hashed and compared. Now the first 20 (the default
// rateLimit.authFailures burst) answer 401 and every later one 429 RATE_LIMIT_EXCEEDED with
// Retry-After and the RateLimit fields, without verifying anything; another address is not
// affected, and a forged X-Forwarded-For (no trusted proxies) does not escape the limit.
func TestAttackAuthFailuresLimitedPerAddress(t *testing.T) {
	t.Parallel()
	def, err := config.Parse(app.Config)
	if err != nil {
		t.Fatal(err)
	}
	def.SetDefaults()
	if a := def.RateLimit.AuthFailures; a.Disabled || a.Requests != 20 || a.Window != time.Minute || a.Burst != 20 {
		t.Fatalf("the demo configuration's rateLimit.authFailures is %+v, want 20 per 1m, burst 20", a)
	}
	env := testenv.Start(t, slowRefill)
	const budget = 20
	statuses := map[int]int{}
	var limited *testenv.Response
	for i := range 100 {
		res := send(t, env, nil, http.MethodGet, "/v1/orders",
			"X-API-Key", fmt.Sprintf("guess-%04d", i), "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		statuses[res.Status]++
		switch {
		case i < budget && res.Status != http.StatusUnauthorized:
			t.Fatalf("attempt %d: status %d, want 401 within the budget: %s", i, res.Status, res.Body)
		case i >= budget && res.Status != http.StatusTooManyRequests:
			t.Fatalf("attempt %d: status %d, want 429 after the budget: %s", i, res.Status, res.Body)
		}
		if res.Status == http.StatusTooManyRequests {
			limited = res
		}
	}
	t.Logf("100 wrong keys from one address: %v", statuses)
	body := assertEnvelope(t, limited, http.StatusTooManyRequests, false)
	if code := errorCode(t, body); code != "RATE_LIMIT_EXCEEDED" {
		t.Fatalf("code %q", code)
	}
	if ra, err := strconv.Atoi(limited.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", limited.Header.Get("Retry-After"))
	}
	if p := limited.Header.Get("RateLimit-Policy"); p != `"auth-failures";q=20;w=3600` {
		t.Fatalf("RateLimit-Policy %q", p)
	}
	if rl := limited.Header.Get("RateLimit"); !regexp.MustCompile(`^"auth-failures";r=0;t=[1-9]\d*$`).MatchString(rl) {
		t.Fatalf("RateLimit %q", rl)
	}
	// Only the failures within the budget were verified (and counted as unknown keys).
	if n := value(scrape(t, env), "contractgate_auth_failures_total", map[string]string{"reason": "unknown_key"}); n != float64(budget) {
		t.Fatalf("auth failures counted as unknown_key: %v, want %d", n, budget)
	}
	if n := value(scrape(t, env), "contractgate_ratelimit_decisions_total", map[string]string{"decision": "limited", "policy": "auth-failures"}); n != float64(100-budget) {
		t.Fatalf("auth-failures decisions limited: %v, want %d", n, 100-budget)
	}

	// The limited address is refused on secured operations even with a valid key (it could
	// be the guess that succeeded), but public operations still answer.
	if res := send(t, env, nil, http.MethodGet, "/v1/orders", "X-API-Key", testenv.AliceKey); res.Status != http.StatusTooManyRequests {
		t.Fatalf("valid key from the limited address: %d, want 429", res.Status)
	}
	if res := send(t, env, nil, http.MethodGet, "/v1/products/prd_0001"); res.Status != http.StatusOK {
		t.Fatalf("public operation from the limited address: %d: %s", res.Status, res.Body)
	}

	// Another address: its valid key works, and its own failures have their own budget.
	other, ip := clientFrom(t)
	res := send(t, env, other, http.MethodGet, "/v1/orders", "X-API-Key", testenv.AliceKey)
	assertEnvelope(t, res, http.StatusOK, true)
	if res := send(t, env, other, http.MethodGet, "/v1/orders", "X-API-Key", "wrong"); res.Status != http.StatusUnauthorized {
		t.Fatalf("first wrong key from %s: %d, want 401", ip, res.Status)
	}
}

// TestAttackAuthFailuresTokens: wrong bearer tokens are charged like wrong keys, whatever
// their reason, so signatures are not verified without end either.
func TestAttackAuthFailuresTokens(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, slowRefill)
	badSig := signed(t, validClaims("alice"), nil, "another-secret-of-at-least-32-bytes-0000")
	n429 := 0
	for i := range 40 {
		res := send(t, env, nil, http.MethodGet, "/v1/orders", "Authorization", "Bearer "+badSig)
		if res.Status == http.StatusTooManyRequests {
			n429++
		} else if res.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, res.Status)
		}
	}
	if n429 != 20 {
		t.Fatalf("%d x 429 of 40 forged tokens, want 20", n429)
	}
	if n := value(scrape(t, env), "contractgate_auth_failures_total", map[string]string{"reason": "invalid_signature"}); n != 20 {
		t.Fatalf("invalid_signature failures %v, want 20", n)
	}
}

// validClaims are the claims of a token the demo configuration accepts.
func validClaims(subject string) jwt.MapClaims {
	now := time.Now().Unix()
	return jwt.MapClaims{"iss": "contractgate-dev", "aud": "storefront", "sub": subject,
		"iat": now, "nbf": now, "exp": now + 600, "scope": "orders:read orders:write"}
}

// signed signs claims with HS256 and the demo kid, adding header fields.
func signed(t *testing.T, claims jwt.MapClaims, header map[string]any, secret string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = "dev"
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAttackJWTRefused: tokens signed with the right key but outside RFC 7515/7519 (issue 13,
// item 12). Before: an unknown crit header and string dates were accepted (200).
func TestAttackJWTRefused(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	with := func(k string, v any) jwt.MapClaims {
		c := validClaims("alice")
		c[k] = v
		return c
	}
	far := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	tests := []struct {
		desc   string
		claims jwt.MapClaims
		header map[string]any
		status int
	}{
		{"a well-formed token (control)", validClaims("alice"), nil, 200},
		{"crit naming an extension the gateway does not know", validClaims("alice"), map[string]any{"crit": []string{"exp"}, "exp": 1}, 401},
		{"crit naming an unknown header", validClaims("alice"), map[string]any{"crit": []string{"x-custom"}, "x-custom": true}, 401},
		{"an empty crit", validClaims("alice"), map[string]any{"crit": []string{}}, 401},
		{"crit that is not an array", validClaims("alice"), map[string]any{"crit": "b64"}, 401},
		{"exp as a string", with("exp", "9999999999"), nil, 401},
		{"exp as a string of a near date", with("exp", far), nil, 401},
		{"nbf as a string", with("nbf", "0"), nil, 401},
		{"iat as a string", with("iat", "0"), nil, 401},
		{"exp as a boolean", with("exp", true), nil, 401},
		{"exp null", with("exp", nil), nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			tok := signed(t, tt.claims, tt.header, auth.DevHMACSecret)
			res := send(t, env, nil, http.MethodGet, "/v1/orders", "Authorization", "Bearer "+tok)
			body := assertEnvelope(t, res, tt.status, tt.status == 200)
			if tt.status == 401 {
				if code := errorCode(t, body); code != "UNAUTHORIZED" {
					t.Fatalf("code %q", code)
				}
				if ch := strings.Join(res.Header.Values("WWW-Authenticate"), ", "); !strings.Contains(ch, `error="invalid_token"`) {
					t.Fatalf("WWW-Authenticate %q", ch)
				}
			}
		})
	}
}

// TestAttackAmbiguousCredentials: a request carrying credentials of two different subjects
// is refused, whichever requirement either would satisfy (issue 13, item 12). Before: a
// bearer token of alice with bob's API key answered 200 as alice. Two credentials of the
// same subject are fine (a requirement may AND schemes); any refused credential is a 401
// even when another one is valid.
func TestAttackAmbiguousCredentials(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	alice := signed(t, validClaims("alice"), nil, auth.DevHMACSecret)
	tests := []struct {
		desc    string
		headers []string
		status  int
	}{
		{"alice's token and bob's key", []string{"Authorization", "Bearer " + alice, "X-API-Key", testenv.BobKey}, 401},
		{"alice's token and alice's key", []string{"Authorization", "Bearer " + alice, "X-API-Key", testenv.AliceKey}, 200},
		{"alice's token and a wrong key", []string{"Authorization", "Bearer " + alice, "X-API-Key", "wrong"}, 401},
		{"a forged token and alice's key", []string{"Authorization", "Bearer " + alice + "x", "X-API-Key", testenv.AliceKey}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) { // not parallel: the metric is read after them
			res := send(t, env, nil, http.MethodGet, "/v1/orders", tt.headers...)
			body := assertEnvelope(t, res, tt.status, tt.status == 200)
			if tt.status == 401 && errorCode(t, body) != "UNAUTHORIZED" {
				t.Fatalf("code %q", errorCode(t, body))
			}
		})
	}
	if n := value(scrape(t, env), "contractgate_auth_failures_total", map[string]string{"reason": "ambiguous"}); n != 1 {
		t.Fatalf("ambiguous failures %v, want 1", n)
	}
}

// TestAttackSecuredAnswersNotStored: answers of secured operations, errors included, tell
// shared caches not to store them (issue 13, item 11). Before: no Cache-Control at all, and
// with an API key no Authorization header either, so a shared cache could keep alice's
// dashboard (her email) and serve it to others.
func TestAttackSecuredAnswersNotStored(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	tests := []struct {
		desc, path string
		headers    []string
		status     int
		cache      string // the Cache-Control expected
		vary       bool   // Vary names Authorization and X-API-Key
	}{
		{"my orders with an API key", "/v1/orders", []string{"X-API-Key", testenv.AliceKey}, 200, "no-store", true},
		{"my dashboard with an API key", "/v1/me/dashboard", []string{"X-API-Key", testenv.AliceKey}, 200, "no-store", true},
		{"one order, not found", "/v1/orders/" + orderUUID, []string{"X-API-Key", testenv.AliceKey}, 404, "no-store", true},
		{"my orders, invalid query", "/v1/orders?pageSize=1000", []string{"X-API-Key", testenv.AliceKey}, 422, "no-store", true},
		{"my orders without credentials", "/v1/orders", nil, 401, "no-store", true},
		{"my orders with a wrong key", "/v1/orders", []string{"X-API-Key", "wrong"}, 401, "no-store", true},
		{"a public product keeps its public caching", "/v1/products/prd_0001", nil, 200, "public, max-age=30", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			res := send(t, env, nil, http.MethodGet, tt.path, tt.headers...)
			if res.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tt.status, res.Body)
			}
			if cc := res.Header.Get("Cache-Control"); cc != tt.cache {
				t.Fatalf("Cache-Control %q, want %q", cc, tt.cache)
			}
			vary := strings.ToLower(strings.Join(res.Header.Values("Vary"), ", "))
			if got := strings.Contains(vary, "authorization") && strings.Contains(vary, "x-api-key"); got != tt.vary {
				t.Fatalf("Vary %q", vary)
			}
		})
	}
	// A created order and its replay.
	for i, want := range []string{"", "true"} {
		res := env.Do(t, http.MethodPost, "/v1/orders", validOrder, "Idempotency-Key", "k-no-store")
		if res.Status != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != want || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("create %d: status %d, Idempotent-Replayed %q, Cache-Control %q", i, res.Status, res.Header.Get("Idempotent-Replayed"), res.Header.Get("Cache-Control"))
		}
	}
	// 403: bob's key lacks orders:write.
	res := env.Do(t, http.MethodPost, "/v1/orders", validOrder, "X-API-Key", testenv.BobKey, "Idempotency-Key", "k-403")
	if res.Status != http.StatusForbidden || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("403: status %d, Cache-Control %q", res.Status, res.Header.Get("Cache-Control"))
	}
}

// BenchmarkAttackWrongCredentials is the whole gateway's cost of one hostile request from an
// address that keeps sending wrong credentials (issue 13, item 6): before the guard, every
// one was verified and answered 401; now, once the address's budget is spent, 429 without
// verifying.
func BenchmarkAttackWrongCredentials(b *testing.B) {
	g := newBenchGateway(b)
	forged := g.token[:len(g.token)-2] + "xx"
	for i, bc := range []struct{ desc, header, value string }{
		{"wrong API key", "X-API-Key", "guess-0000000000000000"},
		{"forged token", "Authorization", "Bearer " + forged},
	} {
		b.Run(bc.desc, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/v1/orders", nil)
			req.RemoteAddr = fmt.Sprintf("192.0.2.%d:40000", i+1)
			req.Header.Set(bc.header, bc.value)
			w := newSink()
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				g.handler.ServeHTTP(w, req)
				if w.code != http.StatusUnauthorized && w.code != http.StatusTooManyRequests {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
