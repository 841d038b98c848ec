package server_test

// The contract as MCP tools (package mcp): an MCP client (the go-sdk's, over Streamable HTTP)
// against the assembled fixture gateway. Its operations getAccount, getMyBalance and
// createTransfer are marked x-mcp: true; listAccounts is not.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/mcp"
)

// headerTransport adds fixed headers (the caller's credentials) to every request.
type headerTransport struct {
	header http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.header {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}

// connectMCP opens an MCP session on the gateway's /mcp with headers (name, value pairs) on
// every request; it is closed when the test ends.
func connectMCP(t *testing.T, f *fixture, headers ...string) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "contractgate-test", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &sdk.StreamableClientTransport{
		Endpoint:             f.URL + mcp.Path,
		HTTPClient:           &http.Client{Transport: headerTransport{h}, Timeout: 10 * time.Second},
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		t.Fatalf("connecting to %s: %v", mcp.Path, err)
	}
	t.Cleanup(func() { _ = session.Close() })
	return session
}

// toolError is a tool error's structured content.
type toolError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Field      string `json:"field"`
		Constraint string `json:"constraint"`
	} `json:"details"`
	RetryAfter *int `json:"retryAfter"`
}

// callTool calls a tool, failing the test on an MCP (protocol) error.
func callTool(t *testing.T, s *sdk.ClientSession, name string, args map[string]any) *sdk.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

// wantToolError fails the test unless res is a tool error with status and code.
func wantToolError(t *testing.T, res *sdk.CallToolResult, status int, code string) toolError {
	t.Helper()
	if !res.IsError {
		t.Fatalf("tool result is not an error: %s", jsonText(t, res))
	}
	var e toolError
	if err := json.Unmarshal(jsonBytes(t, res.StructuredContent), &e); err != nil {
		t.Fatalf("tool error's structured content: %v", err)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("tool error %d %s, want %d %s: %s", e.Status, e.Code, status, code, jsonText(t, res))
	}
	if len(res.Content) == 0 {
		t.Fatalf("tool error without text content")
	}
	return e
}

func jsonBytes(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonText(t *testing.T, v any) string { return string(jsonBytes(t, v)) }

// sameJSON fails the test unless a and b are the same JSON value.
func sameJSON(t *testing.T, what string, a, b []byte) {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v: %s", what, err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v: %s", what, err, b)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("%s differ:\n%s\n%s", what, a, b)
	}
}

func TestMCPInitializeAndList(t *testing.T) {
	f := startFixture(t)
	s := connectMCP(t, f)
	init := s.InitializeResult()
	if init.ServerInfo == nil || init.ServerInfo.Name != "contractgate" || init.ServerInfo.Version != "1.0.0" {
		t.Fatalf("server info %+v", init.ServerInfo)
	}
	if init.Capabilities == nil || init.Capabilities.Tools == nil {
		t.Fatalf("capabilities %+v: no tools", init.Capabilities)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tools := map[string]*sdk.Tool{}
	var names []string
	for _, tl := range list.Tools {
		tools[tl.Name] = tl
		names = append(names, tl.Name)
	}
	// Only the marked operations (listed by name); listAccounts is not marked.
	if want := []string{"createTransfer", "getAccount", "getMyBalance"}; !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}

	get := tools["getAccount"]
	if get.Title != "Get an account" || !strings.HasPrefix(get.Description, "Get an account\n\nPublic.") {
		t.Fatalf("getAccount title %q, description %q", get.Title, get.Description)
	}
	if get.Annotations == nil || !get.Annotations.ReadOnlyHint {
		t.Fatalf("getAccount annotations %+v: not read-only", get.Annotations)
	}
	// The input schema is the contract's parameters: the path and header parameters with
	// their schemas, both required, nothing else.
	sameJSON(t, "getAccount inputSchema", jsonBytes(t, get.InputSchema), []byte(`{
		"type": "object", "additionalProperties": false,
		"properties": {
			"accountId": {"type": "string", "pattern": "^[a-z0-9_]{1,32}$"},
			"X-Tenant": {"type": "string", "minLength": 1}
		},
		"required": ["accountId", "X-Tenant"]}`))
	// The output schema is the 200 answer's data: Account, and Owner which it reaches.
	sameJSON(t, "getAccount outputSchema", jsonBytes(t, get.OutputSchema), []byte(`{
		"$ref": "#/$defs/Account",
		"$defs": {
			"Account": {"type": "object", "required": ["id", "name", "currency", "owner"], "properties": {
				"id": {"type": "string"}, "name": {"type": "string"}, "currency": {"type": "string"},
				"owner": {"$ref": "#/$defs/Owner"}}},
			"Owner": {"type": "object", "required": ["id", "email"], "properties": {
				"id": {"type": "string"}, "email": {"type": "string"}}}
		}}`))

	// The keyed operation takes its Idempotency-Key as idempotencyKey and its body as body.
	create := tools["createTransfer"]
	sameJSON(t, "createTransfer inputSchema", jsonBytes(t, create.InputSchema), []byte(`{
		"type": "object", "additionalProperties": false,
		"properties": {
			"idempotencyKey": {"type": "string", "minLength": 1, "maxLength": 257, "pattern": "^[\\x21-\\x7E]+$"},
			"body": {"$ref": "#/$defs/TransferRequest"}
		},
		"required": ["idempotencyKey", "body"],
		"$defs": {"TransferRequest": {"type": "object", "additionalProperties": false,
			"required": ["fromAccount", "toAccount", "amountCents"], "properties": {
				"fromAccount": {"type": "string", "minLength": 1},
				"toAccount": {"type": "string", "minLength": 1},
				"amountCents": {"type": "integer", "format": "int64", "minimum": 1}}}}}`))
	if create.Annotations == nil || create.Annotations.ReadOnlyHint || !create.Annotations.IdempotentHint {
		t.Fatalf("createTransfer annotations %+v", create.Annotations)
	}

	// An operation that is not marked is no tool.
	if _, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "listAccounts"}); err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Fatalf("tools/call listAccounts: %v, want an unknown tool error", err)
	}
}

