package app

import (
	"context"

	"github.com/contractgate/contractgate/gen/gateway"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/upstream"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
)

// ListProducts lists a page of catalog products.
func (h *Handlers) ListProducts(ctx context.Context, req gateway.ListProductsRequestObject) (gateway.ListProductsResponseObject, error) {
	p := req.Params
	page, size, offset := paging(p.Page, p.PageSize)
	params := &catalogapi.ListProductsParams{Offset: &offset, Limit: &size, Q: p.Q, MaxPriceCents: p.MaxPriceCents}
	if p.Category != nil {
		c := string(*p.Category)
		params.Category = &c
	}
	resp, err := h.up.Catalog.ListProducts(ctx, params)
	body, err := upstream.Answer[catalogapi.ProductPage](upCatalog, resp, err, statusOK)
	if err != nil {
		return nil, err
	}
	return gateway.ListProducts200JSONResponse{
		Success: true,
		Data:    products(body.Items),
		Meta:    envelope.ListMeta(ctx, page, size, body.Total),
	}, nil
}

func product(p catalogapi.Product) gateway.Product {
	return gateway.Product{
		Id:          p.Id,
		Name:        p.Name,
		Description: p.Description,
		Category:    gateway.Category(p.Category),
		PriceCents:  p.PriceCents,
		Currency:    gateway.Currency(p.Currency),
		InStock:     p.InStock,
		Tags:        p.Tags,
	}
}

func products(ps []catalogapi.Product) []gateway.Product {
	out := make([]gateway.Product, len(ps))
	for i, p := range ps {
		out[i] = product(p)
	}
	return out
}
