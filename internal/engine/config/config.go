// Package config is the gateway's one typed configuration tree: decoded from YAML (a file or
// the app's embedded default), overridden by CONTRACTGATE_* environment variables, then
// defaulted and validated once at start-up.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"github.com/contractgate/contractgate/internal/engine/connlimit"
	"github.com/contractgate/contractgate/internal/engine/httpcache"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/engine/mcp"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
	"github.com/contractgate/contractgate/internal/engine/redisclient"
	"github.com/contractgate/contractgate/internal/engine/resilience"
	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// Environments the gateway knows.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Config is the whole configuration.
type Config struct {
	// Env is "development" (default) or "production". Production refuses development-only
	// credentials: the dev HMAC secret, the demo API keys, dev tokens.
	Env string `yaml:"env"`
	// Server holds the public listener's settings.
	Server Server `yaml:"server"`
	// Log holds the logger's settings.
	Log Log `yaml:"log"`
	// Upstreams maps an upstream's name to its settings. Every api/upstreams/<name>.yaml is an
	// upstream (the registry); a section for a name with no contract is a start-up error, an
	// upstream with no section gets the defaults.
	Upstreams map[string]Upstream `yaml:"upstreams"`
	// Auth configures authentication from the contract's security schemes: JWT bearer
	// tokens (HMAC keys, JWKS), API keys, development tokens.
	Auth auth.Config `yaml:"auth"`
	// CORS lets browsers on other origins call the API. Off unless allowOrigins is set.
	CORS CORS `yaml:"cors"`
	// Cache caches answers of GET operations that declare x-cache in the contract.
	Cache httpcache.Config `yaml:"cache"`
	// Admin is an optional second listener for operators: metrics, health, profiling.
	Admin Admin `yaml:"admin"`
	// Redis is the one Redis client of the process (standalone, Sentinel or Cluster), shared
	// by the stores that select it (rateLimit.store, idempotency.store: redis).
	Redis redisclient.Config `yaml:"redis"`
	// RateLimit limits each client (subject, else IP) per contract operation: a default
	// policy plus the spec's x-ratelimit overrides; in memory, or shared through Redis.
	RateLimit ratelimit.Config `yaml:"rateLimit"`
	// Idempotency configures Idempotency-Key claims and stored responses; in memory, or
	// shared through Redis.
	Idempotency idempotency.Config `yaml:"idempotency"`
	// Validation bounds request validation: details listed per 422, nesting and number
	// literals accepted.
	Validation validation.Config `yaml:"validation"`
	// Errors configures how errors are rendered.
	Errors Errors `yaml:"errors"`
	// MCP serves the contract's operations marked x-mcp: true as MCP tools at POST /mcp.
	MCP mcp.Config `yaml:"mcp"`
}

// Errors configures the error answers.
type Errors struct {
	// ProblemTypeBaseURL is the base of a problem document's type (application/problem+json
	// answers): the type is the base followed by the code in lower case with dashes
	// (<base>rate-limit-exceeded). An absolute http(s) URL without query or fragment.
	// Default https://contractgate.dev/errors/.
	ProblemTypeBaseURL string `yaml:"problemTypeBaseURL"`
}

// Admin configures the operator listener.
type Admin struct {
	// Addr, when set, serves /metrics, /healthz, /readyz (and /debug/pprof/ with Pprof) on
	// a separate listener, e.g. 127.0.0.1:9090. Default: none; /metrics stays on the public
	// listener either way unless MetricsOnAdminOnly.
	Addr string `yaml:"addr"`
	// Pprof serves net/http/pprof under /debug/pprof/ on the admin listener. Default false.
	Pprof bool `yaml:"pprof"`
	// MetricsOnAdminOnly removes /metrics from the public listener. Default false.
	MetricsOnAdminOnly bool `yaml:"metricsOnAdminOnly"`
}

