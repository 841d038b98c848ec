package idempotency

import (
	"errors"
	"fmt"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"time"
)

// Defaults of Config.
const (
	DefaultLease      = 30 * time.Second
	DefaultTTL        = 24 * time.Hour
	DefaultMaxEntries = 100_000
	DefaultMaxBytes   = 64 << 20
	// DefaultMaxEntriesPerCaller and DefaultMaxBytesPerCaller are one caller's quota.
	DefaultMaxEntriesPerCaller = 250
	DefaultMaxBytesPerCaller   = 256 << 10
	DefaultMaxErrorBodyBytes   = 4 << 10
	DefaultRedisKeyPrefix      = "contractgate:idempotency:"
	DefaultRedisTimeout        = time.Second
)

// Config configures the claim/replay middleware (the `idempotency` key of the gateway's
// configuration). The zero value, after SetDefaults, is the in-memory store with the
// defaults below.
type Config struct {
	// Lease is how long a claimed key stays "in flight" (answering 409 to repeats) before an
	// unfinished claim, whose request died with its process, is released. It must exceed the
	// longest time a handler may run (upstream timeouts and retries included), or a slow
	// first request and a retry could both run. Default 30s.
	Lease time.Duration `yaml:"lease"`
	// TTL is how long a final response is kept and replayed, counted from when it was
	// stored. Default 24h.
	TTL time.Duration `yaml:"ttl"`
	// MaxEntries bounds the in-memory store (records, in flight or stored). A live record is
	// never evicted, whoever's: when the store is full (after sweeping expired records), a
	// new claim is refused with 503 UPSTREAM_UNAVAILABLE and Retry-After (when the oldest
	// record expires), and repeats of stored requests are still replayed. Ignored with Redis.
	// Default 100000.
	MaxEntries int `yaml:"maxEntries"`
	// MaxBytes bounds the memory the in-memory store's records take (bodies, headers, keys;
	// approximate), refusing new claims as MaxEntries does. A response stored over a claim
	// may overshoot it by its size (refusing to store it would let a retry run again).
	// Ignored with Redis. Default 67108864 (64 MiB): 256 callers at their full quota.
	MaxBytes int64 `yaml:"maxBytes"`
	// MaxEntriesPerCaller is the quota of records one caller (an authenticated subject; all
	// anonymous callers share one quota) may hold in the in-memory store, so that no caller's
	// traffic can fill the store and deny the others. Over it, an authenticated caller's
	// oldest stored records make room for its new claims (never another caller's); when only
	// its in-flight claims remain, and for the anonymous scope, which evicts nothing, new
	// claims are refused with 429 RATE_LIMIT_EXCEEDED and Retry-After. Size MaxEntries and
	// MaxBytes for the callers active within one TTL times these quotas. Ignored with Redis.
	// Default 250: a caller's oldest records go first, so only a caller retrying a request
	// older than its last 250 keyed ones loses its record.
	MaxEntriesPerCaller int `yaml:"maxEntriesPerCaller"`
	// MaxBytesPerCaller is one caller's quota of MaxBytes, refused as MaxEntriesPerCaller.
	// Ignored with Redis. Default 262144 (256 KiB).
	MaxBytesPerCaller int64 `yaml:"maxBytesPerCaller"`
	// MaxErrorBodyBytes is the largest error (4xx) response body stored. A larger one (a
	// long list of validation details) is not stored and its key is released, as after a
	// 5xx: the operation did not take effect, so a retry that runs it again cannot
	// duplicate it. Successes are always stored, whatever their size. Applies to both
	// stores. Default 4096.
	MaxErrorBodyBytes int `yaml:"maxErrorBodyBytes"`
	// Store is where records live: memory (default; per replica) or redis, shared by every
	// replica through the process's Redis client (the top-level redis block: standalone,
	// Sentinel or Cluster). Every record has a TTL (Lease while in flight, TTL once stored).
	// Redis must run with maxmemory-policy noeviction, on an instance or database of its
	// own: every other policy (volatile-* included: every record has a TTL) evicts live
	// records when memory runs out, and a retry would then run the operation again. The
	// store checks the policy at start-up and logs a warning otherwise. With noeviction,
	// Redis out of memory refuses new claims (503 UPSTREAM_UNAVAILABLE, fail closed), still
	// replays stored records, and still stores the final response of a claim already held.
	Store string `yaml:"store"`
	// Redis tunes the redis store.
	Redis RedisConfig `yaml:"redis"`
	// Observe, when set, is called once per request that takes part, with the operation id
	// and what happened, for metrics. It runs on the request's goroutine, concurrently with
	// other requests: it must be fast and safe for concurrent use. Not configurable in YAML.
	Observe func(operationID string, outcome Outcome) `yaml:"-"`
}

// The stores (Config.Store).
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"
)

