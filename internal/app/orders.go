package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/contractgate/contractgate/gen/gateway"
	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/upstream"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
)

// ListOrders lists a page of the caller's orders.
func (h *Handlers) ListOrders(ctx context.Context, req gateway.ListOrdersRequestObject) (gateway.ListOrdersResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	page, size, offset := paging(req.Params.Page, req.Params.PageSize)
	params := &ordersapi.ListOrdersParams{UserId: who.Subject, Offset: &offset, Limit: &size}
	if s := req.Params.Status; s != nil {
		status := ordersapi.OrderStatus(*s)
		params.Status = &status
	}
	resp, err := h.up.Orders.ListOrders(ctx, params)
	body, err := upstream.Answer[ordersapi.OrderPage](upOrders, resp, err, statusOK)
	if err != nil {
		return nil, err
	}
	return gateway.ListOrders200JSONResponse{
		Success: true,
		Data:    orders(body.Items),
		Meta:    envelope.ListMeta(ctx, page, size, body.Total),
	}, nil
}

// GetOrder returns one of the caller's orders; another user's order is not found.
func (h *Handlers) GetOrder(ctx context.Context, req gateway.GetOrderRequestObject) (gateway.GetOrderResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	o, err := h.ownOrder(ctx, who.Subject, req.OrderId)
	if err != nil {
		return nil, err
	}
	return gateway.GetOrder200JSONResponse{Success: true, Data: order(*o), Meta: envelope.Meta(ctx)}, nil
}

// CancelOrder cancels one of the caller's orders.
func (h *Handlers) CancelOrder(ctx context.Context, req gateway.CancelOrderRequestObject) (gateway.CancelOrderResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := h.ownOrder(ctx, who.Subject, req.OrderId); err != nil {
		return nil, err
	}
	resp, err := h.up.Orders.CancelOrder(ctx, req.OrderId)
	body, err := upstream.Answer[ordersapi.Order](upOrders, resp, err, statusOK)
	if errors.Is(err, apierror.ErrConflict) {
		return nil, apierror.ErrConflict.WithMessage("The order can no longer be cancelled").Wrap(err)
	}
	if err != nil {
		return nil, err
	}
	return gateway.CancelOrder200JSONResponse{Success: true, Data: order(*body), Meta: envelope.Meta(ctx)}, nil
}

// CreateOrder prices the requested items from the catalog and places the order.
func (h *Handlers) CreateOrder(ctx context.Context, req gateway.CreateOrderRequestObject) (gateway.CreateOrderResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, apierror.ErrMalformedJSON.WithMessage("Request body is required")
	}
	items := req.Body.Items
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ProductId
	}
	limit := int32(len(ids))
	resp, err := h.up.Catalog.ListProducts(ctx, &catalogapi.ListProductsParams{Ids: &ids, Limit: &limit})
	page, err := upstream.Answer[catalogapi.ProductPage](upCatalog, resp, err, statusOK)
	if err != nil {
		return nil, err
	}
	known := make(map[string]catalogapi.Product, len(page.Items))
	for _, p := range page.Items {
		known[p.Id] = p
	}
	lines := make([]ordersapi.OrderLine, len(items))
	var missing []apierror.Detail
	for i, it := range items {
		p, ok := known[it.ProductId]
		if !ok {
			missing = append(missing, apierror.Detail{
				Field:      fmt.Sprintf("body.items[%d].productId", i),
				Constraint: "exists",
				Message:    "no such product",
				Received:   it.ProductId,
			})
			continue
		}
		if p.Stock < it.Quantity {
			return nil, apierror.ErrConflict.WithMessage("Product %s has only %d in stock", p.Id, p.Stock)
		}
		lines[i] = ordersapi.OrderLine{ProductId: p.Id, Name: p.Name, Quantity: it.Quantity, UnitPriceCents: p.PriceCents}
	}
	if len(missing) > 0 {
		return nil, apierror.ErrValidationFailed.WithDetails(missing...)
	}
	method, err := req.Body.Payment.Discriminator()
	if err != nil {
		return nil, apierror.ErrValidationFailed.Wrap(err)
	}
	pm := ordersapi.NewOrderPaymentMethod(method)
	// The orders service deduplicates by key: a retry after an answer lost to a timeout
	// creates no second order (the gateway's own record only covers answers it saw). The
	// upstream client scopes the key to the caller (upstream.EditRequest).
	key := string(req.Params.IdempotencyKey)
	resp, err = h.up.Orders.CreateOrder(ctx, &ordersapi.CreateOrderParams{IdempotencyKey: &key}, ordersapi.NewOrder{
		UserId:        who.Subject,
		Lines:         lines,
		Currency:      "USD",
		Note:          req.Body.Note,
		PaymentMethod: &pm,
	})
	body, err := upstream.Answer[ordersapi.Order](upOrders, resp, err, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	return gateway.CreateOrder201JSONResponse{Success: true, Data: order(*body), Meta: envelope.Meta(ctx)}, nil
}

// ownOrder fetches an order and hides it (404) unless subject owns it, so that callers
// cannot learn which order ids exist.
func (h *Handlers) ownOrder(ctx context.Context, subject string, id gateway.OrderId) (*ordersapi.Order, error) {
	resp, err := h.up.Orders.GetOrder(ctx, id)
	o, err := upstream.Answer[ordersapi.Order](upOrders, resp, err, statusOK)
	if err != nil {
		return nil, err
	}
	if o.UserId != subject {
		return nil, apierror.ErrNotFound
	}
	return o, nil
}

func order(o ordersapi.Order) gateway.Order {
	items := make([]gateway.OrderItem, len(o.Lines))
	for i, l := range o.Lines {
		items[i] = gateway.OrderItem{
			ProductId:      l.ProductId,
			Name:           l.Name,
			Quantity:       l.Quantity,
			UnitPriceCents: l.UnitPriceCents,
			LineTotalCents: int64(l.Quantity) * l.UnitPriceCents,
		}
	}
	return gateway.Order{
		Id:         o.Id,
		Status:     gateway.OrderStatus(o.Status),
		Items:      items,
		TotalCents: o.TotalCents,
		Currency:   gateway.Currency(o.Currency),
		Note:       o.Note,
		CreatedAt:  o.CreatedAt,
		UpdatedAt:  o.UpdatedAt,
	}
}

func orders(os []ordersapi.Order) []gateway.Order {
	out := make([]gateway.Order, len(os))
	for i, o := range os {
		out[i] = order(o)
	}
	return out
}
