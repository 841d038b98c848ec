// Package app is the app the engine serves: the storefront demo. Its hand-written handlers
// implement the generated strict server interface of api/openapi.yaml by calling the upstream
// services through their generated clients and wrapping the results in the response
// envelope; App is its seam to the engine (package seam).
package app

import (
	"context"
	"net/http"

	"github.com/contractgate/contractgate/api"
	"github.com/contractgate/contractgate/gen/bindings"
	"github.com/contractgate/contractgate/gen/gateway"
	"github.com/contractgate/contractgate/gen/upstreams"
	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/seam"
)

// App is the storefront, as the engine serves it.
func App() seam.App { return seam.App{Contracts: api.FS, Mount: Mount} }

// Mount registers the storefront's operations on r: the bound ones (x-upstream) answered by
// the generated glue, the others by the hand-written methods of Handlers.
func Mount(r seam.Router, deps seam.Deps) error {
	up, err := upstreams.New(deps.Upstreams)
	if err != nil {
		return err
	}
	bound, err := bindings.New(up, deps.Bindings)
	if err != nil {
		return err
	}
	gateway.RegisterHandlers(r, gateway.NewStrictHandler(&Handlers{Bound: bound, up: up}, nil))
	return nil
}

// Handlers implements gateway.StrictServerInterface: the operations bound with x-upstream
// (getProduct, getMyRecommendations) through the generated *bindings.Bound, the ones that
// do real work (pagination, pricing, ownership, the dashboard's fan-out) by hand. Safe for
// concurrent use.
type Handlers struct {
	*bindings.Bound
	up *upstreams.Clients
}

var _ gateway.StrictServerInterface = (*Handlers)(nil)

// Default page size of list operations (the spec's default for pageSize).
const (
	defaultPage     = 1
	defaultPageSize = 20
)

// caller returns the authenticated caller, or UNAUTHORIZED.
func caller(ctx context.Context) (identity.Identity, error) {
	id, ok := identity.FromContext(ctx)
	if !ok {
		return identity.Identity{}, apierror.ErrUnauthorized
	}
	return id, nil
}

func paging(page, pageSize *int32) (p, size, offset int32) {
	p, size = defaultPage, defaultPageSize
	if page != nil {
		p = *page
	}
	if pageSize != nil {
		size = *pageSize
	}
	return p, size, (p - 1) * size
}

// statusOK is the status every read of an upstream expects.
const statusOK = http.StatusOK

// The storefront's upstreams (api/upstreams/<name>.yaml), as errors name them.
const (
	upCatalog = "catalog"
	upOrders  = "orders"
	upUsers   = "users"
)
