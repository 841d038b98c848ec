package redisclient_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/configerr"
	"github.com/contractgate/contractgate/internal/engine/redisclient"
	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
	"github.com/contractgate/contractgate/internal/tooling/redistest"
)

func TestModeInferred(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc string
		cfg  redisclient.Config
		want string
	}{
		{"none", redisclient.Config{}, ""},
		{"one address", redisclient.Config{Addrs: []string{"redis:6379"}}, redisclient.ModeStandalone},
		{"several addresses", redisclient.Config{Addrs: []string{"a:6379", "b:6379"}}, redisclient.ModeCluster},
		{"a master name", redisclient.Config{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "m"}, redisclient.ModeSentinel},
		{"explicit", redisclient.Config{Mode: redisclient.ModeCluster, Addrs: []string{"cfg:6379"}}, redisclient.ModeCluster},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := tt.cfg
			c.SetDefaults()
			if c.Mode != tt.want || c.Timeout != time.Second || c.DialTimeout != time.Second {
				t.Fatalf("mode %q timeouts %s %s; want %q, 1s, 1s", c.Mode, c.Timeout, c.DialTimeout, tt.want)
			}
			if err := c.Validate(true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc string
		cfg  redisclient.Config
		want []string
	}{
		{"a master name without addresses", redisclient.Config{MasterName: "m"}, []string{"addrs"}},
		{"bad address", redisclient.Config{Addrs: []string{"redis"}}, []string{"addrs[0]"}},
		{"unknown mode", redisclient.Config{Mode: "ring", Addrs: []string{"a:1"}}, []string{"mode"}},
		{"standalone with two addresses", redisclient.Config{Mode: redisclient.ModeStandalone, Addrs: []string{"a:1", "b:1"}}, []string{"addrs"}},
		{"sentinel without master name", redisclient.Config{Mode: redisclient.ModeSentinel, Addrs: []string{"a:1"}}, []string{"masterName"}},
		{"cluster with a db", redisclient.Config{Addrs: []string{"a:1", "b:1"}, DB: 2}, []string{"db"}},
		{"master name outside sentinel", redisclient.Config{Mode: redisclient.ModeCluster, Addrs: []string{"a:1"}, MasterName: "m", SentinelPassword: "x"},
			[]string{"masterName", "sentinelPassword"}},
		{"numbers", redisclient.Config{Addrs: []string{"a:1"}, DB: -1, DialTimeout: -1, Timeout: -1, PoolSize: -1},
			[]string{"db", "dialTimeout", "timeout", "poolSize"}},
		{"TLS, verified", redisclient.Config{Addrs: []string{"a:1"},
			TLS: redisclient.TLS{Enabled: true}}, nil},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := tt.cfg
			c.SetDefaults()
			var got []string
			for _, fe := range configerr.List(c.Validate(true)) {
				got = append(got, fe.Path)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("paths %v, want %v", got, tt.want)
			}
		})
	}
	c := redisclient.Config{Addrs: []string{"a:1"}}
	c.TLS.Enabled, c.TLS.InsecureSkipVerify = true, true
	c.SetDefaults()
	if fes := configerr.List(c.Validate(true)); len(fes) != 1 || fes[0].Path != "tls.insecureSkipVerify" {
		t.Fatalf("insecureSkipVerify in production: %v", fes)
	}
}

// TestNewPerMode: each mode builds its go-redis client, which reaches the real topology.
func TestNewPerMode(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	standalone := redistest.Start(t)
	cluster := redistest.StartCluster(t, 3)
	for _, tt := range []struct {
		desc string
		cfg  redisclient.Config
		ok   func(redis.UniversalClient) bool
	}{
		{"standalone", redisclient.Config{Addrs: []string{standalone.Addr}, DB: 3},
			func(c redis.UniversalClient) bool { _, ok := c.(*redis.Client); return ok }},
		{"cluster", redisclient.Config{Addrs: cluster.Addrs[:1], Mode: redisclient.ModeCluster},
			func(c redis.UniversalClient) bool { _, ok := c.(*redis.ClusterClient); return ok }},
	} {
		c := tt.cfg
		c.SetDefaults()
		client, err := redisclient.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if !tt.ok(client) {
			t.Errorf("%s: client %T", tt.desc, client)
		}
		for i := range 20 { // keys on every master of the cluster
			if err := client.Set(ctx, tt.desc+string(rune('a'+i)), "v", time.Minute).Err(); err != nil {
				t.Errorf("%s: SET: %v", tt.desc, err)
			}
		}
		_ = client.Close()
	}
	if _, err := redisclient.New(redisclient.Config{}); err == nil {
		t.Error("New without addresses: no error")
	}
}

// TestTLSAndAuth: a TLS-only Redis requiring a password is reached with the configured CA and
// password, and refused without TLS, with the system roots, or with a wrong password.
func TestTLSAndAuth(t *testing.T) {
	t.Parallel()
	srv, ca := redistest.StartTLS(t, "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	good := redisclient.Config{Addrs: []string{srv.Addr}, Password: "s3cret",
		TLS: redisclient.TLS{Enabled: true, ClientConfig: tlsconfig.ClientConfig{CAFile: ca}}}
	for _, tt := range []struct {
		desc   string
		mutate func(*redisclient.Config)
		ok     bool
	}{
		{"TLS with the CA and the password", func(*redisclient.Config) {}, true},
		{"without TLS", func(c *redisclient.Config) { c.TLS = redisclient.TLS{} }, false},
		{"the system roots", func(c *redisclient.Config) { c.TLS.CAFile = "" }, false},
		{"a wrong password", func(c *redisclient.Config) { c.Password = "guess" }, false},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			c.DialTimeout, c.Timeout = 2*time.Second, 2*time.Second
			c.SetDefaults()
			client, err := redisclient.New(c)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = client.Close() }()
			err = client.Set(ctx, "k", "v", time.Minute).Err()
			if (err == nil) != tt.ok {
				t.Fatalf("SET: %v, want ok %v", err, tt.ok)
			}
		})
	}
}
