package server_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
)

// TestFixtureComponentsAreTheSharedOnes keeps testdata/fixture/components.yaml a byte-for-byte
// copy of api/components.yaml (a copy, not a symlink: os.DirFS and go:embed stay inside the
// folder), so that the fixture app stands on the components every app $refs.
func TestFixtureComponentsAreTheSharedOnes(t *testing.T) {
	shared, err := os.ReadFile("../../../api/components.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := os.ReadFile("testdata/fixture/components.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, fixture) {
		t.Fatal("testdata/fixture/components.yaml differs from api/components.yaml: cp api/components.yaml internal/engine/server/testdata/fixture/")
	}
}

// TestFixtureEnvelope calls every bound operation once: each answers its success status in
// the envelope, with meta.requestId equal to X-Request-Id.
func TestFixtureEnvelope(t *testing.T) {
	f := startFixture(t)
	for _, tc := range []struct {
		desc, method, path, body string
		headers                  []string
		status                   int
	}{
		{desc: "list", method: "GET", path: "/v1/accounts", status: 200},
		{desc: "get", method: "GET", path: "/v1/accounts/acc_1", headers: []string{"X-Tenant", "t1"}, status: 200},
		{desc: "owner-scoped get", method: "GET", path: "/v1/me/balance", headers: []string{"X-API-Key", adaKey}, status: 200},
		{desc: "keyed create", method: "POST", path: "/v1/transfers", body: `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`,
			headers: []string{"X-API-Key", adaKey, "Idempotency-Key", "k-envelope"}, status: 201},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := f.do(t, tc.method, tc.path, tc.body, tc.headers...)
			r.want(t, tc.status, "")
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			if r.Env.Success == nil || !*r.Env.Success || len(r.Env.Data) == 0 || r.Env.Error != nil {
				t.Fatalf("not a success envelope: %s", r.Body)
			}
			if id := r.Header.Get("X-Request-Id"); id == "" || r.Env.Meta.RequestID != id {
				t.Fatalf("meta.requestId %q, X-Request-Id %q", r.Env.Meta.RequestID, id)
			}
		})
	}
}

// TestFixtureParameterMapping proves what the upstream receives for each source of
// x-upstream.params: query (renamed, with the public default), path and header (renamed),
// auth.subject, const, and the public body as is (body: body).
func TestFixtureParameterMapping(t *testing.T) {
	for _, tc := range []struct {
		desc, method, path, body string
		headers                  []string
		upstream                 string // accounts or ledger
		wantMethod, wantPath     string
		wantQuery                map[string]string
		wantHeader               map[string]string
	}{
		{desc: "query.pageSize to limit", method: "GET", path: "/v1/accounts?pageSize=5", upstream: "accounts",
			wantMethod: "GET", wantPath: "/accounts", wantQuery: map[string]string{"limit": "5"}},
		{desc: "query.pageSize absent: its default", method: "GET", path: "/v1/accounts", upstream: "accounts",
			wantMethod: "GET", wantPath: "/accounts", wantQuery: map[string]string{"limit": "20"}},
		{desc: "path.accountId to id, header.X-Tenant to X-Tenant-Id", method: "GET", path: "/v1/accounts/acc_7",
			headers: []string{"X-Tenant", "tenant-42"}, upstream: "accounts",
			wantMethod: "GET", wantPath: "/accounts/acc_7", wantHeader: map[string]string{"X-Tenant-Id": "tenant-42"}},
		{desc: "auth.subject and const", method: "GET", path: "/v1/me/balance", headers: []string{"X-API-Key", bobKey}, upstream: "ledger",
			wantMethod: "GET", wantPath: "/users/bob/balance", wantQuery: map[string]string{"currency": "EUR"}},
		{desc: "body: body", method: "POST", path: "/v1/transfers", body: `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`,
			headers: []string{"X-API-Key", adaKey, "Idempotency-Key", "k-mapping"}, upstream: "ledger",
			wantMethod: "POST", wantPath: "/transfers", wantHeader: map[string]string{"Content-Type": "application/json"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := startFixture(t)
			f.do(t, tc.method, tc.path, tc.body, tc.headers...).want(t, map[string]int{"GET": 200, "POST": 201}[tc.method], "")
			up := map[string]*upstreamFake{"accounts": f.Accounts, "ledger": f.Ledger}[tc.upstream]
			got := up.Last(t)
			if got.Method != tc.wantMethod || got.Path != tc.wantPath {
				t.Fatalf("upstream got %s %s, want %s %s", got.Method, got.Path, tc.wantMethod, tc.wantPath)
			}
			for k, v := range tc.wantQuery {
				if got.Query[k] == nil || got.Query.Get(k) != v || len(got.Query[k]) != 1 {
					t.Errorf("upstream query %s = %q, want %q (query %v)", k, got.Query[k], v, got.Query)
				}
			}
			if len(got.Query) != len(tc.wantQuery) {
				t.Errorf("upstream query %v, want exactly %v", got.Query, tc.wantQuery)
			}
			for k, v := range tc.wantHeader {
				if got.Header.Get(k) != v {
					t.Errorf("upstream header %s = %q, want %q", k, got.Header.Get(k), v)
				}
			}
			if tc.body != "" {
				var sent, want any
				if err := json.Unmarshal(got.Body, &sent); err != nil {
					t.Fatalf("upstream body %q: %v", got.Body, err)
				}
				_ = json.Unmarshal([]byte(tc.body), &want)
				if !reflect.DeepEqual(sent, want) {
					t.Errorf("upstream body %s, want %s", got.Body, tc.body)
				}
			}
			// The public header the upstream has no parameter for is not passed on by name.
			if got.Header.Get("X-Tenant") != "" {
				t.Errorf("the public X-Tenant header reached the upstream as is: %v", got.Header)
			}
		})
	}
}

