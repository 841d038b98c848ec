// Package storefront is the handler glue of the storefront demo: it implements the
// generated strict server interface of api/openapi.yaml by calling the upstream services
// through their generated clients and wrapping the results in the response envelope.
package app

import (
	"context"
	"net/http"

	"github.com/contractgate/contractgate/gen/gateway"
	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// Handlers implements gateway.StrictServerInterface. Safe for concurrent use.
type Handlers struct {
	up *upstream.Clients
}

var _ gateway.StrictServerInterface = (*Handlers)(nil)

// New returns the storefront handlers calling the given upstream clients.
func New(up *upstream.Clients) *Handlers { return &Handlers{up: up} }

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
