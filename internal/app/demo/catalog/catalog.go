// Package catalog is the demo catalog upstream: 36 fixed products and per-user recommendations, served through the generated strict server of api/upstreams/catalog.yaml.
package catalog

import (
	"context"
	"hash/fnv"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
)

// Currency is the currency of every product price.
const Currency = "USD"

// Categories returns the product categories of the demo catalog.
func Categories() []string {
	return []string{"kitchen", "office", "outdoor", "apparel", "books"}
}

// Service implements the catalog contract over a fixed, read-only product list.
// It is safe for concurrent use.
type Service struct {
	products []catalogapi.Product // sorted by id
	byID     map[string]int
}

var _ catalogapi.StrictServerInterface = (*Service)(nil)

// New returns the catalog service with its 36 products, prd_0001..prd_0036.
func New() *Service {
	s := &Service{byID: make(map[string]int, len(seed))}
	for _, p := range seed {
		tags := slices.Clone(p.tags)
		s.products = append(s.products, catalogapi.Product{
			Id: p.id, Name: p.name, Description: p.description, Category: p.category,
			PriceCents: p.priceCents, Currency: Currency, Stock: p.stock, InStock: p.stock > 0, Tags: &tags,
		})
	}
	sort.Slice(s.products, func(i, j int) bool { return s.products[i].Id < s.products[j].Id })
	for i, p := range s.products {
		s.byID[p.Id] = i
	}
	return s
}

// Register adds the catalog routes to e, through the generated strict handler.
func (s *Service) Register(e *echo.Echo) {
	catalogapi.RegisterHandlers(e, catalogapi.NewStrictHandler(s, nil))
}

// Products returns a copy of every product, sorted by id.
func (s *Service) Products() []catalogapi.Product {
	out := make([]catalogapi.Product, len(s.products))
	for i, p := range s.products {
		out[i] = clone(p)
	}
	return out
}

// Product returns a copy of the product with the given id.
func (s *Service) Product(id string) (catalogapi.Product, bool) {
	i, ok := s.byID[id]
	if !ok {
		return catalogapi.Product{}, false
	}
	return clone(s.products[i]), true
}

// ListProducts returns a page of the products that pass every given filter: category
// (exact), q (case-insensitive, in name or description), maxPriceCents and ids (in the
// order given, unknown ids left out; otherwise sorted by id).
func (s *Service) ListProducts(_ context.Context, req catalogapi.ListProductsRequestObject) (catalogapi.ListProductsResponseObject, error) {
	p := req.Params
	offset, limit := int32(0), int32(20)
	if p.Offset != nil {
		offset = *p.Offset
	}
	if p.Limit != nil {
		limit = *p.Limit
	}
	switch {
	case offset < 0:
		return listBadRequest("offset must be at least 0"), nil
	case limit < 1 || limit > 100:
		return listBadRequest("limit must be between 1 and 100"), nil
	case p.MaxPriceCents != nil && *p.MaxPriceCents < 0:
		return listBadRequest("maxPriceCents must be at least 0"), nil
	case p.Ids != nil && len(*p.Ids) > 100:
		return listBadRequest("ids takes at most 100 ids"), nil
	}

	candidates := s.products
	if p.Ids != nil {
		candidates = make([]catalogapi.Product, 0, len(*p.Ids))
		seen := make(map[string]bool, len(*p.Ids))
		for _, id := range *p.Ids {
			if i, ok := s.byID[id]; ok && !seen[id] {
				seen[id] = true
				candidates = append(candidates, s.products[i])
			}
		}
	}
	q := ""
	if p.Q != nil {
		q = strings.ToLower(*p.Q)
	}
	matched := make([]catalogapi.Product, 0, len(candidates))
	for _, prod := range candidates {
		switch {
		case p.Category != nil && prod.Category != *p.Category,
			p.MaxPriceCents != nil && prod.PriceCents > *p.MaxPriceCents,
			q != "" && !strings.Contains(strings.ToLower(prod.Name), q) &&
				!strings.Contains(strings.ToLower(prod.Description), q):
			continue
		}
		matched = append(matched, prod)
	}

	items := []catalogapi.Product{}
	start := min(int(offset), len(matched))
	end := min(start+int(limit), len(matched))
	for _, prod := range matched[start:end] {
		items = append(items, clone(prod))
	}
	return catalogapi.ListProducts200JSONResponse{Items: items, Total: int64(len(matched))}, nil
}