// TestFixtureDataField: data: body.items makes the public data the upstream answer's items
// (an array), not the page object around them.
func TestFixtureDataField(t *testing.T) {
	f := startFixture(t)
	r := f.do(t, "GET", "/v1/accounts", "")
	r.want(t, 200, "")
	var items []map[string]any
	r.data(t, &items)
	if len(items) != 2 || items[0]["id"] != "acc_1" || items[1]["id"] != "acc_2" {
		t.Fatalf("data %s, want the upstream's two items", r.Env.Data)
	}
	if bytes.Contains(r.Body, []byte(`"total"`)) {
		t.Fatalf("the page around the items left the gateway: %s", r.Body)
	}
}

// TestFixtureProjection: the public contract is the allow-list of what leaves the gateway.
// The upstreams add fields the public schemas do not declare (passwordHash at the top, nested
// in owner and in list items; creditLimitCents; riskScore): none is in the answer, and every
// declared one is.
func TestFixtureProjection(t *testing.T) {
	f := startFixture(t)
	for _, tc := range []struct {
		desc, method, path, body string
		headers                  []string
		status                   int
		leaks                    []string
		declared                 []string
	}{
		{desc: "get: top-level and nested", method: "GET", path: "/v1/accounts/acc_1", headers: []string{"X-Tenant", "t"}, status: 200,
			leaks: []string{"passwordHash", "secret-hash"}, declared: []string{`"id":"acc_1"`, `"email":"ada@example.com"`, `"currency":"EUR"`}},
		{desc: "list: in items", method: "GET", path: "/v1/accounts", status: 200,
			leaks: []string{"passwordHash", "secret-hash"}, declared: []string{`"id":"acc_2"`, `"email":"ada@example.com"`}},
		{desc: "owner-scoped get", method: "GET", path: "/v1/me/balance", headers: []string{"X-API-Key", adaKey}, status: 200,
			leaks: []string{"creditLimitCents", "50000"}, declared: []string{`"userId":"ada"`, `"amountCents":1200`}},
		{desc: "create", method: "POST", path: "/v1/transfers", body: `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`,
			headers: []string{"X-API-Key", adaKey, "Idempotency-Key", "k-projection"}, status: 201,
			leaks: []string{"riskScore", "0.93"}, declared: []string{`"id":"trf_1"`, `"status":"accepted"`, `"amountCents":500`}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := f.do(t, tc.method, tc.path, tc.body, tc.headers...)
			r.want(t, tc.status, "")
			for _, s := range tc.leaks {
				if bytes.Contains(r.Body, []byte(s)) {
					t.Errorf("%q left the gateway: %s", s, r.Body)
				}
			}
			for _, s := range tc.declared {
				if !bytes.Contains(r.Env.Data, []byte(s)) {
					t.Errorf("declared %s missing from data %s", s, r.Env.Data)
				}
			}
		})
	}
}

