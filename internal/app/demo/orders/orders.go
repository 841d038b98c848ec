// Package orders is the demo orders upstream: a thread-safe in-memory order store, seeded with five orders, served through the generated strict server of api/upstreams/orders.yaml.
package orders

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	ordersapi "github.com/contractgate/contractgate/gen/orders"
)

// The ids of the seeded orders (UUIDv7s whose timestamps are the orders' createdAt).
const (
	// AliceShippedOrderID is alice's shipped order: a tent and two headlamps, created 2024-10-08.
	AliceShippedOrderID = "01926c79-0b08-7c2a-9f41-6a1d2e3f4a01"
	// AliceConfirmedOrderID is alice's confirmed order: coffee gear with a note, created 2024-11-05.
	AliceConfirmedOrderID = "0192fdd8-92d0-7d13-a8c5-3b7e9f0a1b02"
	// AlicePendingOrderID is alice's pending order: two camping mugs and a bottle, created 2024-11-19.
	AlicePendingOrderID = "019343e0-cfb8-7e85-b2d6-4c8f0a1b2c03"
	// BobShippedOrderID is bob's shipped order: a skillet and spatulas, created 2024-10-16.
	BobShippedOrderID = "0192950e-5f00-7b66-8e3a-5d9b1c2d3e04"
	// BobPendingOrderID is bob's pending order: a mouse and three notebooks, created 2024-11-15.
	BobPendingOrderID = "01932f08-9580-7f97-9c1b-7e0d2f3a4b05"
)

// Service implements the orders contract over an in-memory store. It is safe for concurrent use.
type Service struct {
	mu     sync.Mutex
	orders map[uuid.UUID]ordersapi.Order
	now    func() time.Time
	// keys maps an Idempotency-Key to the order it created; keyOrder holds the keys oldest
	// first, so that at most maxKeys are remembered.
	keys     map[string]uuid.UUID
	keyOrder []string
}

// maxKeys bounds the Idempotency-Keys the demo remembers (the oldest are forgotten).
const maxKeys = 100_000

var _ ordersapi.StrictServerInterface = (*Service)(nil)

// New returns the orders service holding the five seeded orders: three of alice's
// (pending, confirmed, shipped) and two of bob's (pending, shipped).
func New() *Service {
	s := &Service{orders: make(map[uuid.UUID]ordersapi.Order), now: time.Now, keys: map[string]uuid.UUID{}}
	for _, o := range seed() {
		o.TotalCents = total(o.Lines)
		s.orders[o.Id] = o
	}
	return s
}

// Register adds the orders routes to e, through the generated strict handler.
func (s *Service) Register(e *echo.Echo) {
	ordersapi.RegisterHandlers(e, ordersapi.NewStrictHandler(s, nil))
}

// Count returns the number of orders stored, seeded ones included.
func (s *Service) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

// Order returns a copy of the order with the given id.
func (s *Service) Order(id uuid.UUID) (ordersapi.Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	return clone(o), ok
}

// ListOrders returns a page of one user's orders, optionally of one status, newest first.
func (s *Service) ListOrders(_ context.Context, req ordersapi.ListOrdersRequestObject) (ordersapi.ListOrdersResponseObject, error) {
	p := req.Params
	offset, limit := int32(0), int32(20)
	if p.Offset != nil {
		offset = *p.Offset
	}
	if p.Limit != nil {
		limit = *p.Limit
	}
	switch {
	case p.UserId == "":
		return listBadRequest("userId is required"), nil
	case p.Status != nil && !p.Status.Valid():
		return listBadRequest("status must be one of pending, confirmed, shipped, cancelled"), nil
	case offset < 0:
		return listBadRequest("offset must be at least 0"), nil
	case limit < 1 || limit > 100:
		return listBadRequest("limit must be between 1 and 100"), nil
	}

	s.mu.Lock()
	var matched []ordersapi.Order
	for _, o := range s.orders {
		if o.UserId == p.UserId && (p.Status == nil || o.Status == *p.Status) {
			matched = append(matched, clone(o))
		}
	}
	s.mu.Unlock()

	slices.SortFunc(matched, func(a, b ordersapi.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.Id.String(), a.Id.String())
	})
	start := min(int(offset), len(matched))
	end := min(start+int(limit), len(matched))
	items := append([]ordersapi.Order{}, matched[start:end]...)
	return ordersapi.ListOrders200JSONResponse{Items: items, Total: int64(len(matched))}, nil
}

