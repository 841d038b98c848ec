package upstream

import (
	"context"
	"fmt"
	"net/http"
)

// Placeholder of the registry API the lead is writing on main (PLAN.md, target architecture 3),
// so that gen/upstreams compiles on the codegen branch; the lead's version replaces this file.

// Client is one upstream's base URL and HTTP client (resilience policies, mock mode).
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// Registry holds one Client per upstream contract.
type Registry struct {
	clients map[string]Client
}

// Client returns the client of the upstream name.
func (r *Registry) Client(name string) (Client, error) {
	c, ok := r.clients[name]
	if !ok {
		return Client{}, fmt.Errorf("upstream %q: not in the registry", name)
	}
	return c, nil
}

// EditRequest passes the request's correlation headers and the caller's identity on: the
// request editor of every generated upstream client.
func EditRequest(ctx context.Context, req *http.Request) error { return editRequest(ctx, req) }