// TestFixtureUpstreamFailures: upstream answers map as for hand-written glue, and an answer
// outside the upstream's contract (or that the public contract cannot carry) is a 502
// UPSTREAM_CONTRACT_VIOLATION; no error answer carries the upstream's body.
func TestFixtureUpstreamFailures(t *testing.T) {
	transfer := `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`
	for _, tc := range []struct {
		desc, method, path, body string
		headers                  []string
		upstream                 string
		status                   int    // the upstream's answer (0: the default behaviour)
		answer                   string // its body
		wantStatus               int
		wantCode                 string
	}{
		{desc: "404", method: "GET", path: "/v1/accounts/acc_missing", headers: []string{"X-Tenant", "t"},
			wantStatus: 404, wantCode: "RESOURCE_NOT_FOUND"},
		{desc: "409", method: "POST", path: "/v1/transfers", body: `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":2000000}`,
			headers: []string{"X-API-Key", adaKey, "Idempotency-Key", "k-409"}, wantStatus: 409, wantCode: "CONFLICT"},
		{desc: "500", method: "GET", path: "/v1/accounts/acc_1", headers: []string{"X-Tenant", "t"}, upstream: "accounts",
			status: 500, answer: `{"code":"boom","message":"db-7.internal down"}`, wantStatus: 502, wantCode: "UPSTREAM_ERROR"},
		{desc: "503 on a POST", method: "POST", path: "/v1/transfers", body: transfer,
			headers: []string{"X-API-Key", adaKey, "Idempotency-Key", "k-503"}, upstream: "ledger",
			status: 503, answer: `{"code":"down","message":"db-7.internal down"}`, wantStatus: 502, wantCode: "UPSTREAM_ERROR"},
		{desc: "wrong type for its own schema", method: "GET", path: "/v1/accounts/acc_1", headers: []string{"X-Tenant", "t"}, upstream: "accounts",
			status: 200, answer: `{"id":7,"name":"n","currency":"EUR","owner":{"id":"u","email":"e"}}`, wantStatus: 502, wantCode: "UPSTREAM_CONTRACT_VIOLATION"},
		{desc: "malformed JSON", method: "GET", path: "/v1/me/balance", headers: []string{"X-API-Key", adaKey}, upstream: "ledger",
			status: 200, answer: `{"userId":"ada",`, wantStatus: 502, wantCode: "UPSTREAM_CONTRACT_VIOLATION"},
		{desc: "list without its data field", method: "GET", path: "/v1/accounts", upstream: "accounts",
			status: 200, answer: `{"total":0}`, wantStatus: 502, wantCode: "UPSTREAM_CONTRACT_VIOLATION"},
		{desc: "undeclared status", method: "GET", path: "/v1/me/balance", headers: []string{"X-API-Key", adaKey}, upstream: "ledger",
			status: 418, answer: `{"code":"teapot","message":"db-7.internal"}`, wantStatus: 502},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := startFixture(t)
			if tc.status != 0 {
				map[string]*upstreamFake{"accounts": f.Accounts, "ledger": f.Ledger}[tc.upstream].Answer(tc.status, tc.answer)
			}
			r := f.do(t, tc.method, tc.path, tc.body, tc.headers...)
			r.want(t, tc.wantStatus, tc.wantCode)
			if r.Env.Error == nil {
				t.Fatalf("not an error envelope: %s", r.Body)
			}
			if id := r.Header.Get("X-Request-Id"); id == "" || r.Env.Meta.RequestID != id {
				t.Fatalf("meta.requestId %q, X-Request-Id %q", r.Env.Meta.RequestID, id)
			}
			for _, s := range []string{"db-7.internal", "no_account", "insufficient_funds", "boom"} {
				if bytes.Contains(r.Body, []byte(s)) {
					t.Fatalf("the upstream's answer leaked (%q): %s", s, r.Body)
				}
			}
		})
	}
}

