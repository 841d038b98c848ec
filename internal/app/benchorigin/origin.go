// Package benchorigin is the benchmark origin: a minimal upstream that speaks the demo catalog,
// orders and users contracts (api/upstreams/*.yaml) from bytes computed once at start-up, so
// that a load test or a benchmark of the gateway measures the gateway, not its upstreams.
//
// A request costs what net/http costs plus a map lookup: no JSON encoding, no routing
// library, no per-request allocation in the handler on the hot paths (GET /products/{id},
// GET /products?ids=<one id>, POST /orders, POST /users/{id}/feedback). Every answer is valid against its upstream's
// contract, so the gateway's response contract check passes.
package benchorigin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// NumProducts is the number of products, prd_0001 .. prd_0036, as in the demo catalog.
const NumProducts = 36

// OrderID is the id of the one order the origin knows (returned by every order operation).
const OrderID = "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90"

// product is the catalog contract's Product.
type product struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Category    string   `json:"category"`
	PriceCents  int64    `json:"priceCents"`
	Currency    string   `json:"currency"`
	Stock       int32    `json:"stock"`
	InStock     bool     `json:"inStock"`
	Tags        []string `json:"tags"`
}

type orderLine struct {
	ProductID      string `json:"productId"`
	Name           string `json:"name"`
	Quantity       int32  `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// order is the orders contract's Order.
type order struct {
	ID            string      `json:"id"`
	UserID        string      `json:"userId"`
	Status        string      `json:"status"`
	Lines         []orderLine `json:"lines"`
	TotalCents    int64       `json:"totalCents"`
	Currency      string      `json:"currency"`
	Note          *string     `json:"note"`
	PaymentMethod string      `json:"paymentMethod"`
	CreatedAt     string      `json:"createdAt"`
	UpdatedAt     string      `json:"updatedAt"`
}

// response is a precomputed JSON answer.
type response struct {
	status int
	body   []byte
	clen   []string
}

var ctJSON = []string{"application/json"}

func (r *response) write(w http.ResponseWriter) {
	h := w.Header()
	// Shared slices: net/http only reads them.
	h["Content-Type"] = ctJSON
	h["Content-Length"] = r.clen
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

func newResponse(status int, v any) *response {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &response{status: status, body: b, clen: []string{strconv.Itoa(len(b))}}
}

// Origin is the benchmark origin's http.Handler. Safe for concurrent use.
type Origin struct {
	products    []product
	product     map[string]*response // GET /products/{id}
	single      map[string]*response // GET /products?ids={id}
	firstPage   *response            // GET /products (first 20)
	recommended *response
	order       *response // POST /orders (201)
	orderGet    *response
	cancelled   *response
	orderPage   *response
	user        *response
	feedback    *response // POST /users/{id}/feedback (201)
	notFound    *response
	badRequest  *response
}

var categories = []string{"kitchen", "office", "outdoor", "apparel", "books"}

// New returns the origin with its products, order and user.
func New() *Origin {
	o := &Origin{product: map[string]*response{}, single: map[string]*response{}}
	for i := 1; i <= NumProducts; i++ {
		id := fmt.Sprintf("prd_%04d", i)
		p := product{
			ID:   id,
			Name: fmt.Sprintf("Enamel camping mug, edition %d", i),
			Description: "A 350 ml enamel mug that survives the campfire: powder-coated steel, " +
				"a rolled stainless rim that will not burn your lips, and a handle wide enough for " +
				"gloved fingers. Stacks with the rest of the camp kitchen set, dishwasher safe, and " +
				"sold with a lifetime warranty against chipping. Made in Portugal. Holds coffee, tea, " +
				"soup or porridge; weighs 180 g; 8.5 cm across and 8 cm tall; four colours.",
			Category:   categories[(i-1)%len(categories)],
			PriceCents: 1499 + int64(i)*100,
			Currency:   "USD",
			Stock:      int32(1000 + i),
			InStock:    true,
			Tags:       []string{"camping", "mug", "outdoor-kitchen", "enamel", "gift"},
		}
		o.products = append(o.products, p)
		o.product[id] = newResponse(http.StatusOK, p)
		o.single[id] = newResponse(http.StatusOK, page(o.products[i-1:i]))
	}
	o.firstPage = newResponse(http.StatusOK, page(o.products[:20]))
	o.recommended = newResponse(http.StatusOK, map[string]any{"items": o.products[:5]})
	p := o.products[0]
	mk := func(status string) order {
		return order{
			ID: OrderID, UserID: "alice", Status: status,
			Lines:      []orderLine{{ProductID: p.ID, Name: p.Name, Quantity: 1, UnitPriceCents: p.PriceCents}},
			TotalCents: p.PriceCents, Currency: "USD", PaymentMethod: "card",
			CreatedAt: "2026-11-26T17:05:07.123Z", UpdatedAt: "2026-11-26T17:05:07.123Z",
		}
	}
	o.order = newResponse(http.StatusCreated, mk("pending"))
	o.orderGet = newResponse(http.StatusOK, mk("pending"))
	o.cancelled = newResponse(http.StatusOK, mk("cancelled"))
	o.orderPage = newResponse(http.StatusOK, map[string]any{"items": []order{mk("pending")}, "total": 1})
	o.user = newResponse(http.StatusOK, map[string]any{
		"id": "alice", "displayName": "Alice Example", "email": "alice@example.com",
		"tier": "gold", "createdAt": "2024-01-15T09:30:00.000Z",
	})
	o.feedback = newResponse(http.StatusCreated, map[string]any{
		"id": "fb_000001", "userId": "alice", "rating": 5, "comment": "Quick delivery, lovely mug.",
		"createdAt": "2026-11-26T17:05:07.123Z",
	})
	o.notFound = newResponse(http.StatusNotFound, map[string]string{"code": "NOT_FOUND", "message": "not found"})
	o.badRequest = newResponse(http.StatusBadRequest, map[string]string{"code": "BAD_REQUEST", "message": "bad request"})
	return o
}

func page(ps []product) map[string]any {
	return map[string]any{"items": ps, "total": len(ps)}
}

// ProductJSON returns the body of GET /products/{id}, or nil.
func (o *Origin) ProductJSON(id string) []byte {
	if r, ok := o.product[id]; ok {
		return r.body
	}
	return nil
}

// ServeHTTP answers the catalog, orders and users operations.
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch r.Method {
	case http.MethodGet:
		switch {
		case strings.HasPrefix(path, "/products/"):
			if res, ok := o.product[path[len("/products/"):]]; ok {
				res.write(w)
				return
			}
		case path == "/products":
			o.listProducts(w, r.URL.RawQuery)
			return
		case path == "/recommendations":
			o.recommended.write(w)
			return
		case strings.HasPrefix(path, "/users/"):
			o.user.write(w)
			return
		case path == "/orders":
			o.orderPage.write(w)
			return
		case strings.HasPrefix(path, "/orders/"):
			o.orderGet.write(w)
			return
		}
	case http.MethodPost:
		switch {
		case path == "/orders":
			_, _ = io.Copy(io.Discard, r.Body)
			o.order.write(w)
			return
		case strings.HasPrefix(path, "/orders/") && strings.HasSuffix(path, "/cancel"):
			o.cancelled.write(w)
			return
		case strings.HasPrefix(path, "/users/") && strings.HasSuffix(path, "/feedback"):
			_, _ = io.Copy(io.Discard, r.Body)
			o.feedback.write(w)
			return
		}
	}
	o.notFound.write(w)
}

// listProducts answers GET /products: the products named by ids (one id: precomputed), or
// the first page.
func (o *Origin) listProducts(w http.ResponseWriter, rawQuery string) {
	ids, found := "", false
	for q := rawQuery; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if v, ok := strings.CutPrefix(kv, "ids="); ok {
			ids, found = v, true
		}
	}
	if !found {
		o.firstPage.write(w)
		return
	}
	if strings.Contains(ids, "%") {
		u, err := url.QueryUnescape(ids)
		if err != nil {
			o.badRequest.write(w)
			return
		}
		ids = u
	}
	if res, ok := o.single[ids]; ok {
		res.write(w)
		return
	}
	var ps []product
	for id := range strings.SplitSeq(ids, ",") {
		if res, ok := o.product[id]; ok && res != nil {
			n, _ := strconv.Atoi(strings.TrimPrefix(id, "prd_"))
			ps = append(ps, o.products[n-1])
		}
	}
	if ps == nil {
		ps = []product{}
	}
	newResponse(http.StatusOK, page(ps)).write(w)
}
