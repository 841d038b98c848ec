package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/engine/tracing"
)

// Low-severity findings of the issue 13 follow-up: tracestate forwarded unbounded, field names
// echoed in full in 422 details, lenient JWT scope claims.

// headerRecorder sits in front of every demo upstream (a reverse proxy) and records the
// trace headers of each call. Like an upstream with an 8 KB header limit, it answers 431 to a
// tracestate over 8 KB.
type headerRecorder struct {
	mu    sync.Mutex
	calls []http.Header
}

func (r *headerRecorder) wrap(t *testing.T, c *config.Config) {
	for name, u := range c.Upstreams {
		target, err := url.Parse(u.BaseURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r.mu.Lock()
			r.calls = append(r.calls, http.Header{
				"Traceparent": req.Header.Values("Traceparent"),
				"Tracestate":  req.Header.Values("Tracestate"),
			})
			r.mu.Unlock()
			if len(strings.Join(req.Header.Values("Tracestate"), ",")) > 8<<10 {
				http.Error(w, "header too large", http.StatusRequestHeaderFieldsTooLarge)
				return
			}
			proxy.ServeHTTP(w, req)
		}))
		t.Cleanup(ts.Close)
		u.BaseURL = ts.URL
		c.Upstreams[name] = u
	}
}

func (r *headerRecorder) take() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// TestAttackTraceState: a client's tracestate is validated (W3C grammar, at most 32 members)
// and bounded (512 bytes) before it reaches any upstream; an invalid one is dropped while the
// client's traceparent is still continued. Before, a valid traceparent plus a 20 KB invalid
// tracestate reached all three dashboard upstream calls unchanged (an upstream with an 8 KB
// header limit answered 431, the client got 502). Checked with tracing off, on (sampled: the
// OpenTelemetry propagator injects), and on but unsampled (correlation propagates).
func TestAttackTraceState(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	var members []string
	for i := range 32 {
		members = append(members, fmt.Sprintf("v%02d=%s", i, strings.Repeat("x", 96)))
	}
	cases := []struct {
		desc, tracestate, want string
	}{
		{"hostile dropped", "x=" + strings.Repeat("A", 20000) + `,"evil"=<script>`, ""},
		{"33 members dropped", strings.Join(members, ",") + ",z=1", ""},
		{"oversized truncated", strings.Join(members, ","), strings.Join(members[:5], ",")},
		{"valid kept", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
	}
	modes := []struct {
		name  string
		opts  func() []server.Option
		flags string
	}{
		{"TracingOff", func() []server.Option { return nil }, "01"},
		{"TracingSampled", func() []server.Option {
			return []server.Option{server.WithTracing(tracing.New(sdktrace.NewTracerProvider()))}
		}, "01"},
		{"TracingUnsampled", func() []server.Option {
			return []server.Option{server.WithTracing(tracing.New(sdktrace.NewTracerProvider()))}
		}, "00"},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			rec := &headerRecorder{}
			env := testenv.StartWith(t, m.opts(), func(c *config.Config) { rec.wrap(t, c) })
			for _, tc := range cases {
				res := env.Do(t, http.MethodGet, "/v1/me/dashboard", "",
					"traceparent", "00-"+traceID+"-00f067aa0ba902b7-"+m.flags, "tracestate", tc.tracestate)
				if res.Status != http.StatusOK {
					t.Fatalf("%s: status %d, want 200: %.300s", tc.desc, res.Status, res.Body)
				}
				calls := rec.take()
				if len(calls) != 3 {
					t.Fatalf("%s: %d upstream calls, want 3", tc.desc, len(calls))
				}
				for _, h := range calls {
					if tp := h.Get("Traceparent"); len(tp) != 55 || tp[3:35] != traceID {
						t.Errorf("%s: upstream traceparent %q, want the client's trace continued", tc.desc, tp)
					}
					got := strings.Join(h.Values("Tracestate"), ",")
					if got != tc.want {
						t.Errorf("%s: upstream tracestate (%d bytes) %.80q, want %.80q", tc.desc, len(got), got, tc.want)
					}
					if len(got) > 512 {
						t.Errorf("%s: upstream tracestate of %d bytes", tc.desc, len(got))
					}
				}
			}
		})
	}
}

