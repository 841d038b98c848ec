package idempotency

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	var c Config
	c.SetDefaults()
	if c.Lease != 30*time.Second || c.TTL != 24*time.Hour || c.MaxEntries != 100_000 ||
		c.MaxBytes != 64<<20 || c.MaxEntriesPerCaller != 250 || c.MaxBytesPerCaller != 256<<10 || c.MaxErrorBodyBytes != 4096 ||
		c.Store != StoreMemory || c.Redis.KeyPrefix != "contractgate:idempotency:" || c.Redis.Timeout != time.Second {
		t.Fatalf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		mutate func(*Config)
		want   []string // the key paths reported
	}{
		{"lease", func(c *Config) { c.Lease = -time.Second }, []string{"lease"}},
		{"ttl below a millisecond", func(c *Config) { c.TTL = time.Microsecond }, []string{"ttl"}},
		{"maxEntries", func(c *Config) { c.MaxEntries = -1 }, []string{"maxEntries"}},
		{"caller quotas over the store's", func(c *Config) { c.MaxEntriesPerCaller = c.MaxEntries + 1; c.MaxBytesPerCaller = c.MaxBytes + 1 },
			[]string{"maxEntriesPerCaller", "maxBytesPerCaller"}},
		{"caller quotas too small", func(c *Config) { c.MaxEntriesPerCaller = -1; c.MaxBytesPerCaller = 1; c.MaxErrorBodyBytes = 1 },
			[]string{"maxEntriesPerCaller", "maxBytesPerCaller", "maxErrorBodyBytes"}},
		{"unknown store", func(c *Config) { c.Store = "valkey" }, []string{"store"}},
		{"redis replicas and timeout", func(c *Config) { c.Redis.WaitReplicas = -1; c.Redis.Timeout = -time.Second }, []string{"redis.waitReplicas", "redis.timeout"}},
		{"redis store ok", func(c *Config) { c.Store, c.Redis.WaitReplicas = StoreRedis, 1 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var c Config
			c.SetDefaults()
			tt.mutate(&c)
			err := c.Validate()
			var got []string
			for _, e := range unjoin(err) {
				ce, ok := errors.AsType[*ConfigError](e)
				if !ok {
					t.Fatalf("%v is not a *ConfigError", e)
				}
				got = append(got, ce.Path)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("paths %v, want %v (%v)", got, tt.want, err)
			}
		})
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
