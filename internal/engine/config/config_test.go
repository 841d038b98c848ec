package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoadDefault(t *testing.T) {
	cfg, err := Load("", nil, fixture(t))
	if err != nil {
		t.Fatalf("Load(embedded default): %v", err)
	}
	if cfg.Server.Addr != "127.0.0.1:8080" || cfg.Upstreams["catalog"].BaseURL != "http://127.0.0.1:9101" {
		t.Fatalf("unexpected default config: %+v", cfg)
	}
	if cfg.Upstreams["orders"].MaxIdleConns != 64 {
		t.Fatalf("SetDefaults did not fill maxIdleConns: %+v", cfg.Upstreams["orders"])
	}
}

func TestEnvOverrides(t *testing.T) {
	cfg, err := Load("", []string{
		"CONTRACTGATE_SERVER_ADDR=127.0.0.1:9999",
		"CONTRACTGATE_UPSTREAMS_CATALOG_BASEURL=http://10.1.2.3:81",
		"CONTRACTGATE_UPSTREAMS_ORDERS_TIMEOUT=1500ms",
		"CONTRACTGATE_UPSTREAMS_ORDERS_RETRY_MAXATTEMPTS=2",
		"CONTRACTGATE_AUTH_DEVTOKEN_ENABLED=false",
		"CONTRACTGATE_MCP_ENABLED=false",
		"CONTRACTGATE_REDIS_ADDRS=[s1:26379, s2:26379]",
		"CONTRACTGATE_REDIS_MASTERNAME=gateway",
		"CONTRACTGATE_REDIS_PASSWORD=from-a-secret",
		"CONTRACTGATE_REDIS_TLS_ENABLED=true",
		"CONTRACTGATE_REDIS_TLS_CAFILE=/etc/redis/ca.pem",
		"CONTRACTGATE_RATELIMIT_STORE=redis",
		"CONTRACTGATE_CONFIG=ignored.yaml",
		"HOME=/root",
	}, fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9999" {
		t.Errorf("server.addr = %q", cfg.Server.Addr)
	}
	if got := cfg.Upstreams["catalog"].BaseURL; got != "http://10.1.2.3:81" {
		t.Errorf("upstreams.catalog.baseURL = %q", got)
	}
	if got := cfg.Upstreams["orders"].Timeout; got != 1500*time.Millisecond || cfg.Upstreams["orders"].Retry.MaxAttempts != 2 {
		t.Errorf("upstreams.orders.timeout = %s", got)
	}
	if cfg.Auth.DevToken.Enabled {
		t.Errorf("auth.devToken.enabled not overridden")
	}
	if cfg.MCP.Enabled == nil || *cfg.MCP.Enabled {
		t.Errorf("mcp.enabled not overridden")
	}
	if r := cfg.Redis; r.Mode != "sentinel" || len(r.Addrs) != 2 || r.MasterName != "gateway" || r.Password != "from-a-secret" ||
		!r.TLS.Enabled || r.TLS.CAFile != "/etc/redis/ca.pem" || cfg.RateLimit.Store != "redis" {
		t.Errorf("redis from the environment: %+v, rateLimit.store %q", r, cfg.RateLimit.Store)
	}
}

// TestProductNameDefaults: the product names (problem type base, realm, identity header)
// default to the values the gateway always used, and are configurable.
func TestProductNameDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if cfg.Errors.ProblemTypeBaseURL != "https://contractgate.dev/errors/" || cfg.Auth.Realm != "contractgate" || cfg.Auth.IdentityHeader != "X-Contractgate-Subject" {
		t.Fatalf("defaults: %q %q %q", cfg.Errors.ProblemTypeBaseURL, cfg.Auth.Realm, cfg.Auth.IdentityHeader)
	}
	cfg, err = Parse([]byte("errors: {problemTypeBaseURL: https://acme.example/problems/}\nauth: {realm: acme, identityHeader: X-User-Id}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if cfg.Errors.ProblemTypeBaseURL != "https://acme.example/problems/" || cfg.Auth.Realm != "acme" || cfg.Auth.IdentityHeader != "X-User-Id" {
		t.Fatalf("configured: %q %q %q", cfg.Errors.ProblemTypeBaseURL, cfg.Auth.Realm, cfg.Auth.IdentityHeader)
	}
}