// GetProduct returns one product, or 404 NOT_FOUND.
func (s *Service) GetProduct(_ context.Context, req catalogapi.GetProductRequestObject) (catalogapi.GetProductResponseObject, error) {
	prod, ok := s.Product(req.ProductId)
	if !ok {
		return catalogapi.GetProduct404JSONResponse{ErrorJSONResponse: catalogapi.ErrorJSONResponse{
			Code: "NOT_FOUND", Message: "product not found",
		}}, nil
	}
	return catalogapi.GetProduct200JSONResponse(prod), nil
}

// GetRecommendations returns up to limit (default 5, at most 20) in-stock products in an
// order that is fixed for each user id and differs between users.
func (s *Service) GetRecommendations(_ context.Context, req catalogapi.GetRecommendationsRequestObject) (catalogapi.GetRecommendationsResponseObject, error) {
	limit := 5
	if req.Params.Limit != nil {
		limit = min(max(int(*req.Params.Limit), 1), 20)
	}
	type ranked struct {
		rank uint64
		prod catalogapi.Product
	}
	var pool []ranked
	for _, prod := range s.products {
		if prod.Stock > 0 {
			pool = append(pool, ranked{rank: rank(req.Params.UserId, prod.Id), prod: prod})
		}
	}
	sort.Slice(pool, func(i, j int) bool {
		if pool[i].rank != pool[j].rank {
			return pool[i].rank < pool[j].rank
		}
		return pool[i].prod.Id < pool[j].prod.Id
	})
	items := make([]catalogapi.Product, 0, limit)
	for _, r := range pool[:min(limit, len(pool))] {
		items = append(items, clone(r.prod))
	}
	return catalogapi.GetRecommendations200JSONResponse{Items: items}, nil
}

// rank is the position key of a product in a user's recommendations: FNV-1a of both ids.
func rank(userID, productID string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(userID))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(productID))
	return h.Sum64()
}

// listBadRequest is the 400 answer of ListProducts.
func listBadRequest(msg string) catalogapi.ListProducts400JSONResponse {
	return catalogapi.ListProducts400JSONResponse{ErrorJSONResponse: catalogapi.ErrorJSONResponse{Code: "BAD_REQUEST", Message: msg}}
}

// clone copies a product so that callers cannot change the catalog through its tags.
func clone(p catalogapi.Product) catalogapi.Product {
	if p.Tags != nil {
		tags := slices.Clone(*p.Tags)
		p.Tags = &tags
	}
	return p
}

// seedProduct is one row of the fixed catalog.
type seedProduct struct {
	id, name, category, description string
	priceCents                      int64
	stock                           int32
	tags                            []string
}

