package app

import (
	"fmt"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
	usersapi "github.com/contractgate/contractgate/gen/users"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// clients are the typed clients of the storefront's upstreams.
type clients struct {
	Catalog *catalogapi.ClientWithResponses
	Orders  *ordersapi.ClientWithResponses
	Users   *usersapi.ClientWithResponses
}

func newClients(reg *upstream.Registry) (*clients, error) {
	c := &clients{}
	cat, err := reg.Client("catalog")
	if err != nil {
		return nil, err
	}
	if c.Catalog, err = catalogapi.NewClientWithResponses(cat.BaseURL, catalogapi.WithHTTPClient(cat.HTTP), catalogapi.WithRequestEditorFn(upstream.EditRequest)); err != nil {
		return nil, fmt.Errorf("upstream catalog: %w", err)
	}
	ord, err := reg.Client("orders")
	if err != nil {
		return nil, err
	}
	if c.Orders, err = ordersapi.NewClientWithResponses(ord.BaseURL, ordersapi.WithHTTPClient(ord.HTTP), ordersapi.WithRequestEditorFn(upstream.EditRequest)); err != nil {
		return nil, fmt.Errorf("upstream orders: %w", err)
	}
	usr, err := reg.Client("users")
	if err != nil {
		return nil, err
	}
	if c.Users, err = usersapi.NewClientWithResponses(usr.BaseURL, usersapi.WithHTTPClient(usr.HTTP), usersapi.WithRequestEditorFn(upstream.EditRequest)); err != nil {
		return nil, fmt.Errorf("upstream users: %w", err)
	}
	return c, nil
}