func TestInvalidConfigNamesTheKey(t *testing.T) {
	t.Parallel()
	base := `
upstreams:
  catalog: {baseURL: "http://127.0.0.1:1"}
  orders: {baseURL: "http://127.0.0.1:2"}
  users: {baseURL: "http://127.0.0.1:3"}
`
	tests := []struct {
		desc    string
		yaml    string
		env     []string
		wantKey string
	}{
		{desc: "unknown env", yaml: base + "env: staging\n", wantKey: "env:"},
		{desc: "bad addr", yaml: base + "server: {addr: nowhere}\n", wantKey: "server.addr:"},
		{desc: "negative timeout", yaml: base + "server: {readTimeout: -1s}\n", wantKey: "server.readTimeout:"},
		{desc: "header limit too small", yaml: base + "server: {maxHeaderBytes: 10}\n", wantKey: "server.maxHeaderBytes:"},
		{desc: "body limit too big", yaml: base + "server: {bodyLimit: 999999999999}\n", wantKey: "server.bodyLimit:"},
		{desc: "uri limit too small", yaml: base + "server: {maxURILength: 3}\n", wantKey: "server.maxURILength:"},
		{desc: "negative detail cap", yaml: base + "validation: {maxDetails: -1}\n", wantKey: "validation.maxDetails:"},
		{desc: "number length too small", yaml: base + "validation: {maxNumberLength: 5}\n", wantKey: "validation.maxNumberLength:"},
		{desc: "exponent below float64's", yaml: base + "validation: {maxNumberExponent: 10}\n", wantKey: "validation.maxNumberExponent:"},
		{desc: "body budget under the body limit", yaml: base + "server: {bodyLimit: 2097152}\nvalidation: {maxBodyBytesInFlight: 1048576}\n", wantKey: "validation.maxBodyBytesInFlight:"},
		{desc: "negative body wait", yaml: base + "validation: {bodyWait: -1s}\n", wantKey: "validation.bodyWait:"},
		{desc: "negative drain delay", yaml: base + "server: {drainDelay: -1s}\n", wantKey: "server.drainDelay:"},
		{desc: "per-client cap over the cap", yaml: base + "server: {connections: {max: 10, maxPerClient: 11}}\n", wantKey: "server.connections.maxPerClient:"},
		{desc: "connection cap over the descriptor limit", yaml: base + "server: {connections: {max: 2000000000}}\n", wantKey: "server.connections.max:"},
		{desc: "env connection cap", yaml: base, env: []string{"CONTRACTGATE_SERVER_CONNECTIONS_MAXPERCLIENT=-2"}, wantKey: "server.connections.maxPerClient:"},
		{desc: "log level", yaml: base + "log: {level: loud}\n", wantKey: "log.level:"},
		{desc: "log format", yaml: base + "log: {format: xml}\n", wantKey: "log.format:"},
		{desc: "relative base url", yaml: strings.Replace(base, `"http://127.0.0.1:1"`, `"/catalog"`, 1), wantKey: "upstreams.catalog.baseURL:"},
		{desc: "ftp base url", yaml: strings.Replace(base, `"http://127.0.0.1:2"`, `"ftp://h/"`, 1), wantKey: "upstreams.orders.baseURL:"},
		{desc: "mocked upstream in production", yaml: base, env: []string{"CONTRACTGATE_ENV=production", "CONTRACTGATE_UPSTREAMS_USERS_MOCK=true"}, wantKey: "upstreams.users.mock:"},
		{desc: "zero idle conns", yaml: base, env: []string{"CONTRACTGATE_UPSTREAMS_USERS_MAXIDLECONNS=-1"}, wantKey: "upstreams.users.maxIdleConns:"},
		{desc: "dev token in production", yaml: base + "env: production\nauth: {devToken: {enabled: true}}\n", wantKey: "auth.devToken.enabled:"},
		{desc: "upstream tls without both halves", yaml: base, env: []string{"CONTRACTGATE_UPSTREAMS_USERS_TLS_CERTFILE=/x.pem"}, wantKey: "upstreams.users.tls."},
		{desc: "env value of the wrong type", yaml: base, env: []string{"CONTRACTGATE_SERVER_READTIMEOUT=soon"}, wantKey: "server.readTimeout:"},
		{desc: "env name that is no key", yaml: base, env: []string{"CONTRACTGATE_SERVER_ADRESS=x"}, wantKey: "CONTRACTGATE_SERVER_ADRESS"},
		{desc: "cors origin with a path", yaml: base + "cors: {allowOrigins: [\"https://a.example/x\"]}\n", wantKey: "cors.allowOrigins[0]:"},
		{desc: "cors wildcard with credentials", yaml: base + "cors: {allowOrigins: [\"*\"], allowCredentials: true}\n", wantKey: "cors.allowCredentials:"},
		{desc: "relative problem type base", yaml: base + "errors: {problemTypeBaseURL: /errors/}\n", wantKey: "errors.problemTypeBaseURL:"},
		{desc: "problem type base with a query", yaml: base + "errors: {problemTypeBaseURL: \"https://acme.example/e?x=1\"}\n", wantKey: "errors.problemTypeBaseURL:"},
		{desc: "realm with a quote", yaml: base + "auth: {realm: 'a\"b'}\n", wantKey: "auth.realm:"},
		{desc: "identity header with a space", yaml: base, env: []string{"CONTRACTGATE_AUTH_IDENTITYHEADER=X User"}, wantKey: "auth.identityHeader:"},
		{desc: "unknown yaml key", yaml: base + "sever: {addr: x}\n", wantKey: "field sever not found"},
		{desc: "redis store without redis", yaml: base + "rateLimit: {store: redis}\n", wantKey: "rateLimit.store:"},
		{desc: "idempotency on redis without redis", yaml: base + "idempotency: {store: redis}\n", wantKey: "idempotency.store:"},
		{desc: "redis address", yaml: base + "redis: {addrs: [redis]}\n", wantKey: "redis.addrs[0]:"},
		{desc: "redis db in a cluster", yaml: base + "redis: {mode: cluster, addrs: [\"a:1\"], db: 1}\n", wantKey: "redis.db:"},
		{desc: "sentinel without master name", yaml: base + "redis: {mode: sentinel, addrs: [\"a:26379\"]}\n", wantKey: "redis.masterName:"},
		{desc: "redis insecure tls in production", yaml: base + "env: production\nredis: {addrs: [\"a:1\"], tls: {enabled: true, insecureSkipVerify: true}}\n", wantKey: "redis.tls.insecureSkipVerify:"},
		{desc: "the old per-store redis address", yaml: base + "rateLimit: {redis: {addr: \"redis:6379\"}}\n", wantKey: "field addr not found"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.yaml))
			if err == nil {
				err = cfg.ApplyEnv(tt.env)
			}
			if err == nil {
				cfg.SetDefaults()
				err = cfg.Validate()
			}
			if err == nil {
				t.Fatal("want an error, got none")
			}
			if !strings.Contains(err.Error(), tt.wantKey) {
				t.Fatalf("error %q does not name %q", err, tt.wantKey)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := &Config{Env: "x", Log: Log{Level: "loud"}}
	cfg.SetDefaults()
	cfg.Env = "x"
	err := cfg.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("want *FieldError, got %T", err)
	}
	for _, key := range []string{"env:", "log.level:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not mention %s: %v", key, err)
		}
	}
}

