package ratelimit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/ratelimit"
)

func TestSetDefaults(t *testing.T) {
	t.Parallel()
	var c ratelimit.Config
	c.SetDefaults()
	if c.Default != (ratelimit.Policy{Requests: 100, Window: time.Minute, Burst: 100}) || c.MaxKeys != 1_000_000 ||
		c.ForwardedHeader != "X-Forwarded-For" || c.IPv6PrefixLength != 64 || c.Store != ratelimit.StoreMemory || c.Redis.Timeout != 50*time.Millisecond {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c = ratelimit.Config{Default: ratelimit.Policy{Requests: 600}, Store: ratelimit.StoreRedis}
	c.SetDefaults()
	if c.Default.Burst != 600 || c.Default.Window != time.Minute || c.Redis.Timeout != 50*time.Millisecond {
		t.Fatalf("burst follows requests, redis timeout defaults: %+v", c)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		mutate func(*ratelimit.Config)
		paths  []string
	}{
		{"zero requests after defaults", func(c *ratelimit.Config) { c.Default.Requests = -1 }, []string{"default.requests"}},
		{"window not whole seconds", func(c *ratelimit.Config) { c.Default.Window = 1500 * time.Millisecond }, []string{"default.window"}},
		{"burst above requests", func(c *ratelimit.Config) { c.Default.Burst = 101 }, []string{"default.burst"}},
		{"bad proxy", func(c *ratelimit.Config) { c.TrustedProxies = []string{"10.0.0.0/8", "proxy.internal", "10.0.0.0/33"} }, []string{"trustedProxies[1]", "trustedProxies[2]"}},
		{"header", func(c *ratelimit.Config) { c.ForwardedHeader = "X-Real-IP" }, []string{"forwardedHeader"}},
		{"ipv6 prefix", func(c *ratelimit.Config) { c.IPv6PrefixLength = 129 }, []string{"ipv6PrefixLength"}},
		{"max keys", func(c *ratelimit.Config) { c.MaxKeys = 10 }, []string{"maxKeys"}},
		{"redis", func(c *ratelimit.Config) { c.Store, c.Redis = "valkey", ratelimit.Redis{Timeout: -1} }, []string{"store", "redis.timeout"}},
		{"valid proxies", func(c *ratelimit.Config) {
			c.TrustedProxies = []string{"10.0.0.1", "fd00::/8", "::ffff:192.168.0.0/112"}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var c ratelimit.Config
			c.SetDefaults()
			tt.mutate(&c)
			err := c.Validate()
			fes, _ := errors.AsType[ratelimit.FieldErrors](err)
			var got []string
			for _, fe := range fes {
				got = append(got, fe.Path)
			}
			if len(got) != len(tt.paths) || (err == nil) != (tt.paths == nil) {
				t.Fatalf("Validate: %v; want problems at %v", err, tt.paths)
			}
			for i := range got {
				if got[i] != tt.paths[i] {
					t.Fatalf("Validate: %v; want problems at %v", err, tt.paths)
				}
			}
		})
	}
}