// TestFixtureIdempotency: the public contract requires Idempotency-Key on createTransfer and
// the ledger's declares it, so the key is forwarded; a repeat with the same key and payload is
// replayed from the idempotency store, without a second upstream call.
func TestFixtureIdempotency(t *testing.T) {
	const body = `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`
	f := startFixture(t)

	f.do(t, "POST", "/v1/transfers", body, "X-API-Key", adaKey).want(t, 400, "IDEMPOTENCY_KEY_MISSING")
	if n := len(f.Ledger.Received()); n != 0 {
		t.Fatalf("a request without a key reached the upstream (%d calls)", n)
	}

	first := f.do(t, "POST", "/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", "k-replay")
	first.want(t, 201, "")
	got := f.Ledger.Last(t)
	if got.Header.Get("Idempotency-Key") == "" {
		t.Fatalf("Idempotency-Key not forwarded upstream: %v", got.Header)
	}
	second := f.do(t, "POST", "/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", "k-replay")
	second.want(t, 201, "")
	if n := len(f.Ledger.Received()); n != 1 {
		t.Fatalf("two identical keyed POSTs made %d upstream calls, want 1", n)
	}
	if second.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the repeat was not marked replayed: %v", second.Header)
	}
	if !bytes.Equal(first.Env.Data, second.Env.Data) {
		t.Fatalf("replayed data %s, first %s", second.Env.Data, first.Env.Data)
	}

	f.do(t, "POST", "/v1/transfers", `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":501}`,
		"X-API-Key", adaKey, "Idempotency-Key", "k-replay").want(t, 422, "IDEMPOTENCY_KEY_REUSED")
}

// TestFixtureAuth: the fixture contract's security, with the configured API keys: a secured
// operation refuses a request without (valid) credentials with 401 and a caller without the
// scope with 403, before any upstream call; public operations need no credentials.
func TestFixtureAuth(t *testing.T) {
	transfer := `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`
	for _, tc := range []struct {
		desc, method, path, body string
		headers                  []string
		status                   int
		code                     string
	}{
		{desc: "no credentials", method: "GET", path: "/v1/me/balance", status: 401, code: "UNAUTHORIZED"},
		{desc: "unknown key", method: "GET", path: "/v1/me/balance", headers: []string{"X-API-Key", "fixture-key-nobody-0123456789abcd"}, status: 401, code: "UNAUTHORIZED"},
		{desc: "key without ledger:read", method: "GET", path: "/v1/me/balance", headers: []string{"X-API-Key", carolKey}, status: 403, code: "FORBIDDEN"},
		{desc: "no credentials on the keyed POST", method: "POST", path: "/v1/transfers", body: transfer,
			headers: []string{"Idempotency-Key", "k-auth-1"}, status: 401, code: "UNAUTHORIZED"},
		{desc: "key without ledger:write", method: "POST", path: "/v1/transfers", body: transfer,
			headers: []string{"X-API-Key", bobKey, "Idempotency-Key", "k-auth-2"}, status: 403, code: "FORBIDDEN"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := startFixture(t)
			r := f.do(t, tc.method, tc.path, tc.body, tc.headers...)
			r.want(t, tc.status, tc.code)
			if tc.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if n := len(f.Ledger.Received()) + len(f.Accounts.Received()); n != 0 {
				t.Fatalf("a refused request reached an upstream (%d calls)", n)
			}
		})
	}
	t.Run("public operations need no credentials", func(t *testing.T) {
		f := startFixture(t)
		f.do(t, "GET", "/v1/accounts", "").want(t, 200, "")
	})
}

