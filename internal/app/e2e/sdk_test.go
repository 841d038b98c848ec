package e2e_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/contractgate/contractgate/gen/sdk"
	"github.com/contractgate/contractgate/internal/app/testenv"
)

// TestGoSDK uses the generated Go SDK the way a client team would.
func TestGoSDK(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	ctx := context.Background()
	client, err := sdk.NewClientWithResponses(env.URL, sdk.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("X-API-Key", testenv.AliceKey)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}

	pageSize := int32(5)
	list, err := client.ListProductsWithResponse(ctx, &sdk.ListProductsParams{PageSize: &pageSize})
	if err != nil {
		t.Fatal(err)
	}
	if list.JSON200 == nil || !bool(list.JSON200.Success) || len(list.JSON200.Data) != 5 {
		t.Fatalf("list: %d %s", list.StatusCode(), list.Body)
	}
	if p := list.JSON200.Meta.Pagination; p == nil || p.TotalItems != 36 || p.TotalPages != 8 || !p.HasNext {
		t.Fatalf("pagination %+v", p)
	}
	if list.JSON200.Meta.RequestId != list.HTTPResponse.Header.Get("X-Request-Id") {
		t.Fatal("meta.requestId differs from X-Request-Id")
	}

	got, err := client.GetProductWithResponse(ctx, "prd_0001")
	if err != nil {
		t.Fatal(err)
	}
	if got.JSON200 == nil || got.JSON200.Data.Name != "Enamel camping mug" || got.JSON200.Data.Category != sdk.Outdoor {
		t.Fatalf("get: %d %s", got.StatusCode(), got.Body)
	}

	missing, err := client.GetProductWithResponse(ctx, "prd_9999")
	if err != nil {
		t.Fatal(err)
	}
	if missing.JSON404 == nil || missing.JSON404.Error.Code != sdk.ErrResourceNotFound || bool(missing.JSON404.Success) {
		t.Fatalf("missing: %d %s", missing.StatusCode(), missing.Body)
	}

	var payment sdk.Payment
	if err := payment.FromCardPayment(sdk.CardPayment{Method: sdk.Card, CardToken: "tok_visa_4242"}); err != nil {
		t.Fatal(err)
	}
	created, err := client.CreateOrderWithResponse(ctx, &sdk.CreateOrderParams{IdempotencyKey: "sdk-test-1"}, sdk.CreateOrderJSONRequestBody{
		Items:   []sdk.OrderItemRequest{{ProductId: "prd_0003", Quantity: 1}},
		Payment: payment,
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.StatusCode() != http.StatusCreated || created.JSON201 == nil || created.JSON201.Data.Status != sdk.Pending {
		t.Fatalf("create: %d %s", created.StatusCode(), created.Body)
	}

	invalid, err := client.CreateOrderWithResponse(ctx, &sdk.CreateOrderParams{IdempotencyKey: "sdk-test-2"}, sdk.CreateOrderJSONRequestBody{
		Items:   []sdk.OrderItemRequest{{ProductId: "prd_0003", Quantity: 500}},
		Payment: payment,
	})
	if err != nil {
		t.Fatal(err)
	}
	if invalid.JSON422 == nil || invalid.JSON422.Error.Details == nil {
		t.Fatalf("invalid create: %d %s", invalid.StatusCode(), invalid.Body)
	}
	d := (*invalid.JSON422.Error.Details)[0]
	if d.Field != "body.items[0].quantity" || d.Constraint != "maximum" {
		t.Fatalf("detail %+v", d)
	}
}
