package auth_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "storefront"
	testSecret   = "test-hmac-secret-with-at-least-32-bytes!!"
	aliceKey     = "test-key-alice-0123456789abcdef"
	bobKey       = "test-key-bob-fedcba9876543210"
)

// Keys generated once per test binary (RSA generation is the slow part).
var (
	rsaA = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	rsaB = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	ecA  = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
	table = sync.OnceValues(func() (*routes.Table, error) {
		doc, err := enginetest.Shop()
		if err != nil {
			return nil, err
		}
		return routes.New(doc)
	})
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func sha(s string) string { return auth.HashAPIKey(s) }

// jwksServer serves a JSON Web Key Set that a test can change, and counts fetches.
type jwksServer struct {
	*httptest.Server
	body    atomic.Pointer[[]byte]
	fetches atomic.Int64
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(t *testing.T, keys ...map[string]any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	s.body.Store(&b)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PrivateKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PrivateKey) map[string]any {
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		panic(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	return map[string]any{"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
		"x": b64(raw[1:33]), "y": b64(raw[33:])}
}

func rsaPublicPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// claims returns valid claims for subject with scope, changed by each edit.
func claims(subject, scope string, edits ...func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience, "sub": subject, "scope": scope,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
	for _, e := range edits {
		e(c)
	}
	return c
}

// sign returns a token signed with key by method, with kid in its header unless empty.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seen is what the test handlers answer: the identity the middleware set.
type seen struct {
	Operation     string   `json:"operation"`
	Authenticated bool     `json:"authenticated"`
	Subject       string   `json:"subject"`
	Scopes        []string `json:"scopes"`
	Method        string   `json:"method"`
	KeyID         string   `json:"keyId"`
	SubjectHeader string   `json:"subjectHeader"`
}

// gateway runs Echo with the error handler, correlation, the auth middleware, and one
// handler per operation of the real contract that echoes the identity.
func gateway(t *testing.T, cfg auth.Config, opts ...auth.Option) *httptest.Server {
	t.Helper()
	ts, _ := gatewayWithLogs(t, cfg, opts...)
	return ts
}

// logs collects the gateway's JSON log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// cause returns the error logged for the request with id requestID ("" if none).
func (l *logs) cause(requestID string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.SplitSeq(l.buf.String(), "\n") {
		var entry struct {
			Msg       string `json:"msg"`
			RequestID string `json:"requestId"`
			Error     string `json:"error"`
		}
		// The error handler's line (other lines of the request, a JWKS fetch, carry its id too).
		if json.Unmarshal([]byte(line), &entry) == nil && entry.RequestID == requestID &&
			(entry.Msg == "request rejected" || entry.Msg == "request failed") {
			return entry.Error
		}
	}
	return ""
}

// contains reports whether any log line contains s.
func (l *logs) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

// gatewayWithLogs is gateway, also returning the error handler's debug log.
func gatewayWithLogs(t *testing.T, cfg auth.Config, opts ...auth.Option) (*httptest.Server, *logs) {
	t.Helper()
	lg := &logs{}
	tbl, err := table()
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(logging.NewContextHandler(slog.NewJSONHandler(lg, &slog.HandlerOptions{Level: slog.LevelDebug}))) // request ids from the context, as the gateway logs
	cfg.SetDefaults()                                                                                                    // as config.Load does
	a, err := auth.New(cfg, tbl, logger, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = apierror.Handler(logger)
	e.Pre(correlation.New().Middleware())
	e.Use(tbl.Match(), a.Middleware())
	for _, op := range tbl.All() {
		e.Add(op.Method, op.Route, func(c echo.Context) error {
			ctx := c.Request().Context()
			id, ok := identity.FromContext(ctx)
			keyID, _ := auth.KeyID(ctx)
			return c.JSON(http.StatusOK, seen{Operation: op.ID, Authenticated: ok, Subject: id.Subject, Scopes: id.Scopes,
				Method: id.Method, KeyID: keyID, SubjectHeader: c.Request().Header.Get(identity.DefaultHeader)})
		})
	}
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return ts, lg
}

// response is one answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, ts *httptest.Server, method, target string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// identityOf asserts a 200 and returns what the handler saw.
func (r response) identityOf(t *testing.T) seen {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	var s seen
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return s
}

// envelopeError asserts an error envelope with status and code and returns its message.
func (r response) envelopeError(t *testing.T, status int, code string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var env struct {
		Success *bool `json:"success"`
		Error   struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Meta struct {
			RequestID string `json:"requestId"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	if env.Success == nil || *env.Success || env.Error.Code != code {
		t.Fatalf("envelope %s, want code %s", r.body, code)
	}
	if env.Meta.RequestID == "" || env.Meta.RequestID != r.header.Get(correlation.HeaderRequestID) {
		t.Fatalf("meta.requestId %q != X-Request-Id %q", env.Meta.RequestID, r.header.Get(correlation.HeaderRequestID))
	}
	return env.Error.Message
}

func challenges(r response) string { return strings.Join(r.header.Values("WWW-Authenticate"), " | ") }
