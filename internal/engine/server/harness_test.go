package server_test

// The engine's end-to-end harness: the fixture app (testdata/fixture: a public contract whose
// operations are all bound with x-upstream to two upstreams, accounts and ledger; its code
// generated into gen/fixture by `make generate`) served by server.New over httptest, in front
// of two recording upstreams on real listeners. Nothing here knows the storefront, so
// replacing the app (`make init`) leaves these tests green.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/contractgate/contractgate/gen/fixture/bindings"
	"github.com/contractgate/contractgate/gen/fixture/gateway"
	"github.com/contractgate/contractgate/gen/fixture/upstreams"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"github.com/contractgate/contractgate/internal/engine/seam"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/engine/tracing"
)

// The fixture configuration's API keys (testdata/config.yaml).
const (
	adaKey   = "fixture-key-ada-0123456789abcdef"   // ada: ledger:read, ledger:write
	bobKey   = "fixture-key-bob-0123456789abcdef"   // bob: ledger:read
	carolKey = "fixture-key-carol-0123456789abcdef" // carol: no scope
)

// fixtureApp is the fixture app's seam: its contracts and a Mount made of generated code only
// (gen/fixture/upstreams, bindings and gateway). The compiler proves that the bound operations
// implement the whole strict server interface.
func fixtureApp() seam.App {
	return seam.App{Contracts: os.DirFS("testdata/fixture"), Mount: mountFixture}
}

type fixtureHandlers struct{ *bindings.Bound }

var _ gateway.StrictServerInterface = fixtureHandlers{}

func mountFixture(r seam.Router, deps seam.Deps) error {
	up, err := upstreams.New(deps.Upstreams)
	if err != nil {
		return err
	}
	bound, err := bindings.New(up, deps.Bindings)
	if err != nil {
		return err
	}
	gateway.RegisterHandlers(r, gateway.NewStrictHandler(fixtureHandlers{bound}, nil))
	return nil
}

// fixtureConfig is testdata/config.yaml, decoded (not yet defaulted nor validated).
func fixtureConfig(t testing.TB) *config.Config {
	t.Helper()
	data, err := os.ReadFile("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// received is one request an upstream received.
type received struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// upstreamFake is a recording upstream on a real listener: it records every request, then
// answers with reply (the fixture upstream's default behaviour unless a test replaces it).
type upstreamFake struct {
	*httptest.Server
	mu    sync.Mutex
	got   []received
	reply http.HandlerFunc
}

func newUpstream(t testing.TB, reply http.HandlerFunc) *upstreamFake {
	u := &upstreamFake{reply: reply}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		u.mu.Lock()
		u.got = append(u.got, received{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
		reply := u.reply
		u.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// Reply replaces the upstream's behaviour.
func (u *upstreamFake) Reply(h http.HandlerFunc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reply = h
}

// Answer makes the upstream answer every request with status and body (JSON).
func (u *upstreamFake) Answer(status int, body string) {
	u.Reply(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, body) })
}

// Received returns the requests received so far.
func (u *upstreamFake) Received() []received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]received(nil), u.got...)
}

// Last returns the one request received, failing the test unless there was exactly one.
func (u *upstreamFake) Last(t testing.TB) received {
	t.Helper()
	got := u.Received()
	if len(got) != 1 {
		t.Fatalf("upstream received %d requests, want 1: %+v", len(got), got)
	}
	return got[0]
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// An account as the accounts upstream stores it: with fields the public contract does not
// declare (passwordHash, also nested in owner).
func accountJSON(id string) string {
	return fmt.Sprintf(`{"id":%q,"name":"Ada's account","currency":"EUR",`+
		`"owner":{"id":"usr_ada","email":"ada@example.com","passwordHash":"owner-secret-hash"},`+
		`"passwordHash":"account-secret-hash"}`, id)
}

// accountsBehaviour is the accounts upstream: listAccounts and getAccount (acc_missing: 404).
func accountsBehaviour(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/accounts":
		writeJSON(w, http.StatusOK, `{"items":[`+accountJSON("acc_1")+`,`+accountJSON("acc_2")+`],"total":2}`)
	case r.Method == http.MethodGet && r.URL.Path == "/accounts/acc_missing":
		writeJSON(w, http.StatusNotFound, `{"code":"no_account","message":"no account acc_missing on db-7.internal"}`)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/accounts/"):
		writeJSON(w, http.StatusOK, accountJSON(strings.TrimPrefix(r.URL.Path, "/accounts/")))
	default:
		writeJSON(w, http.StatusNotFound, `{"code":"no_route","message":"no route"}`)
	}
}

