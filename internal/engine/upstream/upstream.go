// Package upstream builds the typed clients of the upstream services (generated from their
// contracts) once at start-up, each with its resilience policies (package resilience) and
// its contract check in the transport, and maps every failed upstream call to the error the
// gateway's client sees, in one function (Failure).
package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
	usersapi "github.com/contractgate/contractgate/gen/users"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/mock"
	"github.com/contractgate/contractgate/internal/engine/resilience"
	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
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

	policies   map[string]*resilience.Policy
	transports []*http.Transport
}

// Option configures New.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	hooks    resilience.Hooks
	policies map[string]resilience.Config
	attempt  func(http.RoundTripper) http.RoundTripper
}

// WithAttemptTransport wraps the transport of each attempt (below the policies): tracing
// adds a client span per attempt there.
func WithAttemptTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(o *options) { o.attempt = wrap }
}

// WithLogger sets the logger of circuit state changes and contract violations in log mode
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHooks sets the metrics callbacks of every upstream's policies.
func WithHooks(h resilience.Hooks) Option { return func(o *options) { o.hooks = h } }

// WithPolicy sets the policies of upstream name, replacing what the configuration says (for
// tests and embedding). cfg must be defaulted (resilience.Config.SetDefaults).
func WithPolicy(name string, cfg resilience.Config) Option {
	return func(o *options) { o.policies[name] = cfg }
}

// policyConfig returns the resilience configuration of upstream name.
func (o *options) policyConfig(name string, u config.Upstream) resilience.Config {
	if c, ok := o.policies[name]; ok {
		return c
	}
	return u.Config
}

// New builds one client per configured upstream: the generated client over an http.Client
// whose transport runs the upstream's policies (bulkhead, timeout, retry with budget,
// circuit breaker, attempt timeout), checks answers against the upstream's contract, speaks
// TLS as the upstream's tls settings say, and sets the correlation and identity headers. It
// fails on an invalid policy or TLS configuration.
func New(cfg map[string]config.Upstream, opts ...Option) (*Clients, error) {
	o := &options{logger: slog.Default(), policies: map[string]resilience.Config{}}
	for _, opt := range opts {
		opt(o)
	}
	c := &Clients{policies: map[string]*resilience.Policy{}}
	catalog, err := c.httpClient(Catalog, cfg[Catalog], catalogapi.GetSpec, o)
	if err != nil {
		return nil, err
	}
	orders, err := c.httpClient(Orders, cfg[Orders], ordersapi.GetSpec, o)
	if err != nil {
		return nil, err
	}
	users, err := c.httpClient(Users, cfg[Users], usersapi.GetSpec, o)
	if err != nil {
		return nil, err
	}
	if c.Catalog, err = catalogapi.NewClientWithResponses(cfg[Catalog].BaseURL, catalogapi.WithHTTPClient(catalog), catalogapi.WithRequestEditorFn(editRequest)); err != nil {
		return nil, fmt.Errorf("upstream %s: %w", Catalog, err)
	}
	if c.Orders, err = ordersapi.NewClientWithResponses(cfg[Orders].BaseURL, ordersapi.WithHTTPClient(orders), ordersapi.WithRequestEditorFn(editRequest)); err != nil {
		return nil, fmt.Errorf("upstream %s: %w", Orders, err)
	}
	if c.Users, err = usersapi.NewClientWithResponses(cfg[Users].BaseURL, usersapi.WithHTTPClient(users), usersapi.WithRequestEditorFn(editRequest)); err != nil {
		return nil, fmt.Errorf("upstream %s: %w", Users, err)
	}
	return c, nil
}

func (c *Clients) httpClient(name string, u config.Upstream, spec func() (*openapi3.T, error), o *options) (*http.Client, error) {
	pc := o.policyConfig(name, u)
	doc, err := spec()
	if err != nil {
		return nil, fmt.Errorf("upstream %s: loading its contract: %w", name, err)
	}
	check, err := newContract(name, u.BaseURL, pc.Contract, doc, o.logger)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: compiling its contract: %w", name, err)
	}
	policy, err := resilience.New(name, pc, resilience.WithLogger(o.logger), resilience.WithHooks(o.hooks), resilience.WithCheck(check.check))
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", name, err)
	}
	tlsCfg, err := tlsconfig.NewClient(u.TLS)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: tls: %w", name, err)
	}
	idle := max(u.MaxIdleConns, 1)
	base := &http.Transport{
		TLSClientConfig: tlsCfg,
		Proxy:           nil, // upstreams are reached directly, never through HTTP_PROXY
		DialContext:     (&net.Dialer{Timeout: min(pc.AttemptTimeout, 2*time.Second), KeepAlive: 30 * time.Second}).DialContext,
		// Below the idle timeout of common load balancers (60 s and more), so that the
		// gateway closes an idle connection before the upstream side does.
		IdleConnTimeout:     30 * time.Second,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		TLSHandshakeTimeout: min(pc.AttemptTimeout, 5*time.Second),
		ForceAttemptHTTP2:   true,
	}
	c.policies[name] = policy
	c.transports = append(c.transports, base)
	var answer http.RoundTripper = base
	if u.Mock {
		m, err := mock.New(doc)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", name, err)
		}
		answer = m.Transport()
	}
	var attempt http.RoundTripper = countAttempts{answer}
	if o.attempt != nil {
		attempt = o.attempt(attempt)
	}
	return &http.Client{
		Transport: policy.RoundTripper(attempt),
		// Upstreams answer; they do not redirect the gateway elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// States returns the circuit state of every upstream ("closed", "open" or "half-open"),
// for /readyz.
func (c *Clients) States() map[string]string {
	out := make(map[string]string, len(c.policies))
	for name, p := range c.policies {
		out[name] = string(p.State())
	}
	return out
}

// Names returns the names of the upstreams, sorted.
func (c *Clients) Names() []string {
	out := make([]string, 0, len(c.policies))
	for name := range c.policies {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// CloseIdleConnections closes the idle keep-alive connections to every upstream (on
// shutdown, and in tests that check for leaks).
func (c *Clients) CloseIdleConnections() {
	for _, t := range c.transports {
		t.CloseIdleConnections()
	}
}

// editRequest passes the request's correlation headers and the caller's identity on.
func editRequest(ctx context.Context, req *http.Request) error {
	correlation.Propagate(ctx, req.Header)
	if id, ok := identity.FromContext(ctx); ok {
		req.Header.Set(id.ForwardHeader(), id.Subject)
	}
	return nil
}

// countAttempts adds every attempt to the request's correlation record, which the access log
// reports as upstreamAttempts.
type countAttempts struct{ next http.RoundTripper }

func (c countAttempts) RoundTrip(req *http.Request) (*http.Response, error) {
	if info := correlation.FromContext(req.Context()); info != nil {
		info.UpstreamAttempts.Add(1)
	}
	return c.next.RoundTrip(req)
}
