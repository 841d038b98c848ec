// Package upstream is the registry of upstream services: every upstream contract the app
// ships (api/upstreams/<name>.yaml) is one upstream, and New builds for each, once at
// start-up, the HTTP client its generated typed client calls through: its resilience policies
// (package resilience), its contract check in the transport, TLS, and mock mode. Every failed
// upstream call is mapped to the error the gateway's client sees in one function (Failure).
package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/mock"
	"github.com/contractgate/contractgate/internal/engine/resilience"
	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
)

// Client is what a generated upstream client is built from: the base URL of its requests and
// the HTTP client that runs the upstream's policies.
type Client struct {
	BaseURL string
	HTTP    Doer
}

// Doer sends a request and returns its answer: the generated clients' HttpRequestDoer.
type Doer interface {
	Do(req *http.Request) (*http.Response, error)
}

// doer runs a request through the upstream's policies (the RoundTripper resilience builds).
// It is what an http.Client with this transport, no cookie jar, no timeout of its own (the
// policies time the call) and no redirect following would do, without the client's per-call
// copies of the request, its URL and its headers: the answer, a 3xx included, is returned
// as the upstream gave it, and an error is wrapped in *url.Error as http.Client wraps it.
type doer struct{ rt http.RoundTripper }

// Do sends req through the policies.
func (d doer) Do(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, errors.New("upstream: request without a URL")
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	resp, err := d.rt.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: urlErrorOp(req.Method), URL: req.URL.Redacted(), Err: err}
	}
	return resp, nil
}

// urlErrorOp is the Op of the *url.Error http.Client returns ("Get", "Post", ...).
func urlErrorOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}

// Registry holds one Client per upstream. Read-only after New; safe for concurrent use.
type Registry struct {
	clients    map[string]Client
	policies   map[string]*resilience.Policy
	transports map[string]*http.Transport
	// settings are what each upstream was built from (WithPrevious compares them).
	settings map[string]settings
}

// settings are what one upstream's client is built from.
type settings struct {
	upstream config.Upstream
	policy   resilience.Config
}

// Option configures New.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	hooks    resilience.Hooks
	policies map[string]resilience.Config
	attempt  func(http.RoundTripper) http.RoundTripper
	previous *Registry
}

// WithPrevious carries over from prev (the registry of the configuration being replaced) the
// client of every upstream whose settings did not change (its section upstreams.<name>, by
// value, and its policies): the same policies, so its circuit breaker's state and bulkhead
// survive a configuration reload, and the same connections. Release prev with
// ReleaseReplaced.
func WithPrevious(prev *Registry) Option { return func(o *options) { o.previous = prev } }

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