func TestMCPCallAnswersAsHTTP(t *testing.T) {
	f := startFixture(t)
	s := connectMCP(t, f, "X-Request-Id", "mcp-request-0001")
	res := callTool(t, s, "getAccount", map[string]any{"accountId": "acc_7", "X-Tenant": "t1"})
	if res.IsError {
		t.Fatalf("getAccount: %s", jsonText(t, res))
	}
	http := f.do(t, "GET", "/v1/accounts/acc_7", "", "X-Tenant", "t1")
	http.want(t, 200, "")
	// The same data as the HTTP operation (projected: no passwordHash).
	sameJSON(t, "tool structuredContent and HTTP data", jsonBytes(t, res.StructuredContent), http.Env.Data)
	if strings.Contains(jsonText(t, res), "passwordHash") {
		t.Fatalf("the tool result leaks what the contract does not declare: %s", jsonText(t, res))
	}
	// The upstream got the operation's request, as the HTTP route sends it.
	got := f.Accounts.Received()
	if len(got) != 2 || got[0].Path != "/accounts/acc_7" || got[0].Header.Get("X-Tenant-Id") != "t1" {
		t.Fatalf("upstream received %+v", got)
	}
	// The call is the operation's request with the /mcp request's id, and logged as such.
	meta, _ := res.Meta[mcp.MetaKey].(map[string]any)
	envMeta, _ := meta["meta"].(map[string]any)
	id, _ := envMeta["requestId"].(string)
	if id != "mcp-request-0001" || meta["status"] != float64(200) {
		t.Fatalf("result _meta %v: want status 200 and the /mcp request's id", res.Meta)
	}
	if !strings.Contains(f.Logs(), `"requestId":"`+id+`"`) || !strings.Contains(f.Logs(), `"operation":"getAccount"`) {
		t.Fatalf("no access log of getAccount with the request id %s:\n%s", id, f.Logs())
	} // And counted as the operation (one tool call, one HTTP request).
	metrics := string(f.do(t, "GET", "/metrics", "").Body)
	if !strings.Contains(metrics, `contractgate_requests_total{method="GET",operation="getAccount",status="2xx"} 2`) {
		t.Fatalf("getAccount not counted twice:\n%s", metrics)
	}
}

