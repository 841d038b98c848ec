package auth

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const goodSecret = "0123456789abcdef0123456789abcdef" // 32 bytes

func validConfig() Config {
	return Config{
		JWT: JWT{
			HMACKeys: []HMACKey{{KID: "k1", Secret: goodSecret}},
			Issuer:   "iss",
			Audience: "aud",
		},
		APIKeys: []APIKey{{ID: "a", Owner: "alice", SHA256: DemoAPIKeySHA256, Scopes: []string{"orders:read"}}},
	}
}

func TestSetDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		cfg      Config
		wantAlgs []string
	}{
		{"nothing configured", Config{}, nil},
		{"hmac keys", Config{JWT: JWT{HMACKeys: []HMACKey{{Secret: goodSecret}}}}, []string{"HS256"}},
		{"jwks", Config{JWT: JWT{JWKS: JWKS{URL: "https://idp/jwks"}}}, []string{"RS256", "ES256"}},
		{"both", Config{JWT: JWT{HMACKeys: []HMACKey{{Secret: goodSecret}}, JWKS: JWKS{File: "x"}}}, []string{"HS256", "RS256", "ES256"}},
		{"pinned stays", Config{JWT: JWT{JWKS: JWKS{File: "x"}, Algorithms: []string{"PS256"}}}, []string{"PS256"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := tt.cfg
			c.SetDefaults()
			if !slices.Equal(c.JWT.Algorithms, tt.wantAlgs) {
				t.Errorf("algorithms %v, want %v", c.JWT.Algorithms, tt.wantAlgs)
			}
			j := c.JWT
			if j.ClockSkew != 30*time.Second || j.MaxTokenBytes != 8192 || j.JWKS.RefreshInterval != 15*time.Minute ||
				j.JWKS.RefreshRateLimit != time.Minute || j.JWKS.Timeout != 5*time.Second || j.JWKS.MaxBytes != 1<<20 || c.DevToken.TTL != time.Hour {
				t.Errorf("defaults %+v %+v", j, c.DevToken)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		edit       func(*Config)
		production bool
		want       []string // every "path: problem" expected (substrings, in order)
	}{
		{desc: "valid", edit: func(*Config) {}},
		{desc: "empty config", edit: func(c *Config) { *c = Config{} }},
		{desc: "issuer and audience required", edit: func(c *Config) { c.JWT.Issuer, c.JWT.Audience = "", "" },
			want: []string{"jwt.issuer: is required", "jwt.audience: is required"}},
		{desc: "short secret", edit: func(c *Config) { c.JWT.HMACKeys[0].Secret = "short" },
			want: []string{"jwt.hmacKeys[0].secret: must be at least 32 bytes, got 5"}},
		{desc: "no secret", edit: func(c *Config) { c.JWT.HMACKeys[0].Secret = "" },
			want: []string{"jwt.hmacKeys[0]: secret or secretEnv is required"}},
		{desc: "secret and secretEnv", edit: func(c *Config) { c.JWT.HMACKeys[0].SecretEnv = "X" },
			want: []string{"jwt.hmacKeys[0]: set secret or secretEnv, not both"}},
		{desc: "secretEnv unset", edit: func(c *Config) { c.JWT.HMACKeys[0] = HMACKey{SecretEnv: "CONTRACTGATE_TEST_SURELY_UNSET"} },
			want: []string{"jwt.hmacKeys[0]: secretEnv: environment variable CONTRACTGATE_TEST_SURELY_UNSET is not set"}},
		{desc: "duplicate kid", edit: func(c *Config) { c.JWT.HMACKeys = append(c.JWT.HMACKeys, HMACKey{KID: "k1", Secret: goodSecret + "x"}) },
			want: []string{`jwt.hmacKeys[1].kid: duplicate kid "k1"`}},
		{desc: "alg none", edit: func(c *Config) { c.JWT.Algorithms = []string{"HS256", "none"} },
			want: []string{`jwt.algorithms[1]: "none" is never accepted`}},
		{desc: "RS256 without jwks", edit: func(c *Config) { c.JWT.Algorithms = []string{"RS256"} },
			want: []string{"jwt.algorithms[0]: RS256 requires jwt.jwks"}},
		{desc: "HS256 without hmac keys", edit: func(c *Config) {
			c.JWT.HMACKeys, c.JWT.JWKS.URL, c.JWT.Algorithms = nil, "https://idp/jwks", []string{"HS256"}
		}, want: []string{"jwt.algorithms[0]: HS256 requires jwt.hmacKeys"}},
		{desc: "unknown alg", edit: func(c *Config) { c.JWT.Algorithms = []string{"HS1"} },
			want: []string{`jwt.algorithms[0]: unknown algorithm "HS1"`}},
		{desc: "jwks url and file", edit: func(c *Config) { c.JWT.JWKS.URL, c.JWT.JWKS.File = "https://idp/jwks", "f" },
			want: []string{"jwt.jwks: set url or file, not both"}},
		{desc: "jwks url not absolute", edit: func(c *Config) { c.JWT.JWKS.URL = "/jwks" },
			want: []string{`jwt.jwks.url: must be an absolute http or https URL, got "/jwks"`}},
		{desc: "clock skew too large", edit: func(c *Config) { c.JWT.ClockSkew = 6 * time.Minute },
			want: []string{"jwt.clockSkew: must be between 0 and 5m0s, got 6m0s"}},
		{desc: "token cap too small", edit: func(c *Config) { c.JWT.MaxTokenBytes = 10 },
			want: []string{"jwt.maxTokenBytes: must be between 512 and 65536, got 10"}},
		{desc: "negative refresh", edit: func(c *Config) { c.JWT.JWKS.RefreshInterval = -time.Second },
			want: []string{"jwt.jwks.refreshInterval: must be a positive duration"}},
		{desc: "api key problems", edit: func(c *Config) {
			c.APIKeys = append(c.APIKeys,
				APIKey{ID: "a", Owner: "", SHA256: "demo-key-alice-0123456789abcdef"},
				APIKey{ID: "", Owner: "bob", SHA256: strings.ToUpper(DemoAPIKeySHA256), Scopes: []string{"a b"}})
		}, want: []string{
			`apiKeys[1].id: duplicate id "a"`, `apiKeys[1].owner: must be 1 to 256 printable characters`,
			"apiKeys[1].sha256: must be 64 hex digits", "apiKeys[2].id: is required", "apiKeys[2].sha256: duplicate key",
			`apiKeys[2].scopes[0]: must be printable, without spaces, got "a b"`,
		}},
		{desc: "dev token needs an hmac key", edit: func(c *Config) {
			c.JWT.HMACKeys, c.JWT.JWKS.URL, c.DevToken.Enabled = nil, "https://idp/jwks", true
		}, want: []string{"devToken.enabled: requires jwt.hmacKeys"}},
		{desc: "dev token ttl", edit: func(c *Config) { c.DevToken.TTL = 48 * time.Hour },
			want: []string{"devToken.ttl: must be positive and at most 24h0m0s, got 48h0m0s"}},
		{desc: "development allows the demo credentials", edit: func(c *Config) {
			c.JWT.HMACKeys[0].Secret, c.DevToken.Enabled, c.JWT.JWKS.URL = DevHMACSecret, true, "http://127.0.0.1/jwks"
		}},
		{desc: "production refuses the demo credentials", production: true, edit: func(c *Config) {
			c.JWT.HMACKeys[0].Secret, c.DevToken.Enabled, c.JWT.JWKS.URL = DevHMACSecret, true, "http://idp/jwks"
		}, want: []string{
			"jwt.hmacKeys[0].secret: is the public development secret, refused when env is production",
			"jwt.jwks.url: must be https when env is production",
			"apiKeys[0].sha256: is the public demo key, refused when env is production",
			"devToken.enabled: must be false when env is production",
		}},
		{desc: "jwks tls problems", production: true, edit: func(c *Config) {
			c.JWT.JWKS.URL = "https://idp/jwks"
			c.JWT.JWKS.TLS.InsecureSkipVerify, c.JWT.JWKS.TLS.CertFile = true, "client.crt"
			c.APIKeys = nil
		}, want: []string{
			"jwt.jwks.tls.certFile: certFile and keyFile must be set together",
			"jwt.jwks.tls.insecureSkipVerify: must be false when env is production",
		}},
		{desc: "product names", edit: func(c *Config) { c.Realm, c.IdentityHeader = "acme", "X-User-Id" }},
		{desc: "realm that would break the challenge", edit: func(c *Config) { c.Realm = `a" error="x` },
			want: []string{"realm: must be 1 to 128 printable ASCII characters"}},
		{desc: "identity header that is no header name", edit: func(c *Config) { c.IdentityHeader = "X User: id" },
			want: []string{`identityHeader: must be an HTTP header name (a token, e.g. X-User-Id), got "X User: id"`}},
		{desc: "production with real credentials", production: true, edit: func(c *Config) {
			c.APIKeys[0].SHA256 = HashAPIKey("a real key")
			c.JWT.JWKS.URL = "https://idp/jwks"
			c.JWT.Algorithms = []string{"HS256", "ES256"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.edit(&c)
			c.SetDefaults()
			err := c.Validate(tt.production)
			fes := FieldErrors(err)
			if len(fes) != len(tt.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(fes), len(tt.want), err)
			}
			for i, fe := range fes {
				if !strings.Contains(fe.Error(), tt.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, fe.Error(), tt.want[i])
				}
			}
		})
	}
}

// TestSecretEnv cannot run in parallel: it sets an environment variable.
func TestSecretEnv(t *testing.T) {
	t.Setenv("CONTRACTGATE_TEST_HMAC", goodSecret+"-from-env")
	c := validConfig()
	c.JWT.HMACKeys[0] = HMACKey{SecretEnv: "CONTRACTGATE_TEST_HMAC"}
	c.SetDefaults()
	if err := c.Validate(false); err != nil {
		t.Fatal(err)
	}
	s, err := c.JWT.HMACKeys[0].secret()
	if err != nil || string(s) != goodSecret+"-from-env" {
		t.Fatalf("secret %q, %v", s, err)
	}
	t.Setenv("CONTRACTGATE_TEST_HMAC", "short")
	if err := c.Validate(false); err == nil || !strings.Contains(err.Error(), "jwt.hmacKeys[0].secret: must be at least 32 bytes") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestDemoConstants(t *testing.T) {
	t.Parallel()
	if HashAPIKey("demo-key-alice-0123456789abcdef") != DemoAPIKeySHA256 {
		t.Fatal("DemoAPIKeySHA256 is not the hash of the demo key")
	}
	if len(DevHMACSecret) < MinHMACSecretBytes {
		t.Fatal("DevHMACSecret is too short")
	}
}