// New builds the registry: one Client per upstream contract (name -> document, from
// api/upstreams/<name>.yaml), configured by cfg[name] (the defaults when absent). An upstream
// without a base URL is mocked (answered from its contract's examples, logged once here) in
// development and a start-up error in production (env). A configuration section that names no
// contract is an error too. Errors are configuration errors located at upstreams.<name>.
func New(contracts map[string]*openapi3.T, cfg map[string]config.Upstream, env string, opts ...Option) (*Registry, error) {
	o := &options{logger: slog.Default(), policies: map[string]resilience.Config{}}
	for _, opt := range opts {
		opt(o)
	}
	names := make([]string, 0, len(contracts))
	for name := range contracts {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for name := range cfg {
		if _, ok := contracts[name]; !ok {
			errs = append(errs, &configerr.FieldError{Path: "upstreams." + name,
				Problem: fmt.Sprintf("no upstream contract api/upstreams/%s.yaml (upstreams: %s)", name, strings.Join(names, ", "))})
		}
	}
	r := &Registry{clients: map[string]Client{}, policies: map[string]*resilience.Policy{},
		transports: map[string]*http.Transport{}, settings: map[string]settings{}}
	for _, name := range names {
		u, configured := cfg[name]
		if !configured {
			u.SetDefaults()
		}
		st := settings{upstream: u, policy: o.policyConfig(name, u)}
		if r.carryOver(name, st, o.previous) {
			continue
		}
		if u.BaseURL == "" {
			if env == config.EnvProduction {
				errs = append(errs, &configerr.FieldError{Path: "upstreams." + name + ".baseURL",
					Problem: "is required in production (env: production); in development an upstream without one is mocked from its contract's examples"})
				continue
			}
			u.Mock = true
		}
		if u.Mock {
			if u.BaseURL == "" {
				u.BaseURL = "http://" + name + ".mock"
			}
			o.logger.Info("upstream mocked: answering from its contract's examples", "upstream", name)
		}
		hc, err := r.httpClient(name, u, contracts[name], o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.clients[name] = Client{BaseURL: u.BaseURL, HTTP: hc}
		r.settings[name] = st
	}
	if err := errors.Join(errs...); err != nil {
		r.ReleaseReplaced(o.previous)
		return nil, err
	}
	return r, nil
}

// carryOver takes upstream name's client from prev when it was built from the same settings.
func (r *Registry) carryOver(name string, s settings, prev *Registry) bool {
	if prev == nil {
		return false
	}
	old, ok := prev.settings[name]
	if !ok || !reflect.DeepEqual(old, s) {
		return false
	}
	r.clients[name], r.policies[name], r.transports[name], r.settings[name] = prev.clients[name], prev.policies[name], prev.transports[name], old
	return true
}

// ReleaseReplaced closes the idle connections of every upstream of r that next did not carry
// over (WithPrevious): once the requests of a replaced configuration have finished. A nil
// next releases them all.
func (r *Registry) ReleaseReplaced(next *Registry) {
	for name, t := range r.transports {
		if next == nil || next.transports[name] != t {
			t.CloseIdleConnections()
		}
	}
}

// Client returns the client of upstream name.
func (r *Registry) Client(name string) (Client, error) {
	c, ok := r.clients[name]
	if !ok {
		return Client{}, fmt.Errorf("no upstream %q (upstreams: %s)", name, strings.Join(r.Names(), ", "))
	}
	return c, nil
}

func (r *Registry) httpClient(name string, u config.Upstream, doc *openapi3.T, o *options) (Doer, error) {
	pc := o.policyConfig(name, u)
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
		// Answers are asked for as they are (no Accept-Encoding: gzip added and undone by
		// net/http): each is read whole, checked against the contract and written into the
		// envelope, so compressing it would cost both sides CPU for what is usually traffic
		// within one network, and a header map per call. maxResponseBytes caps the bytes
		// on the wire.
		DisableCompression: true,
	}
	r.policies[name] = policy
	r.transports[name] = base
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
	// Upstreams answer; they do not redirect the gateway elsewhere (doer follows no redirect).
	return doer{rt: policy.RoundTripper(attempt)}, nil
}

// States returns the circuit state of every upstream ("closed", "open" or "half-open"),
// for /readyz.
func (r *Registry) States() map[string]string {
	out := make(map[string]string, len(r.policies))
	for name, p := range r.policies {
		out[name] = string(p.State())
	}
	return out
}

// Names returns the names of the upstreams, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.policies))
	for name := range r.policies {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// CloseIdleConnections closes the idle keep-alive connections to every upstream (on
// shutdown, and in tests that check for leaks).
func (r *Registry) CloseIdleConnections() {
	for _, t := range r.transports {
		t.CloseIdleConnections()
	}
}

// EditRequest passes the request's correlation headers and the caller's identity on, and
// scopes an Idempotency-Key to the caller (idempotency.UpstreamKey: two callers' keys never
// meet upstream, a caller's raw key never leaves the gateway, a retry carries the key of the
// first attempt): the request editor of every generated upstream client, bound or hand-written.
func EditRequest(ctx context.Context, req *http.Request) error {
	correlation.Propagate(ctx, req.Header)
	id, ok := identity.FromContext(ctx)
	if ok {
		req.Header.Set(id.ForwardHeader(), id.Subject)
	}
	if v := req.Header.Get(idempotency.Header); v != "" {
		key, err := idempotency.UpstreamKey(id.Subject, v)
		if err != nil {
			return apierror.ErrIdempotencyKeyInvalid.Wrap(err)
		}
		req.Header.Set(idempotency.Header, key)
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