// seed is the fixed catalog; products with stock 0 are prd_0009, prd_0015, prd_0024 and prd_0028.
var seed = []seedProduct{
	{"prd_0001", "Enamel camping mug", "outdoor", "A 350 ml enamel mug that survives the campfire.", 1499, 42, []string{"camping", "mug"}},
	{"prd_0002", "Cast-iron skillet 26 cm", "kitchen", "Pre-seasoned 26 cm skillet that goes from stovetop to oven.", 3999, 18, []string{"cast-iron", "cookware"}},
	{"prd_0003", "Mechanical pencil set", "office", "Three 0.5 mm mechanical pencils with a tin of spare leads.", 1299, 64, []string{"pencil", "stationery"}},
	{"prd_0004", "Merino wool beanie", "apparel", "Soft, itch-free merino beanie in charcoal grey.", 2499, 35, []string{"wool", "winter"}},
	{"prd_0005", "The Pragmatic Gardener", "books", "A practical guide to growing vegetables in small spaces.", 1899, 12, []string{"gardening", "paperback"}},
	{"prd_0006", "Chef's knife 20 cm", "kitchen", "Forged stainless-steel chef's knife with a full tang.", 8900, 9, []string{"knife", "steel"}},
	{"prd_0007", "Ultralight tent 2P", "outdoor", "A two-person backpacking tent that packs down to under 1.5 kg.", 27900, 4, []string{"camping", "tent"}},
	{"prd_0008", "Linen notebook A5", "office", "Dot-grid A5 notebook with 192 pages and a linen cover.", 1599, 80, []string{"notebook", "stationery"}},
	{"prd_0009", "Waterproof rain jacket", "apparel", "Breathable three-layer shell with taped seams and a packable hood.", 12900, 0, []string{"rain", "jacket"}},
	{"prd_0010", "Field Guide to Birds", "books", "Illustrated hardcover guide to 600 North American species.", 2999, 7, []string{"nature", "birds", "hardcover"}},
	{"prd_0011", "Pour-over coffee dripper", "kitchen", "Ceramic cone dripper that brews one to two cups.", 2299, 26, []string{"coffee", "ceramic"}},
	{"prd_0012", "Desk organizer tray", "office", "Bamboo tray with five compartments for pens, clips and cables.", 2799, 15, []string{"desk", "bamboo"}},
	{"prd_0013", "Headlamp 400 lm", "outdoor", "Rechargeable 400-lumen headlamp with a red-light mode.", 3499, 23, []string{"camping", "light"}},
	{"prd_0014", "Organic cotton T-shirt", "apparel", "Heavyweight crew-neck tee in organic cotton.", 1999, 120, []string{"cotton", "basics"}},
	{"prd_0015", "Sourdough from Scratch", "books", "Step-by-step recipes for starters, loaves and flatbreads.", 2499, 0, []string{"baking", "cookbook"}},
	{"prd_0016", "Digital kitchen scale", "kitchen", "Stainless-steel scale accurate to 1 g, up to 5 kg.", 2599, 31, []string{"baking", "scale"}},
	{"prd_0017", "Ergonomic vertical mouse", "office", "Wireless mouse that keeps the wrist in a handshake position.", 4999, 19, []string{"computer", "ergonomic"}},
	{"prd_0018", "Carbon trekking poles", "outdoor", "Collapsible carbon poles with cork grips, sold as a pair.", 5999, 11, []string{"hiking", "carbon"}},
	{"prd_0019", "Wool hiking socks", "apparel", "Cushioned merino-blend socks, two pairs.", 1799, 88, []string{"wool", "hiking", "socks"}},
	{"prd_0020", "The Quiet Desk", "books", "Essays on doing focused work in a noisy office.", 1699, 40, []string{"productivity", "paperback"}},
	{"prd_0021", "Bamboo cutting board", "kitchen", "Large end-grain board with a juice groove.", 2999, 22, []string{"bamboo", "board"}},
	{"prd_0022", "Noise-cancelling headphones", "office", "Over-ear wireless headphones with 30 hours of battery.", 19900, 6, []string{"audio", "wireless"}},
	{"prd_0023", "Insulated water bottle 750 ml", "outdoor", "Double-wall steel bottle that keeps drinks cold for 24 hours.", 2799, 54, []string{"bottle", "hiking"}},
	{"prd_0024", "Waxed canvas apron", "apparel", "Waxed canvas apron with leather straps and tool pockets.", 3499, 0, []string{"canvas", "apron"}},
	{"prd_0025", "Maps of Forgotten Coasts", "books", "A hardcover atlas of fifty remote coastlines and their stories.", 3499, 5, []string{"travel", "maps", "hardcover"}},
	{"prd_0026", "French press 1 l", "kitchen", "Borosilicate glass press with a stainless double filter.", 3299, 14, []string{"coffee", "glass"}},
	{"prd_0027", "Steel monitor stand", "office", "Riser that lifts the screen 10 cm and stores a keyboard beneath.", 3999, 10, []string{"desk", "ergonomic"}},
	{"prd_0028", "Camping hammock", "outdoor", "Parachute-nylon hammock with tree straps; holds 180 kg.", 4499, 0, []string{"camping", "hammock"}},
	{"prd_0029", "Fleece quarter-zip", "apparel", "Midweight pullover in recycled fleece.", 5499, 27, []string{"fleece", "layer"}},
	{"prd_0030", "A Year of Soups", "books", "Fifty-two seasonal soups, one for every week of the year.", 2199, 16, []string{"cookbook", "paperback"}},
	{"prd_0031", "Silicone spatula set", "kitchen", "Three heat-resistant spatulas, safe up to 260 °C.", 1399, 47, []string{"silicone", "utensils"}},
	{"prd_0032", "Steel-nib fountain pen", "office", "Fountain pen with a converter and two ink cartridges.", 3599, 8, []string{"pen", "stationery"}},
	{"prd_0033", "Compact camp stove", "outdoor", "Folding canister stove that boils a litre in three minutes.", 3899, 13, []string{"camping", "stove"}},
	{"prd_0034", "Full-grain leather belt", "apparel", "Leather belt with a solid brass buckle.", 3999, 33, []string{"leather", "accessories"}},
	{"prd_0035", "Night Sky Handbook", "books", "Star charts and observing tips for every month of the year.", 1999, 21, []string{"astronomy", "paperback"}},
	{"prd_0036", "Dutch oven 5 l", "kitchen", "Enamelled cast-iron pot for braises, stews and bread.", 11900, 3, []string{"cast-iron", "cookware"}},
}