// CreateOrder stores a new pending order with a fresh UUIDv7 and its total computed
// from the lines; 400 BAD_REQUEST when the order is incomplete or a line is invalid.
func (s *Service) CreateOrder(_ context.Context, req ordersapi.CreateOrderRequestObject) (ordersapi.CreateOrderResponseObject, error) {
	if msg := validate(req.Body); msg != "" {
		return ordersapi.CreateOrder400JSONResponse{ErrorJSONResponse: ordersapi.ErrorJSONResponse{Code: "BAD_REQUEST", Message: msg}}, nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	body := req.Body
	now := s.now().UTC()
	o := ordersapi.Order{
		Id: id, UserId: body.UserId, Status: ordersapi.Pending,
		Lines: slices.Clone(body.Lines), TotalCents: total(body.Lines), Currency: body.Currency,
		CreatedAt: now, UpdatedAt: now,
	}
	if body.Note != nil {
		note := *body.Note
		o.Note = &note
	}
	if body.PaymentMethod != nil {
		pm := string(*body.PaymentMethod)
		o.PaymentMethod = &pm
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := req.Params.IdempotencyKey; k != nil {
		if first, ok := s.keys[*k]; ok {
			if prev, ok := s.orders[first]; ok {
				return ordersapi.CreateOrder201JSONResponse(clone(prev)), nil
			}
		}
		s.rememberLocked(*k, id)
	}
	s.orders[id] = o
	return ordersapi.CreateOrder201JSONResponse(clone(o)), nil
}

// rememberLocked records that key created order id, forgetting the oldest key past maxKeys.
func (s *Service) rememberLocked(key string, id uuid.UUID) {
	if len(s.keyOrder) >= maxKeys {
		delete(s.keys, s.keyOrder[0])
		s.keyOrder = s.keyOrder[1:]
	}
	s.keys[key] = id
	s.keyOrder = append(s.keyOrder, key)
}

// GetOrder returns one order, or 404 NOT_FOUND.
func (s *Service) GetOrder(_ context.Context, req ordersapi.GetOrderRequestObject) (ordersapi.GetOrderResponseObject, error) {
	o, ok := s.Order(req.OrderId)
	if !ok {
		return ordersapi.GetOrder404JSONResponse{ErrorJSONResponse: notFound}, nil
	}
	return ordersapi.GetOrder200JSONResponse(o), nil
}

// CancelOrder moves a pending or confirmed order to cancelled; 409 CONFLICT when it is
// already shipped or cancelled, 404 NOT_FOUND when there is no such order.
func (s *Service) CancelOrder(_ context.Context, req ordersapi.CancelOrderRequestObject) (ordersapi.CancelOrderResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[req.OrderId]
	switch {
	case !ok:
		return ordersapi.CancelOrder404JSONResponse{ErrorJSONResponse: notFound}, nil
	case o.Status != ordersapi.Pending && o.Status != ordersapi.Confirmed:
		return ordersapi.CancelOrder409JSONResponse{Code: "CONFLICT", Message: "order can no longer be cancelled"}, nil
	}
	o.Status = ordersapi.Cancelled
	o.UpdatedAt = s.now().UTC()
	s.orders[o.Id] = o
	return ordersapi.CancelOrder200JSONResponse(clone(o)), nil
}

// notFound is the 404 body for an unknown order.
var notFound = ordersapi.ErrorJSONResponse{Code: "NOT_FOUND", Message: "order not found"}

// listBadRequest is the 400 answer of ListOrders.
func listBadRequest(msg string) ordersapi.ListOrders400JSONResponse {
	return ordersapi.ListOrders400JSONResponse{ErrorJSONResponse: ordersapi.ErrorJSONResponse{Code: "BAD_REQUEST", Message: msg}}
}

// validate returns why a new order is invalid, or "".
func validate(b *ordersapi.NewOrder) string {
	switch {
	case b == nil:
		return "request body is required"
	case b.UserId == "":
		return "userId is required"
	case b.Currency == "":
		return "currency is required"
	case len(b.Lines) == 0:
		return "lines must hold at least one line"
	case b.PaymentMethod != nil && !b.PaymentMethod.Valid():
		return "paymentMethod must be card or invoice"
	}
	for _, l := range b.Lines {
		switch {
		case l.ProductId == "":
			return "every line needs a productId"
		case l.Quantity < 1:
			return "every line needs a quantity of at least 1"
		case l.UnitPriceCents < 0:
			return "unitPriceCents must not be negative"
		}
	}
	return ""
}

// total is the sum of quantity × unit price over the lines.
func total(lines []ordersapi.OrderLine) int64 {
	var t int64
	for _, l := range lines {
		t += int64(l.Quantity) * l.UnitPriceCents
	}
	return t
}

// clone deep-copies an order so that callers never share its lines or note with the store.
func clone(o ordersapi.Order) ordersapi.Order {
	o.Lines = slices.Clone(o.Lines)
	if o.Note != nil {
		n := *o.Note
		o.Note = &n
	}
	if o.PaymentMethod != nil {
		pm := *o.PaymentMethod
		o.PaymentMethod = &pm
	}
	return o
}

// seed returns the seeded orders; their lines use the catalog's product names and prices.
func seed() []ordersapi.Order {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	str := func(s string) *string { return &s }
	line := func(id, name string, qty int32, price int64) ordersapi.OrderLine {
		return ordersapi.OrderLine{ProductId: id, Name: name, Quantity: qty, UnitPriceCents: price}
	}
	return []ordersapi.Order{{
		Id: uuid.MustParse(AliceShippedOrderID), UserId: "alice", Status: ordersapi.Shipped, Currency: "USD",
		Lines: []ordersapi.OrderLine{
			line("prd_0007", "Ultralight tent 2P", 1, 27900),
			line("prd_0013", "Headlamp 400 lm", 2, 3499),
		},
		PaymentMethod: str("card"),
		CreatedAt:     at("2024-10-08T14:12:05Z"), UpdatedAt: at("2024-10-10T08:30:00Z"),
	}, {
		Id: uuid.MustParse(AliceConfirmedOrderID), UserId: "alice", Status: ordersapi.Confirmed, Currency: "USD",
		Lines: []ordersapi.OrderLine{
			line("prd_0011", "Pour-over coffee dripper", 1, 2299),
			line("prd_0026", "French press 1 l", 1, 3299),
		},
		Note: str("Please gift wrap."), PaymentMethod: str("invoice"),
		CreatedAt: at("2024-11-05T19:41:22Z"), UpdatedAt: at("2024-11-05T19:45:10Z"),
	}, {
		Id: uuid.MustParse(AlicePendingOrderID), UserId: "alice", Status: ordersapi.Pending, Currency: "USD",
		Lines: []ordersapi.OrderLine{
			line("prd_0001", "Enamel camping mug", 2, 1499),
			line("prd_0023", "Insulated water bottle 750 ml", 1, 2799),
		},
		PaymentMethod: str("card"),
		CreatedAt:     at("2024-11-19T10:03:47Z"), UpdatedAt: at("2024-11-19T10:03:47Z"),
	}, {
		Id: uuid.MustParse(BobShippedOrderID), UserId: "bob", Status: ordersapi.Shipped, Currency: "USD",
		Lines: []ordersapi.OrderLine{
			line("prd_0002", "Cast-iron skillet 26 cm", 1, 3999),
			line("prd_0031", "Silicone spatula set", 1, 1399),
		},
		PaymentMethod: str("card"),
		CreatedAt:     at("2024-10-16T11:20:00Z"), UpdatedAt: at("2024-10-18T15:05:31Z"),
	}, {
		Id: uuid.MustParse(BobPendingOrderID), UserId: "bob", Status: ordersapi.Pending, Currency: "USD",
		Lines: []ordersapi.OrderLine{
			line("prd_0017", "Ergonomic vertical mouse", 1, 4999),
			line("prd_0008", "Linen notebook A5", 3, 1599),
		},
		PaymentMethod: str("invoice"),
		CreatedAt:     at("2024-11-15T08:55:12Z"), UpdatedAt: at("2024-11-15T08:55:12Z"),
	}}
}
