// Package upstream builds the typed clients of the upstream services (generated from their
// contracts) once at start-up, and maps every failed upstream call to the error the
// gateway's client sees, in one function.
package upstream

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/failsafe-go/failsafe-go/timeout"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
	usersapi "github.com/contractgate/contractgate/gen/users"
	"github.com/contractgate/contractgate/internal/config"
	"github.com/contractgate/contractgate/internal/correlation"
	"github.com/contractgate/contractgate/internal/identity"
)

// Names of the upstreams the storefront calls.
const (
	Catalog = "catalog"
	Orders  = "orders"
	Users   = "users"
)

// Clients are the generated clients of every upstream, ready for concurrent use.
type Clients struct {
	Catalog *catalogapi.ClientWithResponses
	Orders  *ordersapi.ClientWithResponses
	Users   *usersapi.ClientWithResponses
}

// New builds one client per configured upstream. Each client's transport applies the
// upstream's timeout (failsafe-go) and sets the correlation and identity headers.
func New(cfg map[string]config.Upstream) (*Clients, error) {
	var c Clients
	var err error
	if c.Catalog, err = catalogapi.NewClientWithResponses(cfg[Catalog].BaseURL, catalogapi.WithHTTPClient(httpClient(cfg[Catalog])), catalogapi.WithRequestEditorFn(editRequest)); err != nil {
		return nil, fmt.Errorf("upstream %s: %w", Catalog, err)
	}
	if c.Orders, err = ordersapi.NewClientWithResponses(cfg[Orders].BaseURL, ordersapi.WithHTTPClient(httpClient(cfg[Orders])), ordersapi.WithRequestEditorFn(editRequest)); err != nil {
		return nil, fmt.Errorf("upstream %s: %w", Orders, err)
	}
	if c.Users, err = usersapi.NewClientWithResponses(cfg[Users].BaseURL, usersapi.WithHTTPClient(httpClient(cfg[Users])), usersapi.WithRequestEditorFn(editRequest)); err != nil {
		return nil, fmt.Errorf("upstream %s: %w", Users, err)
	}
	return &c, nil
}

func httpClient(u config.Upstream) *http.Client {
	base := &http.Transport{
		Proxy:                 nil, // upstreams are reached directly, never through HTTP_PROXY
		DialContext:           (&net.Dialer{Timeout: min(u.Timeout, 2*time.Second), KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          u.MaxIdleConns,
		MaxIdleConnsPerHost:   u.MaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   min(u.Timeout, 5*time.Second),
		ResponseHeaderTimeout: u.Timeout,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: failsafehttp.NewRoundTripper(base, timeout.New[*http.Response](u.Timeout)),
		// Upstreams answer; they do not redirect the gateway elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// editRequest passes the request's correlation headers and the caller's identity on.
func editRequest(ctx context.Context, req *http.Request) error {
	correlation.Propagate(ctx, req.Header)
	if id, ok := identity.FromContext(ctx); ok {
		req.Header.Set(identity.Header, id.Subject)
	}
	return nil
}