// CORS configures cross-origin resource sharing. Preflight requests are answered before
// authentication and rate limiting.
type CORS struct {
	// AllowOrigins lists the origins allowed to call the API ("https://shop.example.com");
	// "*" allows any origin (then credentials are never allowed). Empty disables CORS.
	AllowOrigins []string `yaml:"allowOrigins"`
	// AllowMethods defaults to GET, HEAD, POST, PUT, PATCH, DELETE.
	AllowMethods []string `yaml:"allowMethods"`
	// AllowHeaders defaults to Authorization, Content-Type, Idempotency-Key, X-API-Key,
	// X-Request-Id, traceparent, tracestate.
	AllowHeaders []string `yaml:"allowHeaders"`
	// AllowCredentials lets browsers send cookies and HTTP auth. Default false.
	AllowCredentials bool `yaml:"allowCredentials"`
	// MaxAge is how long a browser may cache a preflight answer. Default 10m.
	MaxAge time.Duration `yaml:"maxAge"`
}

// Server configures the public HTTP listener.
type Server struct {
	// Addr is the listen address. Default 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// ReadHeaderTimeout bounds reading the request line and headers. Default 5s.
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	// ReadTimeout bounds reading the whole request, body included. Default 30s.
	ReadTimeout time.Duration `yaml:"readTimeout"`
	// WriteTimeout bounds writing the response, measured from the end of the headers. Default 30s.
	WriteTimeout time.Duration `yaml:"writeTimeout"`
	// IdleTimeout bounds how long a keep-alive connection waits for the next request. Default 120s.
	IdleTimeout time.Duration `yaml:"idleTimeout"`
	// ShutdownGrace is how long in-flight requests may take to finish after SIGTERM (after
	// DrainDelay); connections still open then are closed. Default 15s.
	ShutdownGrace time.Duration `yaml:"shutdownGrace"`
	// DrainDelay is how long the listener keeps serving after SIGTERM with /readyz already
	// answering 503, so that load balancers take the replica out of rotation before it stops
	// accepting connections. Default 5s (the demo: 1s).
	DrainDelay time.Duration `yaml:"drainDelay"`
	// MaxHeaderBytes caps the request line plus headers, in bytes. Default 65536.
	MaxHeaderBytes int `yaml:"maxHeaderBytes"`
	// BodyLimit caps a request body, in bytes. Default 1048576 (1 MiB).
	BodyLimit int64 `yaml:"bodyLimit"`
	// MaxURILength caps the request target (path and query), in bytes. Default 8192.
	MaxURILength int `yaml:"maxURILength"`
	// TLS serves HTTPS when certFile and keyFile are set; the pair is reloaded on SIGHUP and
	// when the files change.
	TLS tlsconfig.ServerConfig `yaml:"tls"`
	// Connections caps the listener's connections: max (default from RLIMIT_NOFILE),
	// maxPerClient (default 256), idleTimeoutUnderPressure (default 5s).
	Connections connlimit.Config `yaml:"connections"`
	// WatchConfig reloads the configuration when its file changes (the file given with
	// --config: its folder is watched, so an editor's atomic rename and a Kubernetes
	// ConfigMap update are seen). SIGHUP reloads it either way. Default true.
	WatchConfig *bool `yaml:"watchConfig"`
}

// Log configures the process logger.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json (default) or text.
	Format string `yaml:"format"`
}

// Upstream configures one upstream service.
type Upstream struct {
	// BaseURL is the service's absolute http(s) URL. Without one, the upstream is mocked in
	// development (answers from its contract's examples) and a start-up error in production.
	BaseURL string `yaml:"baseURL"`
	// Mock answers the upstream's operations from the examples in its contract, in process,
	// instead of calling it: client teams can build against the gateway before a backend
	// exists. Default false.
	Mock bool `yaml:"mock"`
	// MaxIdleConns is the number of keep-alive connections kept to the service. Default 64.
	MaxIdleConns int `yaml:"maxIdleConns"`
	// TLS configures an https upstream: CA, client certificate (mTLS), server name.
	TLS tlsconfig.ClientConfig `yaml:"tls"`
	// Config holds the upstream's policies, flattened into its keys: timeout (default 2s,
	// the whole call), attemptTimeout, maxResponseBytes, contract (enforce, log, off),
	// retry.*, circuitBreaker.*, bulkhead.* (see docs/resilience.md).
	resilience.Config `yaml:",inline"`
}

// SetDefaults fills the unset settings of one upstream (also for an upstream of the registry
// that the configuration does not mention).
func (u *Upstream) SetDefaults() {
	u.Config.SetDefaults()
	if u.MaxIdleConns == 0 {
		u.MaxIdleConns = 64
	}
	u.TLS.SetDefaults()
}

