package orders_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	ordersapi "github.com/contractgate/contractgate/gen/orders"
	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/demo/catalog"
	"github.com/contractgate/contractgate/internal/app/demo/orders"
)

// newServer serves a fresh order store over HTTP and returns a generated client for it.
func newServer(t *testing.T) (*ordersapi.ClientWithResponses, *orders.Service, string) {
	t.Helper()
	svc := orders.New()
	srv := httptest.NewServer(demo.NewEcho(demo.NewFaults(), svc.Register))
	t.Cleanup(srv.Close)
	c, err := ordersapi.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c, svc, srv.URL
}

func ptr[T any](v T) *T { return &v }

func orderIDs(os []ordersapi.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.Id.String()
	}
	return out
}

func TestSeed(t *testing.T) {
	t.Parallel()
	s := orders.New()
	if s.Count() != 5 {
		t.Fatalf("Count() = %d, want 5", s.Count())
	}
	products := catalog.New()
	tests := []struct {
		id     string
		user   string
		status ordersapi.OrderStatus
	}{
		{orders.AlicePendingOrderID, "alice", ordersapi.Pending},
		{orders.AliceConfirmedOrderID, "alice", ordersapi.Confirmed},
		{orders.AliceShippedOrderID, "alice", ordersapi.Shipped},
		{orders.BobPendingOrderID, "bob", ordersapi.Pending},
		{orders.BobShippedOrderID, "bob", ordersapi.Shipped},
	}
	for _, tt := range tests {
		id := uuid.MustParse(tt.id)
		o, ok := s.Order(id)
		if !ok || o.UserId != tt.user || o.Status != tt.status || o.Currency != "USD" || len(o.Lines) == 0 {
			t.Errorf("%s: got %+v, %v", tt.id, o, ok)
			continue
		}
		if sec, _ := id.Time().UnixTime(); id.Version() != 7 || sec != o.CreatedAt.Unix() {
			t.Errorf("%s: not a UUIDv7 of its createdAt %v", tt.id, o.CreatedAt)
		}
		if o.UpdatedAt.Before(o.CreatedAt) {
			t.Errorf("%s: updated before it was created", tt.id)
		}
		var sum int64
		for _, l := range o.Lines {
			sum += int64(l.Quantity) * l.UnitPriceCents
			if p, ok := products.Product(l.ProductId); !ok || p.Name != l.Name || p.PriceCents != l.UnitPriceCents {
				t.Errorf("%s: line %+v does not match the catalog's %+v", tt.id, l, p)
			}
		}
		if o.TotalCents != sum {
			t.Errorf("%s: totalCents = %d, want %d", tt.id, o.TotalCents, sum)
		}
	}
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	c, _, _ := newServer(t)
	tests := []struct {
		name      string
		params    ordersapi.ListOrdersParams
		wantIDs   []string
		wantTotal int64
		wantCode  int
	}{
		{name: "alice, newest first", params: ordersapi.ListOrdersParams{UserId: "alice"},
			wantIDs: []string{orders.AlicePendingOrderID, orders.AliceConfirmedOrderID, orders.AliceShippedOrderID}, wantTotal: 3},
		{name: "bob", params: ordersapi.ListOrdersParams{UserId: "bob"},
			wantIDs: []string{orders.BobPendingOrderID, orders.BobShippedOrderID}, wantTotal: 2},
		{name: "by status", params: ordersapi.ListOrdersParams{UserId: "alice", Status: ptr(ordersapi.Shipped)},
			wantIDs: []string{orders.AliceShippedOrderID}, wantTotal: 1},
		{name: "status with no orders", params: ordersapi.ListOrdersParams{UserId: "bob", Status: ptr(ordersapi.Cancelled)},
			wantIDs: []string{}, wantTotal: 0},
		{name: "paged", params: ordersapi.ListOrdersParams{UserId: "alice", Offset: ptr[int32](1), Limit: ptr[int32](1)},
			wantIDs: []string{orders.AliceConfirmedOrderID}, wantTotal: 3},
		{name: "offset past the end", params: ordersapi.ListOrdersParams{UserId: "alice", Offset: ptr[int32](3)}, wantIDs: []string{}, wantTotal: 3},
		{name: "unknown user", params: ordersapi.ListOrdersParams{UserId: "carol"}, wantIDs: []string{}, wantTotal: 0},
		{name: "empty user", params: ordersapi.ListOrdersParams{UserId: ""}, wantCode: 400},
		{name: "unknown status", params: ordersapi.ListOrdersParams{UserId: "alice", Status: ptr(ordersapi.OrderStatus("lost"))}, wantCode: 400},
		{name: "limit 0", params: ordersapi.ListOrdersParams{UserId: "alice", Limit: ptr[int32](0)}, wantCode: 400},
		{name: "negative offset", params: ordersapi.ListOrdersParams{UserId: "alice", Offset: ptr[int32](-1)}, wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := c.ListOrdersWithResponse(t.Context(), &tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != 0 {
				if resp.StatusCode() != tt.wantCode || resp.JSON400 == nil || resp.JSON400.Code != "BAD_REQUEST" {
					t.Errorf("got %d %s, want %d BAD_REQUEST", resp.StatusCode(), resp.Body, tt.wantCode)
				}
				return
			}
			if resp.JSON200 == nil {
				t.Fatalf("got %d %s, want 200", resp.StatusCode(), resp.Body)
			}
			if got := orderIDs(resp.JSON200.Items); !slices.Equal(got, tt.wantIDs) || resp.JSON200.Total != tt.wantTotal {
				t.Errorf("got %v (total %d), want %v (total %d)", got, resp.JSON200.Total, tt.wantIDs, tt.wantTotal)
			}
		})
	}
}

