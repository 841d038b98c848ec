// Package sdkclient tests the storefront's SDK packages (make sdk) as a client team uses them:
// from projects outside the repository (internal/tooling/sdkpack/sdkconsumer), against a live
// gateway with the real demo upstreams (internal/app/testenv). A Go module `go get`s the Go SDK
// from the build's module proxy and runs; an npm project installs the tarball, runs plain
// node, and type-checks TypeScript against the shipped declarations, which refuse a wrong call.
package sdkclient

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/tooling/sdkpack/sdkconsumer"
)

// want are the lines both consumers print, the same calls through either SDK: a product, a
// product that does not exist (the 404's error code), and an order placed with an API key
// and an Idempotency-Key.
var want = []string{
	`^product prd_0001 Enamel camping mug 1499$`,
	`^missing 404 RESOURCE_NOT_FOUND$`,
	`^order ([0-9a-f-]{36}) pending$`,
}

func checkOutput(t *testing.T, env *testenv.Env, before int, out string) {
	t.Helper()
	for _, line := range want {
		if !regexp.MustCompile(`(?m)` + line).MatchString(out) {
			t.Errorf("output lacks a line matching %s:\n%s", line, out)
		}
	}
	m := regexp.MustCompile(`(?m)^order ([0-9a-f-]{36}) `).FindStringSubmatch(out)
	if m == nil {
		return
	}
	id, err := uuid.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := env.OrdersService.Order(id); !ok {
		t.Errorf("order %s is not in the orders upstream", id)
	}
	if n := env.OrdersService.Count(); n != before+1 {
		t.Errorf("the orders upstream holds %d orders, want %d", n, before+1)
	}
}

func TestSDKs(t *testing.T) {
	r := sdkconsumer.Build(t)
	env := testenv.Start(t)

	t.Run("go", func(t *testing.T) {
		p := sdkconsumer.NewGoProject(t, r, map[string]string{"main.go": strings.ReplaceAll(goConsumer, "SDK_MODULE", r.GoModule)})
		before := env.OrdersService.Count()
		out, code := p.Go(t, "run", ".", env.URL, testenv.AliceKey)
		if code != 0 {
			t.Fatalf("the Go consumer exited %d:\n%s", code, out)
		}
		checkOutput(t, env, before, out)
		// A wrong key: the consumer sees the 401 through the SDK and says so.
		out, code = p.Go(t, "run", ".", env.URL, "not-a-valid-key")
		if code != 1 || !strings.Contains(out, "create order: 401 UNAUTHORIZED") {
			t.Errorf("with a wrong key the Go consumer exited %d, want 1 naming the 401:\n%s", code, out)
		}
	})

	t.Run("typescript", func(t *testing.T) {
		p := sdkconsumer.NewNPMProject(t, r, map[string]string{
			"main.mjs":   strings.ReplaceAll(jsConsumer, "SDK_NAME", r.NPMName),
			"typed.ts":   strings.ReplaceAll(tsConsumer, "SDK_NAME", r.NPMName),
			"untyped.ts": strings.ReplaceAll(tsWrong, "SDK_NAME", r.NPMName),
		})
		before := env.OrdersService.Count()
		out, code := p.Node(t, "main.mjs", env.URL, testenv.AliceKey)
		if code != 0 {
			t.Fatalf("node main.mjs exited %d:\n%s", code, out)
		}
		checkOutput(t, env, before, out)
		out, code = p.Node(t, "main.mjs", env.URL, "not-a-valid-key")
		if code != 1 || !strings.Contains(out, "create order: 401 UNAUTHORIZED") {
			t.Errorf("with a wrong key node main.mjs exited %d, want 1 naming the 401:\n%s", code, out)
		}

		if out, code := p.TypeCheck(t, "typed.ts"); code != 0 {
			t.Errorf("tsc --noEmit typed.ts exited %d, want 0:\n%s", code, out)
		}
		// The shipped types know the contract: an order without its required Idempotency-Key
		// header, a misspelt response field and a wrong path parameter type do not compile.
		out, code = p.TypeCheck(t, "untyped.ts")
		if code == 0 {
			t.Fatal("tsc --noEmit untyped.ts exited 0, want type errors")
		}
		for _, e := range []string{`untyped.ts(6,`, `Idempotency-Key`, `untyped.ts(10,`, `'nme'`, `untyped.ts(13,`} {
			if !strings.Contains(out, e) {
				t.Errorf("tsc's errors on untyped.ts lack %s:\n%s", e, out)
			}
		}
	})
}