// FieldError is a configuration error located at a key path such as
// "upstreams.orders.timeout".
type FieldError = configerr.FieldError

// Load reads the configuration from path (fallback, the app's embedded default, when path is
// empty), applies environment overrides from environ (os.Environ() form), then SetDefaults and
// Validate.
func Load(path string, environ []string, fallback []byte) (*Config, error) {
	data, source := fallback, "embedded default"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		data, source = b, path
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", source, err)
	}
	if err := cfg.ApplyEnv(environ); err != nil {
		return nil, fmt.Errorf("config environment: %w", err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", source, err)
	}
	return cfg, nil
}

// Parse decodes YAML strictly: unknown keys are errors.
func Parse(data []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &cfg, nil
}

// SetDefaults fills every unset field with its documented default.
func (c *Config) SetDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Env == "" {
		c.Env = EnvDevelopment
	}
	s := &c.Server
	if s.Addr == "" {
		s.Addr = "127.0.0.1:8080"
	}
	def(&s.ReadHeaderTimeout, 5*time.Second)
	def(&s.ReadTimeout, 30*time.Second)
	def(&s.WriteTimeout, 30*time.Second)
	def(&s.IdleTimeout, 120*time.Second)
	def(&s.ShutdownGrace, 15*time.Second)
	def(&s.DrainDelay, 5*time.Second)
	if s.MaxHeaderBytes == 0 {
		s.MaxHeaderBytes = 64 << 10
	}
	if s.BodyLimit == 0 {
		s.BodyLimit = 1 << 20
	}
	if s.MaxURILength == 0 {
		s.MaxURILength = 8 << 10
	}
	if s.WatchConfig == nil {
		watch := true
		s.WatchConfig = &watch
	}
	if len(c.CORS.AllowOrigins) > 0 {
		if len(c.CORS.AllowMethods) == 0 {
			c.CORS.AllowMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
		}
		if len(c.CORS.AllowHeaders) == 0 {
			c.CORS.AllowHeaders = []string{"Authorization", "Content-Type", "Idempotency-Key", "X-API-Key", "X-Request-Id", "traceparent", "tracestate"}
		}
		def(&c.CORS.MaxAge, 10*time.Minute)
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	for name, u := range c.Upstreams {
		u.SetDefaults()
		c.Upstreams[name] = u
	}
	c.Auth.SetDefaults()
	c.Server.TLS.SetDefaults()
	c.Server.Connections.SetDefaults()
	c.Redis.SetDefaults()
	c.RateLimit.SetDefaults()
	c.Idempotency.SetDefaults()
	c.Cache.SetDefaults()
	c.MCP.SetDefaults()
	if c.Validation.MaxBodyBytesInFlight == 0 {
		// Room for two of the largest bodies at least.
		c.Validation.MaxBodyBytesInFlight = max(validation.DefaultMaxBodyBytesInFlight, 2*c.Server.BodyLimit)
	}
	c.Validation.SetDefaults()
	if c.Errors.ProblemTypeBaseURL == "" {
		c.Errors.ProblemTypeBaseURL = apierror.DefaultProblemTypeBaseURL
	}
}