// RedisConfig tunes the shared Redis store (Store: redis). A record is one key (claim,
// lease as its expiry, stored answer as its value) and each script touches only that key,
// so records are Redis Cluster safe: one slot each.
type RedisConfig struct {
	// KeyPrefix starts every key the store writes. Default "contractgate:idempotency:".
	KeyPrefix string `yaml:"keyPrefix"`
	// Timeout bounds one store call (connecting, the script, the retry after a dropped
	// connection, and WaitReplicas). When Redis does not answer in time the request fails
	// closed with 503 UPSTREAM_UNAVAILABLE. Default 1s.
	Timeout time.Duration `yaml:"timeout"`
	// WaitReplicas, when above 0, makes claims and stored answers durable across a failover
	// (Sentinel, or a Cluster with replicas): after each write the store waits (Redis WAIT,
	// within Timeout) until that many replicas have it. A claim fewer replicas acknowledged
	// is released and refused (503 UPSTREAM_UNAVAILABLE with Retry-After: fail closed), so
	// a promoted replica never lacks a claim whose request reached the upstream. It needs
	// that many live replicas: with fewer, keyed requests are refused. Default 0 (Redis's
	// asynchronous replication: a failover may lose the last writes, and a retry of such a
	// key may run the operation again).
	WaitReplicas int `yaml:"waitReplicas"`
}

// Outcome is what the middleware did with one request, as reported to Config.Observe.
type Outcome string

// The outcomes.
const (
	// OutcomeStored: the handler ran and its final (2xx-4xx) response was stored.
	OutcomeStored Outcome = "stored"
	// OutcomeReleased: the handler ran and failed with a 5xx (or the client went away, or
	// its error body was over MaxErrorBodyBytes); the key was released so that the client
	// may retry.
	OutcomeReleased Outcome = "released"
	// OutcomeReplayed: a stored response was replayed without calling the handler.
	OutcomeReplayed Outcome = "replayed"
	// OutcomeInFlight: 409, the first request with this key is still running.
	OutcomeInFlight Outcome = "in_flight"
	// OutcomeReused: 422, the key was used before with a different request.
	OutcomeReused Outcome = "reused"
	// OutcomeLeaseExpired: the handler outlived the lease and another request claimed the
	// key meanwhile (both ran); this response was not stored. Raise the lease.
	OutcomeLeaseExpired Outcome = "lease_expired"
	// OutcomeFull: the store had no room for a new claim (the caller's quota or the whole
	// store, or Redis out of memory); the request was refused with 429 or 503.
	OutcomeFull Outcome = "full"
	// OutcomeStoreError: the store failed; the request was refused with 503 (claim), or its
	// response could not be recorded (finish).
	OutcomeStoreError Outcome = "store_error"
)

// ConfigError is a configuration problem at a key path relative to Config, such as "lease"
// or "redis.timeout".
type ConfigError = configerr.FieldError

// SetDefaults fills every unset field with its documented default.
func (c *Config) SetDefaults() {
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.MaxEntries == 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxEntriesPerCaller == 0 {
		c.MaxEntriesPerCaller = DefaultMaxEntriesPerCaller
	}
	if c.MaxBytesPerCaller == 0 {
		c.MaxBytesPerCaller = DefaultMaxBytesPerCaller
	}
	if c.MaxErrorBodyBytes == 0 {
		c.MaxErrorBodyBytes = DefaultMaxErrorBodyBytes
	}
	if c.Store == "" {
		c.Store = StoreMemory
	}
	if c.Redis.KeyPrefix == "" {
		c.Redis.KeyPrefix = DefaultRedisKeyPrefix
	}
	if c.Redis.Timeout == 0 {
		c.Redis.Timeout = DefaultRedisTimeout
	}
}

// Validate checks a defaulted Config and returns every problem found, each a *ConfigError
// (joined with errors.Join), or nil.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	// Redis expires keys with millisecond precision (PX).
	if c.Lease < time.Millisecond {
		bad("lease", "must be at least 1ms, got %s", c.Lease)
	}
	if c.TTL < time.Millisecond {
		bad("ttl", "must be at least 1ms, got %s", c.TTL)
	}
	if c.MaxBytes < 1<<20 {
		bad("maxBytes", "must be at least 1048576, got %d", c.MaxBytes)
	}
	if c.MaxEntries < 1 {
		bad("maxEntries", "must be at least 1, got %d", c.MaxEntries)
	}
	if c.MaxEntriesPerCaller < 1 || (c.MaxEntries >= 1 && c.MaxEntriesPerCaller > c.MaxEntries) {
		bad("maxEntriesPerCaller", "must be between 1 and maxEntries (%d), got %d", c.MaxEntries, c.MaxEntriesPerCaller)
	}
	if c.MaxBytesPerCaller < 64<<10 || (c.MaxBytes >= 1<<20 && c.MaxBytesPerCaller > c.MaxBytes) {
		bad("maxBytesPerCaller", "must be between 65536 and maxBytes (%d), got %d", c.MaxBytes, c.MaxBytesPerCaller)
	}
	if c.MaxErrorBodyBytes < 512 {
		bad("maxErrorBodyBytes", "must be at least 512, got %d", c.MaxErrorBodyBytes)
	}
	r := c.Redis
	if c.Store != StoreMemory && c.Store != StoreRedis {
		bad("store", "must be %q or %q, got %q", StoreMemory, StoreRedis, c.Store)
	}
	if r.WaitReplicas < 0 {
		bad("redis.waitReplicas", "must not be negative, got %d", r.WaitReplicas)
	}
	if r.Timeout <= 0 {
		bad("redis.timeout", "must be a positive duration, got %s", r.Timeout)
	}
	return errors.Join(errs...)
}