func TestProductionRefusesDevCredentials(t *testing.T) {
	_, err := Load("", []string{"CONTRACTGATE_ENV=production"}, fixture(t))
	if err == nil {
		t.Fatal("the demo config must not start in production")
	}
	for _, key := range []string{"auth.jwt.hmacKeys", "auth.apiKeys", "auth.devToken.enabled"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func TestProductionExample(t *testing.T) {
	cfg, err := Parse(mustRead(t, "../../../configs/production.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	err = cfg.Validate()
	// The example names certificate files that exist only on a real host.
	for _, fe := range fieldErrors(err) {
		if !strings.HasPrefix(fe.Path, "server.tls.") {
			t.Errorf("production example: %v", fe)
		}
	}
}

func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	if err == nil {
		return nil
	}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if fe, ok := errors.AsType[*FieldError](e); ok {
				out = append(out, fe)
			}
		}
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is a complete configuration (testdata/gateway.yaml: three upstreams, demo
// credentials), the stand-in for an app's embedded default.
func fixture(t *testing.T) []byte {
	t.Helper()
	return mustRead(t, "testdata/gateway.yaml")
}

// TestWatchConfig: server.watchConfig defaults to true, and false in the file or the
// environment turns it off.
func TestWatchConfig(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		environ []string
		want    bool
	}{
		{desc: "default", want: true},
		{desc: "environment", environ: []string{"CONTRACTGATE_SERVER_WATCHCONFIG=false"}, want: false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			cfg, err := Load("", tc.environ, fixture(t))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Server.WatchConfig == nil || *cfg.Server.WatchConfig != tc.want {
				t.Fatalf("server.watchConfig %v, want %v", cfg.Server.WatchConfig, tc.want)
			}
		})
	}
}
