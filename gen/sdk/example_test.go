// Runnable examples of the SDK, shown in its documentation. Not generated: regeneration
// never touches this file. TestMain runs the demo storefront (gateway and upstreams) on
// loopback (internal/app/testenv) so that the examples call a real gateway.
package sdk_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"testing"

	"github.com/contractgate/contractgate/gen/sdk"
	"github.com/contractgate/contractgate/internal/app/testenv"
)

// gatewayURL is the running gateway, e.g. http://127.0.0.1:8080 after `make run`.
var gatewayURL string

// apiKey is a demo API key of alice (orders:read, orders:write).
const apiKey = "demo-key-alice-0123456789abcdef"

func Example() {
	client, err := sdk.NewClientWithResponses(gatewayURL)
	if err != nil {
		log.Fatal(err)
	}
	pageSize := int32(2)
	res, err := client.ListProductsWithResponse(context.Background(), &sdk.ListProductsParams{PageSize: &pageSize})
	if err != nil {
		log.Fatal(err) // transport failure
	}
	if res.JSON200 == nil {
		log.Fatalf("unexpected answer %d", res.StatusCode())
	}
	for _, p := range res.JSON200.Data {
		fmt.Println(p.Id, p.Name, p.PriceCents)
	}
	pg := res.JSON200.Meta.Pagination
	fmt.Printf("page %d of %d (%d products)\n", pg.Page, pg.TotalPages, pg.TotalItems)
	// Output:
	// prd_0001 Enamel camping mug 1499
	// prd_0002 Cast-iron skillet 26 cm 3999
	// page 1 of 18 (36 products)
}

// Creating an order: authenticate (here with an API key), send an Idempotency-Key so that a
// retry cannot place the order twice, and read a 422's details field by field.
func ExampleClientWithResponses_CreateOrderWithResponse() {
	client, err := sdk.NewClientWithResponses(gatewayURL, sdk.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("X-API-Key", apiKey)
		return nil
	}))
	if err != nil {
		log.Fatal(err)
	}
	var payment sdk.Payment
	if err := payment.FromCardPayment(sdk.CardPayment{Method: sdk.Card, CardToken: "tok_visa_4242"}); err != nil {
		log.Fatal(err)
	}
	order := sdk.CreateOrderJSONRequestBody{
		Items:   []sdk.OrderItemRequest{{ProductId: "prd_0001", Quantity: 500}}, // over the maximum of 100
		Payment: payment,
	}
	res, err := client.CreateOrderWithResponse(context.Background(), &sdk.CreateOrderParams{IdempotencyKey: "example-order-1"}, order)
	if err != nil {
		log.Fatal(err)
	}
	if res.JSON422 != nil {
		fmt.Println(res.JSON422.Error.Code)
		for _, d := range *res.JSON422.Error.Details {
			fmt.Println(d.Field, d.Constraint, d.Message)
		}
	}

	order.Items[0].Quantity = 2
	res, err = client.CreateOrderWithResponse(context.Background(), &sdk.CreateOrderParams{IdempotencyKey: "example-order-2"}, order)
	if err != nil {
		log.Fatal(err)
	}
	if res.JSON201 != nil {
		fmt.Println(res.JSON201.Data.Status, res.JSON201.Data.TotalCents, res.JSON201.Data.Currency)
	}
	// Output:
	// VALIDATION_FAILED
	// body.items[0].quantity maximum must be at most 100
	// pending 2998 USD
}

func TestMain(m *testing.M) {
	env, stop, err := testenv.Launch(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatewayURL = env.URL
	code := m.Run()
	stop()
	os.Exit(code)
}