func TestCreateOrder(t *testing.T) {
	t.Parallel()
	c, svc, _ := newServer(t)
	before := time.Now().UTC()
	resp, err := c.CreateOrderWithResponse(t.Context(), nil, ordersapi.NewOrder{
		UserId: "alice", Currency: "USD", Note: ptr("Please gift wrap."), PaymentMethod: ptr(ordersapi.Card),
		Lines: []ordersapi.OrderLine{
			{ProductId: "prd_0001", Name: "Enamel camping mug", Quantity: 2, UnitPriceCents: 1499},
			{ProductId: "prd_0007", Name: "Ultralight tent 2P", Quantity: 1, UnitPriceCents: 27900},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	o := resp.JSON201
	if o == nil {
		t.Fatalf("got %d %s, want 201", resp.StatusCode(), resp.Body)
	}
	if o.Id.Version() != 7 || o.UserId != "alice" || o.Status != ordersapi.Pending || o.TotalCents != 2*1499+27900 ||
		o.Currency != "USD" || o.Note == nil || *o.Note != "Please gift wrap." || o.PaymentMethod == nil || *o.PaymentMethod != "card" {
		t.Errorf("created %s", resp.Body)
	}
	if o.CreatedAt.Before(before) || !o.CreatedAt.Equal(o.UpdatedAt) || o.CreatedAt.Location() != time.UTC {
		t.Errorf("createdAt %v, updatedAt %v; want both now, in UTC", o.CreatedAt, o.UpdatedAt)
	}
	if svc.Count() != 6 {
		t.Errorf("Count() = %d, want 6", svc.Count())
	}
	got, err := c.GetOrderWithResponse(t.Context(), o.Id)
	if err != nil || got.JSON200 == nil || got.JSON200.TotalCents != o.TotalCents {
		t.Errorf("GetOrder after create: %v %v", got, err)
	}
	list, err := c.ListOrdersWithResponse(t.Context(), &ordersapi.ListOrdersParams{UserId: "alice"})
	if err != nil || list.JSON200 == nil || list.JSON200.Total != 4 || list.JSON200.Items[0].Id != o.Id {
		t.Errorf("the new order is not alice's newest: %v %v", list, err)
	}
}

func TestCreateOrderRejectsInvalidOrders(t *testing.T) {
	t.Parallel()
	c, svc, _ := newServer(t)
	line := ordersapi.OrderLine{ProductId: "prd_0001", Name: "Enamel camping mug", Quantity: 1, UnitPriceCents: 1499}
	tests := []struct {
		name  string
		order ordersapi.NewOrder
	}{
		{"no lines", ordersapi.NewOrder{UserId: "alice", Currency: "USD", Lines: []ordersapi.OrderLine{}}},
		{"nil lines", ordersapi.NewOrder{UserId: "alice", Currency: "USD"}},
		{"quantity 0", ordersapi.NewOrder{UserId: "alice", Currency: "USD", Lines: []ordersapi.OrderLine{line, {ProductId: "prd_0002", Name: "x", Quantity: 0}}}},
		{"negative quantity", ordersapi.NewOrder{UserId: "alice", Currency: "USD", Lines: []ordersapi.OrderLine{{ProductId: "prd_0002", Name: "x", Quantity: -1}}}},
		{"no user", ordersapi.NewOrder{Currency: "USD", Lines: []ordersapi.OrderLine{line}}},
		{"no currency", ordersapi.NewOrder{UserId: "alice", Lines: []ordersapi.OrderLine{line}}},
		{"unknown payment method", ordersapi.NewOrder{UserId: "alice", Currency: "USD", Lines: []ordersapi.OrderLine{line}, PaymentMethod: ptr(ordersapi.NewOrderPaymentMethod("cash"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := c.CreateOrderWithResponse(t.Context(), nil, tt.order)
			if err != nil {
				t.Fatal(err)
			}
			if resp.JSON400 == nil || resp.JSON400.Code != "BAD_REQUEST" || resp.JSON400.Message == "" {
				t.Errorf("got %d %s, want 400 BAD_REQUEST", resp.StatusCode(), resp.Body)
			}
		})
	}
	t.Cleanup(func() {
		if svc.Count() != 5 {
			t.Errorf("Count() = %d after rejected orders, want 5", svc.Count())
		}
	})
}

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	unknown := uuid.MustParse("01934000-0000-7000-8000-000000000000")
	tests := []struct {
		name     string
		id       uuid.UUID
		times    int // cancel this many times; only the last answer is checked
		wantCode int
		wantErr  ordersapi.Error
	}{
		{name: "pending", id: uuid.MustParse(orders.AlicePendingOrderID), times: 1, wantCode: 200},
		{name: "confirmed", id: uuid.MustParse(orders.AliceConfirmedOrderID), times: 1, wantCode: 200},
		{name: "shipped", id: uuid.MustParse(orders.BobShippedOrderID), times: 1, wantCode: 409,
			wantErr: ordersapi.Error{Code: "CONFLICT", Message: "order can no longer be cancelled"}},
		{name: "cancelled", id: uuid.MustParse(orders.BobPendingOrderID), times: 2, wantCode: 409,
			wantErr: ordersapi.Error{Code: "CONFLICT", Message: "order can no longer be cancelled"}},
		{name: "unknown", id: unknown, times: 1, wantCode: 404, wantErr: ordersapi.Error{Code: "NOT_FOUND", Message: "order not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, _ := newServer(t)
			var resp *ordersapi.CancelOrderResponse
			for range tt.times {
				var err error
				if resp, err = c.CancelOrderWithResponse(t.Context(), tt.id); err != nil {
					t.Fatal(err)
				}
			}
			if resp.StatusCode() != tt.wantCode {
				t.Fatalf("got %d %s, want %d", resp.StatusCode(), resp.Body, tt.wantCode)
			}
			switch tt.wantCode {
			case 200:
				o := resp.JSON200
				if o.Status != ordersapi.Cancelled || !o.UpdatedAt.After(o.CreatedAt) || time.Since(o.UpdatedAt) > time.Minute {
					t.Errorf("cancelled order %s", resp.Body)
				}
				got, err := c.GetOrderWithResponse(t.Context(), tt.id)
				if err != nil || got.JSON200 == nil || got.JSON200.Status != ordersapi.Cancelled {
					t.Errorf("GetOrder after cancel: %v %v", got, err)
				}
			case 404:
				if resp.JSON404 == nil || *resp.JSON404 != tt.wantErr {
					t.Errorf("got %s, want %+v", resp.Body, tt.wantErr)
				}
			case 409:
				if resp.JSON409 == nil || *resp.JSON409 != tt.wantErr {
					t.Errorf("got %s, want %+v", resp.Body, tt.wantErr)
				}
			}
		})
	}
}

func TestGetOrder(t *testing.T) {
	t.Parallel()
	c, _, url := newServer(t)
	resp, err := c.GetOrderWithResponse(t.Context(), uuid.MustParse(orders.AliceConfirmedOrderID))
	if err != nil {
		t.Fatal(err)
	}
	if o := resp.JSON200; o == nil || o.Status != ordersapi.Confirmed || o.TotalCents != 2299+3299 || o.Note == nil {
		t.Errorf("got %d %s", resp.StatusCode(), resp.Body)
	}
	resp, err = c.GetOrderWithResponse(t.Context(), uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON404 == nil || resp.JSON404.Code != "NOT_FOUND" {
		t.Errorf("unknown order: got %d %s, want 404", resp.StatusCode(), resp.Body)
	}
	bad, err := http.Get(url + "/orders/not-a-uuid")
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest || bad.Header.Get("Content-Type") != "application/json" {
		t.Errorf("malformed id: got %d %s, want a JSON 400", bad.StatusCode, bad.Header.Get("Content-Type"))
	}
}

func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	c, svc, _ := newServer(t)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := c.CreateOrderWithResponse(t.Context(), nil, ordersapi.NewOrder{
				UserId: "bob", Currency: "USD",
				Lines: []ordersapi.OrderLine{{ProductId: "prd_0003", Name: "Mechanical pencil set", Quantity: int32(i%3 + 1), UnitPriceCents: 1299}},
			})
			if err != nil || resp.JSON201 == nil {
				t.Errorf("create: %v %v", resp, err)
			}
		})
	}
	wg.Wait()
	if svc.Count() != 5+n {
		t.Errorf("Count() = %d, want %d", svc.Count(), 5+n)
	}
	list, err := c.ListOrdersWithResponse(t.Context(), &ordersapi.ListOrdersParams{UserId: "bob", Limit: ptr[int32](100)})
	if err != nil || list.JSON200 == nil || list.JSON200.Total != 2+n || len(list.JSON200.Items) != 2+n {
		t.Fatalf("list: %v %v", list, err)
	}
	if !slices.IsSortedFunc(list.JSON200.Items, func(a, b ordersapi.Order) int { return b.CreatedAt.Compare(a.CreatedAt) }) {
		t.Error("orders are not newest first")
	}
}

func TestCreateOrderIdempotencyKey(t *testing.T) {
	t.Parallel()
	c, svc, _ := newServer(t)
	newOrder := ordersapi.NewOrder{UserId: "alice", Currency: "USD",
		Lines: []ordersapi.OrderLine{{ProductId: "prd_0001", Name: "mug", Quantity: 1, UnitPriceCents: 1499}}}
	before := svc.Count()
	create := func(key *string) uuid.UUID {
		t.Helper()
		resp, err := c.CreateOrderWithResponse(t.Context(), &ordersapi.CreateOrderParams{IdempotencyKey: key}, newOrder)
		if err != nil || resp.JSON201 == nil {
			t.Fatalf("create: %v %s", err, resp.Body)
		}
		return resp.JSON201.Id
	}
	k1, k2 := "key-1", "key-2"
	first := create(&k1)
	if again := create(&k1); again != first {
		t.Fatalf("a repeat of the key created order %s, want the first, %s", again, first)
	}
	if other := create(&k2); other == first {
		t.Fatal("another key answered the first key's order")
	}
	if none := create(nil); none == first {
		t.Fatal("no key answered a keyed order")
	}
	if got := svc.Count() - before; got != 3 {
		t.Fatalf("%d orders created, want 3", got)
	}
}