// ledgerBehaviour is the ledger upstream: getBalance and createTransfer (an amount over
// 1,000,000 cents: 409).
func ledgerBehaviour(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/users/") && strings.HasSuffix(r.URL.Path, "/balance"):
		user := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/users/"), "/balance")
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"userId":%q,"currency":%q,"amountCents":1200,"creditLimitCents":50000}`, user, r.URL.Query().Get("currency")))
	case r.Method == http.MethodPost && r.URL.Path == "/transfers":
		var in struct {
			FromAccount string `json:"fromAccount"`
			ToAccount   string `json:"toAccount"`
			AmountCents int64  `json:"amountCents"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, `{"code":"bad_body","message":"bad body"}`)
			return
		}
		if in.AmountCents > 1_000_000 {
			writeJSON(w, http.StatusConflict, `{"code":"insufficient_funds","message":"insufficient funds"}`)
			return
		}
		writeJSON(w, http.StatusCreated, fmt.Sprintf(`{"id":"trf_1","fromAccount":%q,"toAccount":%q,"amountCents":%d,"status":"accepted","riskScore":0.93}`,
			in.FromAccount, in.ToAccount, in.AmountCents))
	default:
		writeJSON(w, http.StatusNotFound, `{"code":"no_route","message":"no route"}`)
	}
}

// fixture is the fixture app served by the engine, with its two recording upstreams.
type fixture struct {
	URL      string
	Server   *server.Server
	Config   *config.Config
	Accounts *upstreamFake
	Ledger   *upstreamFake
	logs     *enginetest.LogBuffer
}

// startFixture serves the fixture app (testdata/config.yaml, the upstreams' base URLs pointing
// at the recording upstreams, then changed by each mutate) until the test ends.
func startFixture(t testing.TB, mutate ...func(*config.Config)) *fixture {
	t.Helper()
	f, err := launchFixture(t, nil, mutate...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(f.Server.Handler())
	hs := f.Server.HTTPServer()
	ts.Config.ReadHeaderTimeout, ts.Config.MaxHeaderBytes = hs.ReadHeaderTimeout, hs.MaxHeaderBytes
	ts.Start()
	t.Cleanup(ts.Close)
	f.URL = ts.URL
	return f
}

// launchFixture builds the gateway (server.New) without serving it.
func launchFixture(t testing.TB, opts []server.Option, mutate ...func(*config.Config)) (*fixture, error) {
	t.Helper()
	f := &fixture{
		Accounts: newUpstream(t, accountsBehaviour),
		Ledger:   newUpstream(t, ledgerBehaviour),
		logs:     &enginetest.LogBuffer{},
	}
	cfg := fixtureConfig(t)
	for name, u := range map[string]*upstreamFake{"accounts": f.Accounts, "ledger": f.Ledger} {
		c := cfg.Upstreams[name]
		c.BaseURL = u.URL
		cfg.Upstreams[name] = c
	}
	for _, m := range mutate {
		m(cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f.Config = cfg
	if opts == nil {
		opts = []server.Option{server.WithTracing(tracing.Disabled())} // ignore the host's OTEL_*
	}
	srv, err := server.New(cfg, fixtureApp(), logging.New(config.Log{Level: "debug", Format: "json"}, f.logs), opts...)
	if err != nil {
		return nil, err
	}
	f.Server = srv
	return f, nil
}

// withoutBaseURL removes upstreams.<name>.baseURL.
func withoutBaseURL(name string) func(*config.Config) {
	return func(c *config.Config) {
		u := c.Upstreams[name]
		u.BaseURL = ""
		c.Upstreams[name] = u
	}
}

// Logs returns what the gateway logged so far.
func (f *fixture) Logs() string { return f.logs.String() }

// response is a gateway response, read whole, with its envelope decoded.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Env    envelope
}

type envelope struct {
	Success *bool           `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Meta struct {
		RequestID string `json:"requestId"`
	} `json:"meta"`
}

// do sends one request to the gateway; headers are name, value pairs. It sends no
// credentials unless headers do.
func (f *fixture) do(t testing.TB, method, path, body string, headers ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return send(t, req)
}

func send(t testing.TB, req *http.Request) *response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r.Env); err != nil {
			t.Fatalf("%s %s: the JSON answer is not an envelope: %v\n%s", req.Method, req.URL.Path, err, b)
		}
	}
	return r
}

// want fails the test unless the answer has status and, when code is set, that error code.
func (r *response) want(t testing.TB, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if code == "" {
		return
	}
	if r.Env.Error == nil || r.Env.Error.Code != code {
		t.Fatalf("answer %s, want error code %s", r.Body, code)
	}
	if r.Env.Success == nil || *r.Env.Success {
		t.Fatalf("an error answer with success %v: %s", r.Env.Success, r.Body)
	}
}

// data decodes the envelope's data into v.
func (r *response) data(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Env.Data, v); err != nil {
		t.Fatalf("data: %v\n%s", err, r.Body)
	}
}