func TestMCPValidation(t *testing.T) {
	f := startFixture(t)
	s := connectMCP(t, f)
	// A bad argument: 422 with the same details the HTTP operation answers; no upstream call.
	res := callTool(t, s, "getAccount", map[string]any{"accountId": "NOT VALID", "X-Tenant": "t1"})
	e := wantToolError(t, res, 422, "VALIDATION_FAILED")
	if len(e.Details) != 1 || e.Details[0].Field != "path.accountId" || e.Details[0].Constraint != "pattern" {
		t.Fatalf("details %+v", e.Details)
	}
	// A missing header parameter.
	e = wantToolError(t, callTool(t, s, "getAccount", map[string]any{"accountId": "acc_1"}), 422, "VALIDATION_FAILED")
	if len(e.Details) != 1 || e.Details[0].Field != "header.X-Tenant" {
		t.Fatalf("details %+v", e.Details)
	}
	// An argument the tool does not take.
	e = wantToolError(t, callTool(t, s, "getAccount", map[string]any{"accountId": "acc_1", "X-Tenant": "t", "admin": true}), 422, "VALIDATION_FAILED")
	if len(e.Details) != 1 || e.Details[0].Field != "arguments.admin" {
		t.Fatalf("details %+v", e.Details)
	}
	if n := len(f.Accounts.Received()); n != 0 {
		t.Fatalf("refused calls reached the upstream %d times", n)
	}
	// An upstream 404 is the operation's 404.
	wantToolError(t, callTool(t, s, "getAccount", map[string]any{"accountId": "acc_missing", "X-Tenant": "t1"}), 404, "RESOURCE_NOT_FOUND")
}

func TestMCPCredentials(t *testing.T) {
	f := startFixture(t)
	// No credentials on the /mcp request: tools/list works, the secured tool is refused.
	wantToolError(t, callTool(t, connectMCP(t, f), "getMyBalance", nil), 401, "UNAUTHORIZED")
	wantToolError(t, callTool(t, connectMCP(t, f, "X-API-Key", "fixture-key-nobody-0123456789abcdef"), "getMyBalance", nil), 401, "UNAUTHORIZED")
	// carol has no ledger:read.
	wantToolError(t, callTool(t, connectMCP(t, f, "X-API-Key", carolKey), "getMyBalance", nil), 403, "FORBIDDEN")
	// bob has ledger:read but not ledger:write.
	bob := connectMCP(t, f, "X-API-Key", bobKey)
	wantToolError(t, callTool(t, bob, "createTransfer", map[string]any{
		"idempotencyKey": "k1", "body": map[string]any{"fromAccount": "a", "toAccount": "b", "amountCents": 5},
	}), 403, "FORBIDDEN")
	if n := len(f.Ledger.Received()); n != 0 {
		t.Fatalf("refused calls reached the ledger %d times", n)
	}
	// With ledger:read, the caller's own balance (the subject is bob's).
	res := callTool(t, bob, "getMyBalance", nil)
	if res.IsError {
		t.Fatalf("getMyBalance: %s", jsonText(t, res))
	}
	if got := f.Ledger.Last(t).Path; got != "/users/bob/balance" {
		t.Fatalf("ledger got %s", got)
	}
}

func TestMCPRateLimit(t *testing.T) {
	f := startFixture(t)
	s := connectMCP(t, f, "X-API-Key", adaKey)
	// getMyBalance: 2 per minute per caller, shared by the tool and the HTTP route.
	for i := range 2 {
		if res := callTool(t, s, "getMyBalance", nil); res.IsError {
			t.Fatalf("call %d: %s", i+1, jsonText(t, res))
		}
	}
	e := wantToolError(t, callTool(t, s, "getMyBalance", nil), 429, "RATE_LIMIT_EXCEEDED")
	if e.RetryAfter == nil || *e.RetryAfter < 1 {
		t.Fatalf("429 without retryAfter: %+v", e)
	}
	f.do(t, "GET", "/v1/me/balance", "", "X-API-Key", adaKey).want(t, 429, "RATE_LIMIT_EXCEEDED")
	if n := len(f.Ledger.Received()); n != 2 {
		t.Fatalf("ledger got %d calls, want 2", n)
	}
}