// TestAttackLongFieldNames: the field of a 422 detail names the member, but clipped (128
// bytes of each name, then "…"; 512 bytes for the whole path) and quoted when the name would
// make the path ambiguous, so that the answer stays small whatever the body's names. Before,
// {"<1,000,000 x k>":1} answered a 1,000,447-byte 422.
func TestAttackLongFieldNames(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	long := strings.Repeat("k", 1_000_000)
	var many strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&many, `,"%04d%s":1`, i, strings.Repeat("k", 400))
	}
	cases := []struct {
		desc, body, wantField string
	}{
		{"one million-byte name", `{"` + long + `":1}`, "body." + strings.Repeat("k", 128) + "…"},
		{"many long names", orderWith(validItem, validPayment, many.String()[1:]), "body.0000" + strings.Repeat("k", 124) + "…"},
		{"long name in a oneOf", orderWith(validItem, `{"method":"card","cardToken":"tok_visa_4242","`+long+`":1}`, ""),
			"body.payment." + strings.Repeat("k", 128) + "…"},
		{"long name in an item", orderWith(`{"productId":"prd_0001","quantity":1,"`+long+`":1}`, validPayment, ""),
			"body.items[0]." + strings.Repeat("k", 128) + "…"},
		{"dotted name quoted", orderWith(validItem, validPayment, `"a.b":1`), `body["a.b"]`},
		{"bracketed name quoted", orderWith(validItem, validPayment, `"items[0]":1`), `body["items[0]"]`},
	}
	for i, tc := range cases {
		res := env.Do(t, http.MethodPost, "/v1/orders", tc.body, "Idempotency-Key", fmt.Sprintf("long-names-%d", i))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d, want 422: %.300s", tc.desc, res.Status, res.Body)
		}
		t.Logf("%s: a %d-byte 422", tc.desc, len(res.Body))
		if len(res.Body) > 16<<10 {
			t.Errorf("%s: a 422 of %d bytes, want at most 16 KiB", tc.desc, len(res.Body))
		}
		var env struct {
			Error struct {
				Details []struct {
					Field string `json:"field"`
				} `json:"details"`
			} `json:"error"`
		}
		if err := json.Unmarshal(res.Body, &env); err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		found := false
		for _, d := range env.Error.Details {
			if len(d.Field) > 512+len("…") {
				t.Errorf("%s: field of %d bytes", tc.desc, len(d.Field))
			}
			found = found || d.Field == tc.wantField
		}
		if !found {
			t.Errorf("%s: no detail with field %q in %.600s", tc.desc, tc.wantField, res.Body)
		}
	}
}

// TestAttackJWTScopeClaims: the scopes of a token come from one claim, strictly: scope (a
// space-separated string, RFC 8693/9068) when present, else scp (an array of strings or a
// space-separated string); scope of another type is refused (401, invalid_claims); the two
// are never combined. Before, scope="orders:read" with scp=["orders:write"] was granted
// orders:write and created an order, and scope as an array was accepted.
func TestAttackJWTScopeClaims(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims("alice")
		delete(c, "scope")
		edit(c)
		return c
	}
	tests := []struct {
		desc   string
		claims jwt.MapClaims
		status int
	}{
		{"scope read, scp write: no union", claims(func(c jwt.MapClaims) { c["scope"] = "orders:read"; c["scp"] = []string{"orders:write"} }), 403},
		{"empty scope, scp write: scope wins", claims(func(c jwt.MapClaims) { c["scope"] = ""; c["scp"] = []string{"orders:write"} }), 403},
		{"scope as an array", claims(func(c jwt.MapClaims) { c["scope"] = []string{"orders:read", "orders:write"} }), 401},
		{"scope null", claims(func(c jwt.MapClaims) { c["scope"] = nil; c["scp"] = []string{"orders:write"} }), 401},
		{"scp neither string nor array", claims(func(c jwt.MapClaims) { c["scp"] = 7 }), 401},
		{"scp array, no scope", claims(func(c jwt.MapClaims) { c["scp"] = []string{"orders:read", "orders:write"} }), 201},
		{"scp string (Azure AD), no scope", claims(func(c jwt.MapClaims) { c["scp"] = "orders:read orders:write" }), 201},
		{"scope string (control)", validClaims("alice"), 201},
	}
	for i, tt := range tests { // not parallel: the metric is read after them
		tok := signed(t, tt.claims, nil, auth.DevHMACSecret)
		res := env.Do(t, http.MethodPost, "/v1/orders", validOrder,
			"Authorization", "Bearer "+tok, "Idempotency-Key", fmt.Sprintf("scope-claims-%d", i))
		body := assertEnvelope(t, res, tt.status, tt.status == 201)
		switch tt.status {
		case 401:
			if code := errorCode(t, body); code != "UNAUTHORIZED" {
				t.Fatalf("%s: code %q", tt.desc, code)
			}
		case 403:
			if ch := res.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `scope="orders:write"`) {
				t.Fatalf("%s: WWW-Authenticate %q, want orders:write missing", tt.desc, ch)
			}
		}
	}
	if n := value(scrape(t, env), "contractgate_auth_failures_total", map[string]string{"reason": "invalid_claims"}); n != 3 {
		t.Fatalf("invalid_claims failures %v, want 3", n)
	}
}
