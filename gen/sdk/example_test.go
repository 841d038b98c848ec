// Runnable examples of the SDK, shown in its documentation. Not generated: regeneration
// never touches this file. TestMain runs the demo storefront (gateway and upstreams) on
// loopback so that the examples call a real gateway.
package sdk_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/labstack/echo/v4"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
	"github.com/contractgate/contractgate/gen/sdk"
	usersapi "github.com/contractgate/contractgate/gen/users"
	"github.com/contractgate/contractgate/internal/config"
	"github.com/contractgate/contractgate/internal/demo"
	catalogdemo "github.com/contractgate/contractgate/internal/demo/catalog"
	ordersdemo "github.com/contractgate/contractgate/internal/demo/orders"
	usersdemo "github.com/contractgate/contractgate/internal/demo/users"
	"github.com/contractgate/contractgate/internal/server"
	"github.com/contractgate/contractgate/internal/tracing"
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
	stop, err := startStorefront()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// startStorefront runs the demo upstreams and the gateway on loopback.
func startStorefront() (stop func(), err error) {
	var servers []*httptest.Server
	serve := func(register func(*echo.Echo)) string {
		ts := httptest.NewServer(demo.NewEcho(demo.NewFaults(), register))
		servers = append(servers, ts)
		return ts.URL
	}
	cfg, err := config.Parse(config.Default())
	if err != nil {
		return nil, err
	}
	cfg.Upstreams["catalog"] = config.Upstream{BaseURL: serve(func(e *echo.Echo) {
		catalogapi.RegisterHandlers(e, catalogapi.NewStrictHandler(catalogdemo.New(), nil))
	})}
	cfg.Upstreams["orders"] = config.Upstream{BaseURL: serve(func(e *echo.Echo) { ordersapi.RegisterHandlers(e, ordersapi.NewStrictHandler(ordersdemo.New(), nil)) })}
	cfg.Upstreams["users"] = config.Upstream{BaseURL: serve(func(e *echo.Echo) { usersapi.RegisterHandlers(e, usersapi.NewStrictHandler(usersdemo.New(), nil)) })}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.WithTracing(tracing.Disabled()))
	if err != nil {
		return nil, err
	}
	gw := httptest.NewServer(srv.Handler())
	servers = append(servers, gw)
	gatewayURL = gw.URL
	return func() {
		for _, s := range servers {
			s.Close()
		}
	}, nil
}