func TestMCPIdempotency(t *testing.T) {
	f := startFixture(t)
	s := connectMCP(t, f, "X-API-Key", adaKey)
	args := map[string]any{
		"idempotencyKey": "mcp-key-1",
		"body":           map[string]any{"fromAccount": "acc_1", "toAccount": "acc_2", "amountCents": 250},
	}
	first := callTool(t, s, "createTransfer", args)
	if first.IsError {
		t.Fatalf("createTransfer: %s", jsonText(t, first))
	}
	again := callTool(t, s, "createTransfer", args)
	if again.IsError {
		t.Fatalf("createTransfer again: %s", jsonText(t, again))
	}
	sameJSON(t, "the replayed transfer", jsonBytes(t, again.StructuredContent), jsonBytes(t, first.StructuredContent))
	if meta, _ := again.Meta[mcp.MetaKey].(map[string]any); meta["replayed"] != true || meta["status"] != float64(201) {
		t.Fatalf("replay _meta %v", again.Meta)
	}
	if n := len(f.Ledger.Received()); n != 1 {
		t.Fatalf("ledger got %d calls, want 1", n)
	}
	// The same key with another payload, and no key at all.
	args["body"] = map[string]any{"fromAccount": "acc_1", "toAccount": "acc_2", "amountCents": 999}
	wantToolError(t, callTool(t, s, "createTransfer", args), 422, "IDEMPOTENCY_KEY_REUSED")
	delete(args, "idempotencyKey")
	wantToolError(t, callTool(t, s, "createTransfer", args), 400, "IDEMPOTENCY_KEY_MISSING")
	// A body outside its schema: 422 with details from the body's validation.
	e := wantToolError(t, callTool(t, s, "createTransfer", map[string]any{
		"idempotencyKey": "mcp-key-2", "body": map[string]any{"fromAccount": "acc_1", "toAccount": "acc_2", "amountCents": 0},
	}), 422, "VALIDATION_FAILED")
	if len(e.Details) != 1 || e.Details[0].Field != "body.amountCents" || e.Details[0].Constraint != "minimum" {
		t.Fatalf("details %+v", e.Details)
	}
	if n := len(f.Ledger.Received()); n != 1 {
		t.Fatalf("ledger got %d calls, want 1", n)
	}
}

func TestMCPEndpointErrorsInTheEnvelope(t *testing.T) {
	f := startFixture(t)
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`
	both := "application/json, text/event-stream"
	f.do(t, "GET", mcp.Path, "").want(t, 405, "METHOD_NOT_ALLOWED")
	f.do(t, "POST", mcp.Path, initialize, "Content-Type", "text/plain", "Accept", both).want(t, 415, "UNSUPPORTED_MEDIA_TYPE")
	f.do(t, "POST", mcp.Path, initialize, "Accept", "application/json").want(t, 406, "NOT_ACCEPTABLE")
	f.do(t, "POST", mcp.Path, `{"jsonrpc":`, "Accept", both).want(t, 400, "MALFORMED_JSON")
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", int(f.Config.Server.BodyLimit)) + `"}}`
	f.do(t, "POST", mcp.Path, big, "Accept", both).want(t, 413, "PAYLOAD_TOO_LARGE")
	// A JSON-RPC batch (protocol 2025-03-26) is bounded: one /mcp request cannot fan out into
	// more tool calls than mcp.MaxBatch.
	batch := func(n int) string {
		pings := make([]string, n)
		for i := range pings {
			pings[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i+1)
		}
		return "[" + strings.Join(pings, ",") + "]"
	}
	f.do(t, "POST", mcp.Path, batch(mcp.MaxBatch+1), "Accept", both, "Mcp-Protocol-Version", "2025-03-26").want(t, 400, "MALFORMED_JSON")
	req, _ := http.NewRequest("POST", f.URL+mcp.Path, strings.NewReader(batch(2)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", both)
	req.Header.Set("Mcp-Protocol-Version", "2025-03-26")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(string(answer), `"jsonrpc"`) != 2 {
		t.Fatalf("a batch within the bound: %d %s, want both pings answered", resp.StatusCode, answer)
	}
	// What the transport itself refuses is answered in the envelope too.
	f.do(t, "POST", mcp.Path, `{"hello":"world"}`, "Accept", both).want(t, 400, "MALFORMED_JSON")
	f.do(t, "POST", mcp.Path, initialize, "Accept", both, "Mcp-Protocol-Version", "1999-01-01").want(t, 400, "MALFORMED_JSON")
	// A plain initialize answers in JSON (stateless: no session id).
	r := f.do(t, "POST", mcp.Path, initialize, "Accept", both)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"serverInfo"`) || r.Header.Get("Mcp-Session-Id") != "" {
		t.Fatalf("initialize: %d %v %s", r.Status, r.Header, r.Body)
	}
}

func TestMCPDisabled(t *testing.T) {
	off := false
	f := startFixture(t, func(c *config.Config) { c.MCP.Enabled = &off })
	f.do(t, "POST", mcp.Path, `{}`, "Accept", "application/json, text/event-stream").want(t, 404, "ROUTE_NOT_FOUND")
}