// goConsumer is a client team's program using the Go SDK.
const goConsumer = `package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	sdk "SDK_MODULE"
)

func fail(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
	os.Exit(1)
}

func main() {
	ctx := context.Background()
	client, err := sdk.NewClientWithResponses(os.Args[1], sdk.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("X-API-Key", os.Args[2])
		return nil
	}))
	if err != nil {
		fail("client: %v", err)
	}
	p, err := client.GetProductWithResponse(ctx, "prd_0001")
	if err != nil || p.JSON200 == nil {
		fail("get product: %v %d %s", err, p.StatusCode(), p.Body)
	}
	fmt.Println("product", p.JSON200.Data.Id, p.JSON200.Data.Name, p.JSON200.Data.PriceCents)

	missing, err := client.GetProductWithResponse(ctx, "prd_9999")
	if err != nil || missing.JSON404 == nil {
		fail("get missing product: %v %d %s", err, missing.StatusCode(), missing.Body)
	}
	fmt.Println("missing", missing.StatusCode(), missing.JSON404.Error.Code)

	var payment sdk.Payment
	if err := payment.FromCardPayment(sdk.CardPayment{Method: sdk.Card, CardToken: "tok_visa_4242"}); err != nil {
		fail("payment: %v", err)
	}
	o, err := client.CreateOrderWithResponse(ctx, &sdk.CreateOrderParams{IdempotencyKey: sdk.IdempotencyKey(fmt.Sprint(time.Now().UnixNano()))},
		sdk.CreateOrderJSONRequestBody{Items: []sdk.OrderItemRequest{{ProductId: "prd_0001", Quantity: 1}}, Payment: payment})
	switch {
	case err != nil:
		fail("create order: %v", err)
	case o.JSON401 != nil:
		fail("create order: %d %s", o.StatusCode(), o.JSON401.Error.Code)
	case o.JSON201 == nil:
		fail("create order: %d %s", o.StatusCode(), o.Body)
	}
	fmt.Println("order", o.JSON201.Data.Id, o.JSON201.Data.Status)
}
`

// jsConsumer is a client team's program using the npm package, in plain JavaScript (node runs
// the package's compiled ES modules).
const jsConsumer = `import { createClient } from "SDK_NAME";

const [baseUrl, key] = process.argv.slice(2);
const api = createClient({ baseUrl, headers: { "X-API-Key": key } });
const fail = (what) => { console.log(what); process.exit(1); };

const p = await api.GET("/v1/products/{productId}", { params: { path: { productId: "prd_0001" } } });
if (!p.data) fail("get product: " + p.response.status);
console.log("product", p.data.data.id, p.data.data.name, p.data.data.priceCents);

const missing = await api.GET("/v1/products/{productId}", { params: { path: { productId: "prd_9999" } } });
if (!missing.error) fail("get missing product: " + missing.response.status);
console.log("missing", missing.response.status, missing.error.error.code);

const o = await api.POST("/v1/orders", {
  params: { header: { "Idempotency-Key": crypto.randomUUID() } },
  body: { items: [{ productId: "prd_0001", quantity: 1 }], payment: { method: "card", cardToken: "tok_visa_4242" } },
});
if (o.error) fail("create order: " + o.response.status + " " + o.error.error.code);
console.log("order", o.data.data.id, o.data.data.status);
`

// tsConsumer is the same calls in TypeScript, with the types spelt out: it must compile.
const tsConsumer = `import { createClient, type ErrorEnvelope, type Product, type Order } from "SDK_NAME";

const api = createClient({ baseUrl: "http://127.0.0.1:8080", headers: { "X-API-Key": "key" } });

export async function product(): Promise<Product | ErrorEnvelope> {
  const { data, error } = await api.GET("/v1/products/{productId}", { params: { path: { productId: "prd_0001" } } });
  return data ? data.data : error;
}

export async function order(): Promise<Order | undefined> {
  const { data } = await api.POST("/v1/orders", {
    params: { header: { "Idempotency-Key": "k1" } },
    body: { items: [{ productId: "prd_0001", quantity: 1 }], payment: { method: "card", cardToken: "tok_visa_4242" } },
  });
  const status: Order["status"] | undefined = data?.data.status;
  return status ? data?.data : undefined;
}
`

// tsWrong are three mistakes the shipped types must catch (the test checks each line).
const tsWrong = `import { createClient } from "SDK_NAME";

const api = createClient({ baseUrl: "http://127.0.0.1:8080" });

export async function noIdempotencyKey() {
  return api.POST("/v1/orders", { params: { header: {} }, body: { items: [{ productId: "prd_0001", quantity: 1 }], payment: { method: "card", cardToken: "t" } } });
}
export async function misspelt() {
  const { data } = await api.GET("/v1/products/{productId}", { params: { path: { productId: "prd_0001" } } });
  return data?.data.nme;
}
export async function wrongParamType() {
  return api.GET("/v1/products/{productId}", { params: { path: { productId: 1 } } });
}
`
