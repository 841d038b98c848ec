package benchorigin_test

import (
	"github.com/contractgate/contractgate/api"
	"net/http"
	"net/http/httptest"
	"testing"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
	usersapi "github.com/contractgate/contractgate/gen/users"
	"github.com/contractgate/contractgate/internal/app/benchorigin"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// TestAnswersKeepTheContracts calls the origin through the gateway's own upstream clients,
// whose transport enforces each upstream's contract: an answer outside it fails the call.
func TestAnswersKeepTheContracts(t *testing.T) {
	ts := httptest.NewServer(benchorigin.New())
	defer ts.Close()
	cfg := map[string]config.Upstream{}
	contracts, err := upstream.Contracts(api.FS)
	if err != nil {
		t.Fatal(err)
	}
	for name := range contracts {
		var u config.Upstream
		u.BaseURL = ts.URL
		u.MaxIdleConns = 4
		u.SetDefaults() // as config.Load does
		cfg[name] = u
	}
	reg, err := upstream.New(contracts, cfg, config.EnvDevelopment)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.CloseIdleConnections()
	clients := typedClients(t, reg)
	ctx := t.Context()

	p, err := clients.Catalog.GetProductWithResponse(ctx, "prd_0001")
	if err := upstream.Check("catalog", p, err, http.StatusOK); err != nil || p.JSON200 == nil {
		t.Fatalf("GET /products/prd_0001: %v", err)
	}
	if n := len(p.Body); n < 550 || n > 650 {
		t.Errorf("product is %d bytes, want about 600", n)
	}
	if _, err := clients.Catalog.GetProductWithResponse(ctx, "prd_9999"); err != nil {
		t.Fatalf("GET /products/prd_9999: %v", err)
	}
	for _, ids := range [][]string{{"prd_0001"}, {"prd_0002", "prd_0001", "prd_9999"}} {
		limit := int32(len(ids))
		page, err := clients.Catalog.ListProductsWithResponse(ctx, &catalogapi.ListProductsParams{Ids: &ids, Limit: &limit})
		if err := upstream.Check("catalog", page, err, http.StatusOK); err != nil || page.JSON200 == nil {
			t.Fatalf("GET /products?ids=%v: %v", ids, err)
		}
		if got := len(page.JSON200.Items); got != min(len(ids), 2) {
			t.Errorf("GET /products?ids=%v: %d items", ids, got)
		}
	}
	page, err := clients.Catalog.ListProductsWithResponse(ctx, nil)
	if err := upstream.Check("catalog", page, err, http.StatusOK); err != nil || len(page.JSON200.Items) != 20 {
		t.Fatalf("GET /products: %v", err)
	}
	userID := "alice"
	rec, err := clients.Catalog.GetRecommendationsWithResponse(ctx, &catalogapi.GetRecommendationsParams{UserId: userID})
	if err := upstream.Check("catalog", rec, err, http.StatusOK); err != nil {
		t.Fatalf("GET /recommendations: %v", err)
	}
	created, err := clients.Orders.CreateOrderWithResponse(ctx, nil, ordersapi.NewOrder{
		UserId: userID, Currency: "USD",
		Lines: []ordersapi.OrderLine{{ProductId: "prd_0001", Name: "mug", Quantity: 1, UnitPriceCents: 1599}},
	})
	if err := upstream.Check("orders", created, err, http.StatusCreated); err != nil || created.JSON201 == nil {
		t.Fatalf("POST /orders: %v", err)
	}
	got, err := clients.Orders.GetOrderWithResponse(ctx, created.JSON201.Id)
	if err := upstream.Check("orders", got, err, http.StatusOK); err != nil {
		t.Fatalf("GET /orders/{id}: %v", err)
	}
	list, err := clients.Orders.ListOrdersWithResponse(ctx, &ordersapi.ListOrdersParams{UserId: userID})
	if err := upstream.Check("orders", list, err, http.StatusOK); err != nil {
		t.Fatalf("GET /orders: %v", err)
	}
	user, err := clients.Users.GetUserWithResponse(ctx, userID)
	if err := upstream.Check("users", user, err, http.StatusOK); err != nil {
		t.Fatalf("GET /users/alice: %v", err)
	}
	key := "k-1"
	fb, err := clients.Users.CreateFeedbackWithResponse(ctx, userID, &usersapi.CreateFeedbackParams{IdempotencyKey: &key},
		usersapi.NewFeedback{Rating: 5})
	if err := upstream.Check("users", fb, err, http.StatusCreated); err != nil || fb.JSON201 == nil {
		t.Fatalf("POST /users/alice/feedback: %v", err)
	}
}

// TestGetProductAllocs: the origin's hot path allocates nothing beyond net/http.
func TestGetProductAllocs(t *testing.T) {
	o := benchorigin.New()
	req := httptest.NewRequest(http.MethodGet, "/products/prd_0001", nil)
	w := &discard{header: http.Header{}}
	allocs := testing.AllocsPerRun(100, func() {
		clear(w.header)
		o.ServeHTTP(w, req)
	})
	if allocs != 0 {
		t.Errorf("GET /products/prd_0001: %v allocations, want 0", allocs)
	}
}

// TestCreateFeedbackAllocs: so does POST /users/{id}/feedback, beyond draining the body.
func TestCreateFeedbackAllocs(t *testing.T) {
	o := benchorigin.New()
	w := &discard{header: http.Header{}}
	req := httptest.NewRequest(http.MethodPost, "/users/alice/feedback", http.NoBody)
	allocs := testing.AllocsPerRun(100, func() {
		clear(w.header)
		o.ServeHTTP(w, req)
	})
	if allocs != 0 {
		t.Errorf("POST /users/alice/feedback: %v allocations, want 0", allocs)
	}
}

type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }

type typed struct {
	Catalog *catalogapi.ClientWithResponses
	Orders  *ordersapi.ClientWithResponses
	Users   *usersapi.ClientWithResponses
}

func typedClients(t *testing.T, reg *upstream.Registry) typed {
	t.Helper()
	var out typed
	for name, set := range map[string]func(upstream.Client) error{
		"catalog": func(c upstream.Client) (err error) {
			out.Catalog, err = catalogapi.NewClientWithResponses(c.BaseURL, catalogapi.WithHTTPClient(c.HTTP))
			return err
		},
		"orders": func(c upstream.Client) (err error) {
			out.Orders, err = ordersapi.NewClientWithResponses(c.BaseURL, ordersapi.WithHTTPClient(c.HTTP))
			return err
		},
		"users": func(c upstream.Client) (err error) {
			out.Users, err = usersapi.NewClientWithResponses(c.BaseURL, usersapi.WithHTTPClient(c.HTTP))
			return err
		},
	} {
		c, err := reg.Client(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := set(c); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