// TestFixtureRateLimit: the fixture contract's x-ratelimit on getMyBalance (2 per minute)
// answers the third call 429 with Retry-After, without calling the upstream.
func TestFixtureRateLimit(t *testing.T) {
	f := startFixture(t)
	for i := range 2 {
		r := f.do(t, "GET", "/v1/me/balance", "", "X-API-Key", adaKey)
		r.want(t, 200, "")
		if i == 0 && !strings.Contains(r.Header.Get("RateLimit-Policy"), "q=2") {
			t.Errorf("RateLimit-Policy %q, want the contract's 2 requests", r.Header.Get("RateLimit-Policy"))
		}
	}
	r := f.do(t, "GET", "/v1/me/balance", "", "X-API-Key", adaKey)
	r.want(t, 429, "RATE_LIMIT_EXCEEDED")
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", r.Header)
	}
	if n := len(f.Ledger.Received()); n != 2 {
		t.Fatalf("the ledger received %d calls, want 2", n)
	}
	// The default policy (1000 per minute) governs the other operations.
	f.do(t, "GET", "/v1/accounts", "").want(t, 200, "")
}

// TestFixtureMockedUpstream: in development an upstream without baseURL answers from its
// contract's examples (logged once at start-up), projected like any answer; the other
// upstream is still called.
func TestFixtureMockedUpstream(t *testing.T) {
	f := startFixture(t, withoutBaseURL("accounts"))
	r := f.do(t, "GET", "/v1/accounts/acc_anything", "", "X-Tenant", "t")
	r.want(t, 200, "")
	var acc map[string]any
	r.data(t, &acc)
	if acc["id"] != "acc_mock" || acc["name"] != "Mocked account" {
		t.Fatalf("data %s, want the contract's example", r.Env.Data)
	}
	if bytes.Contains(r.Body, []byte("passwordHash")) {
		t.Fatalf("the example's undeclared field left the gateway: %s", r.Body)
	}
	if n := len(f.Accounts.Received()); n != 0 {
		t.Fatalf("the mocked upstream's listener was called %d times", n)
	}
	if n := strings.Count(f.Logs(), "upstream mocked"); n != 1 || !strings.Contains(f.Logs(), `"upstream":"accounts"`) {
		t.Fatalf("want one start-up line naming the mocked upstream accounts, got %d:\n%s", n, f.Logs())
	}
	f.do(t, "GET", "/v1/me/balance", "", "X-API-Key", adaKey).want(t, 200, "")
	f.Ledger.Last(t)
}

// TestFixtureProductionRequiresBaseURL: with env: production an upstream without baseURL is
// a start-up error naming its key.
func TestFixtureProductionRequiresBaseURL(t *testing.T) {
	_, err := launchFixture(t, nil, withoutBaseURL("ledger"), func(c *config.Config) { c.Env = config.EnvProduction })
	if err == nil {
		t.Fatal("server.New accepted a production upstream without baseURL")
	}
	if !strings.Contains(err.Error(), "upstreams.ledger.baseURL") {
		t.Fatalf("error %q does not name upstreams.ledger.baseURL", err)
	}
	if strings.Contains(err.Error(), "upstreams.accounts") {
		t.Fatalf("error %q names the configured upstream accounts", err)
	}
}

// TestFixtureIdempotencyKeyScopedUpstream: the key forwarded upstream is the one the
// hand-written glue forwards (idempotency.UpstreamKey: derived from the caller and the key),
// so that two callers' keys never meet upstream and a caller's raw key never leaves the
// gateway (upstream.EditRequest, under every generated client).
func TestFixtureIdempotencyKeyScopedUpstream(t *testing.T) {
	f := startFixture(t)
	f.do(t, "POST", "/v1/transfers", `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`,
		"X-API-Key", adaKey, "Idempotency-Key", "k-scoped").want(t, 201, "")
	want, err := idempotency.UpstreamKey("ada", "k-scoped")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Ledger.Last(t).Header.Get("Idempotency-Key"); got != want {
		t.Fatalf("upstream Idempotency-Key %q, want %q (idempotency.UpstreamKey of the caller and key)", got, want)
	}
}
