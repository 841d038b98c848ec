package e2e_test

// The storefront's contract as MCP tools: the go-sdk's MCP client over Streamable HTTP against
// the gateway in front of the three demo upstreams.

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contractgate/contractgate/api"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/mcp"
)

// withHeaders adds fixed headers (the agent's credentials) to every request.
type withHeaders http.Header

func (h withHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}

// agent connects an MCP client to the gateway with headers (name, value pairs).
func agent(t *testing.T, env *testenv.Env, headers ...string) *sdk.ClientSession {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := sdk.NewClient(&sdk.Implementation{Name: "e2e-agent", Version: "1.0.0"}, nil).Connect(ctx, &sdk.StreamableClientTransport{
		Endpoint:             env.URL + mcp.Path,
		HTTPClient:           &http.Client{Transport: withHeaders(h), Timeout: 10 * time.Second},
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func call(t *testing.T, s *sdk.ClientSession, name string, args map[string]any) *sdk.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

func structured(t *testing.T, res *sdk.CallToolResult) any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// refusal fails the test unless res is a tool error with status and code.
func refusal(t *testing.T, res *sdk.CallToolResult, status int, code string) map[string]any {
	t.Helper()
	e, _ := structured(t, res).(map[string]any)
	if !res.IsError || e["status"] != float64(status) || e["code"] != code {
		t.Fatalf("tool result %v (isError %v), want %d %s", e, res.IsError, status, code)
	}
	return e
}

func TestMCPStorefront(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	alice := agent(t, env, "X-API-Key", testenv.AliceKey)

	t.Run("tools are the marked operations, with the contract's parameters", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list, err := alice.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := api.Load()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range list.Tools {
			names = append(names, tl.Name)
			var op *struct{ method, path string }
			for path, item := range doc.Paths.Map() {
				for method, o := range item.Operations() {
					if o.OperationID == tl.Name {
						op = &struct{ method, path string }{method, path}
						if marked, _ := o.Extensions[mcp.Extension].(bool); !marked {
							t.Errorf("%s is a tool but not marked %s", tl.Name, mcp.Extension)
						}
						// The input schema's properties: every parameter (the key as
						// idempotencyKey), and the body.
						var want []string
						for _, p := range append(o.Parameters, item.Parameters...) {
							if p.Value.Name == "Idempotency-Key" {
								want = append(want, mcp.IdempotencyKeyArgument)
								continue
							}
							want = append(want, p.Value.Name)
						}
						if o.RequestBody != nil {
							want = append(want, mcp.BodyArgument)
						}
						in, _ := tl.InputSchema.(map[string]any)
						props, _ := in["properties"].(map[string]any)
						var got []string
						for k := range props {
							got = append(got, k)
						}
						sort.Strings(got)
						sort.Strings(want)
						if !slices.Equal(got, want) {
							t.Errorf("%s: input properties %v, want %v", tl.Name, got, want)
						}
					}
				}
			}
			if op == nil {
				t.Errorf("tool %s is no operation of the contract", tl.Name)
			}
		}
		want := []string{"createOrder", "getDashboard", "getMyRecommendations", "getOrder", "getProduct", "listOrders", "listProducts"}
		if !slices.Equal(names, want) {
			t.Fatalf("tools %v, want %v", names, want)
		}
	})

	t.Run("a read answers the HTTP operation's data", func(t *testing.T) {
		res := call(t, alice, "listProducts", map[string]any{"pageSize": 3, "category": "outdoor"})
		if res.IsError {
			t.Fatalf("listProducts: %v", structured(t, res))
		}
		var httpEnv struct{ Data any }
		env.Do(t, http.MethodGet, "/v1/products?pageSize=3&category=outdoor", "").Decode(t, &httpEnv)
		if got := structured(t, res); !reflect.DeepEqual(got, httpEnv.Data) || len(got.([]any)) != 3 {
			t.Fatalf("tool data %v\nHTTP data %v", got, httpEnv.Data)
		}
		meta, _ := res.Meta[mcp.MetaKey].(map[string]any)
		if envMeta, _ := meta["meta"].(map[string]any); envMeta["pagination"] == nil {
			t.Fatalf("no pagination in the result's _meta: %v", res.Meta)
		}
	})

	t.Run("bad argument: 422 with details", func(t *testing.T) {
		e := refusal(t, call(t, alice, "listProducts", map[string]any{"pageSize": 500}), 422, "VALIDATION_FAILED")
		d, _ := e["details"].([]any)
		if len(d) != 1 || d[0].(map[string]any)["field"] != "query.pageSize" {
			t.Fatalf("details %v", d)
		}
	})

	t.Run("credentials: 401 without, 403 without the scope", func(t *testing.T) {
		refusal(t, call(t, agent(t, env), "listOrders", nil), 401, "UNAUTHORIZED")
		bob := agent(t, env, "X-API-Key", testenv.BobKey)
		before := env.OrdersService.Count()
		refusal(t, call(t, bob, "createOrder", map[string]any{
			"idempotencyKey": "bob-mcp-1",
			"body":           map[string]any{"items": []any{map[string]any{"productId": "prd_0001", "quantity": 1}}, "payment": map[string]any{"method": "invoice", "purchaseOrder": "PO-9"}},
		}), 403, "FORBIDDEN")
		if env.OrdersService.Count() != before {
			t.Fatal("a refused createOrder reached the orders service")
		}
	})

	t.Run("createOrder is idempotent through the tool", func(t *testing.T) {
		before := env.OrdersService.Count()
		args := map[string]any{
			"idempotencyKey": "mcp-order-1",
			"body":           map[string]any{"items": []any{map[string]any{"productId": "prd_0003", "quantity": 2}}, "payment": map[string]any{"method": "card", "cardToken": "tok_visa_4242"}},
		}
		first := call(t, alice, "createOrder", args)
		if first.IsError {
			t.Fatalf("createOrder: %v", structured(t, first))
		}
		again := call(t, alice, "createOrder", args)
		if !reflect.DeepEqual(structured(t, again), structured(t, first)) {
			t.Fatalf("replay %v, want %v", structured(t, again), structured(t, first))
		}
		if meta, _ := again.Meta[mcp.MetaKey].(map[string]any); meta["replayed"] != true || meta["status"] != float64(201) {
			t.Fatalf("the repeat is no replay: %v", again.Meta)
		}
		if n := env.OrdersService.Count(); n != before+1 {
			t.Fatalf("orders service holds %d orders, want %d", n, before+1)
		}
		// The order is alice's, as the HTTP API shows it.
		id := structured(t, first).(map[string]any)["id"].(string)
		got := call(t, alice, "getOrder", map[string]any{"orderId": id})
		if got.IsError || structured(t, got).(map[string]any)["id"] != id {
			t.Fatalf("getOrder %s: %v", id, structured(t, got))
		}
		if res := env.Do(t, http.MethodGet, "/v1/orders/"+id, ""); res.Status != http.StatusOK {
			t.Fatalf("GET /v1/orders/%s: %d", id, res.Status)
		}
	})
}

func TestMCPStorefrontRateLimit(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	s := agent(t, env, "X-API-Key", testenv.AliceKey)
	// getDashboard: x-ratelimit 60 per minute, burst 10, per caller.
	var refused *sdk.CallToolResult
	for range 20 {
		if res := call(t, s, "getDashboard", nil); res.IsError {
			refused = res
			break
		}
	}
	if refused == nil {
		t.Fatal("20 calls of getDashboard in a row were all answered")
	}
	e := refusal(t, refused, 429, "RATE_LIMIT_EXCEEDED")
	if e["retryAfter"] == nil {
		t.Fatalf("429 without retryAfter: %v", e)
	}
	// The tool and the HTTP route share the caller's budget.
	if res := env.Do(t, http.MethodGet, "/v1/me/dashboard", ""); res.Status != http.StatusTooManyRequests {
		t.Fatalf("GET /v1/me/dashboard after the tool's 429: %d", res.Status)
	}
}