// Validate checks the whole tree and returns every problem found, each a *FieldError.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	positive := func(path string, d time.Duration) {
		if d <= 0 {
			bad(path, "must be a positive duration, got %s", d)
		}
	}
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		bad("env", "must be %q or %q, got %q", EnvDevelopment, EnvProduction, c.Env)
	}
	s := c.Server
	if s.Addr == "" || !strings.Contains(s.Addr, ":") {
		bad("server.addr", "must be host:port, got %q", s.Addr)
	}
	positive("server.readHeaderTimeout", s.ReadHeaderTimeout)
	positive("server.readTimeout", s.ReadTimeout)
	positive("server.writeTimeout", s.WriteTimeout)
	positive("server.idleTimeout", s.IdleTimeout)
	positive("server.shutdownGrace", s.ShutdownGrace)
	positive("server.drainDelay", s.DrainDelay)
	if s.MaxHeaderBytes < 4096 || s.MaxHeaderBytes > 1<<20 {
		bad("server.maxHeaderBytes", "must be between 4096 and 1048576, got %d", s.MaxHeaderBytes)
	}
	if s.BodyLimit < 1 || s.BodyLimit > 64<<20 {
		bad("server.bodyLimit", "must be between 1 and 67108864 bytes, got %d", s.BodyLimit)
	}
	if v := c.Validation.MaxBodyBytesInFlight; v < s.BodyLimit {
		bad("validation.maxBodyBytesInFlight", "must be at least server.bodyLimit (%d bytes), got %d", s.BodyLimit, v)
	}
	if s.MaxURILength < 256 || s.MaxURILength > 64<<10 {
		bad("server.maxURILength", "must be between 256 and 65536, got %d", s.MaxURILength)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}
	names := make([]string, 0, len(c.Upstreams))
	for name := range c.Upstreams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		u, p := c.Upstreams[name], "upstreams."+name
		if u.BaseURL != "" {
			if parsed, err := url.Parse(u.BaseURL); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
				bad(p+".baseURL", "must be an absolute http or https URL, got %q", u.BaseURL)
			}
		}
		if c.Env == EnvProduction && u.Mock {
			bad(p+".mock", "must be false in production (env: production): a mocked upstream answers from examples")
		}
		for _, fe := range resilience.FieldErrors(u.Config.Validate()) {
			bad(p+"."+fe.Path, "%s", fe.Problem)
		}
		if u.MaxIdleConns < 1 {
			bad(p+".maxIdleConns", "must be at least 1, got %d", u.MaxIdleConns)
		}
	}
	if c.Admin.Addr != "" && !strings.Contains(c.Admin.Addr, ":") {
		bad("admin.addr", "must be host:port, got %q", c.Admin.Addr)
	}
	if c.Admin.Addr == "" && (c.Admin.Pprof || c.Admin.MetricsOnAdminOnly) {
		bad("admin.addr", "is required when admin.pprof or admin.metricsOnAdminOnly is set")
	}
	for i, o := range c.CORS.AllowOrigins {
		if o == "*" {
			if c.CORS.AllowCredentials {
				bad("cors.allowCredentials", "cannot be true when cors.allowOrigins contains \"*\"")
			}
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			bad(fmt.Sprintf("cors.allowOrigins[%d]", i), "must be an origin such as https://shop.example.com, got %q", o)
		}
	}
	if u, err := url.Parse(c.Errors.ProblemTypeBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("errors.problemTypeBaseURL", "must be an absolute http or https URL without query or fragment, got %q", c.Errors.ProblemTypeBaseURL)
	}
	production := c.Env == EnvProduction
	for _, fe := range auth.FieldErrors(c.Auth.Validate(production)) {
		bad("auth."+fe.Path, "%s", fe.Problem)
	}
	for _, fe := range tlsconfig.FieldErrors(c.Server.TLS.Validate()) {
		bad("server.tls."+fe.Path, "%s", fe.Problem)
	}
	for _, name := range names {
		for _, fe := range tlsconfig.FieldErrors(c.Upstreams[name].TLS.Validate(production)) {
			bad("upstreams."+name+".tls."+fe.Path, "%s", fe.Problem)
		}
	}
	for _, fe := range configerr.List(c.Redis.Validate(production)) {
		bad("redis."+fe.Path, "%s", fe.Problem)
	}
	if !c.Redis.Enabled() {
		if c.RateLimit.Store == ratelimit.StoreRedis {
			bad("rateLimit.store", "is redis but redis.addrs is empty")
		}
		if c.Idempotency.Store == idempotency.StoreRedis {
			bad("idempotency.store", "is redis but redis.addrs is empty")
		}
	}
	for _, s := range []struct {
		prefix string
		err    error
	}{
		{"server.connections.", c.Server.Connections.Validate()},
		{"rateLimit.", c.RateLimit.Validate()},
		{"idempotency.", c.Idempotency.Validate()},
		{"cache.", c.Cache.Validate()},
		{"validation.", c.Validation.Validate()},
	} {
		for _, fe := range configerr.List(s.err) {
			bad(s.prefix+fe.Path, "%s", fe.Problem)
		}
	}
	return errors.Join(errs...)
}
