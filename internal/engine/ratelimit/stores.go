package ratelimit

import (
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"
)

// Stores is the state of rate limiting that outlives one configuration: the decision stores
// of the limits and of the failed-authentication budget (memory, or Redis with its local
// fallback), the deny list of blocked addresses, and the key seeds of every policy name. A
// Limiter and an AuthGuard built WithStores use them instead of their own, so that a
// configuration reload (new policies, new trusted proxies) keeps every caller's budget:
// a caller at its quota before the reload is still at it after. Only the store settings
// (Config.MaxKeys, Config.Store, Config.Redis) are fixed by NewStores (see Compatible). Safe for
// concurrent use.
type Stores struct {
	maxKeys int
	store   string
	redis   Redis
	limits  store
	guard   store
	blocked *memoryStore
	closers []*closer

	mu    sync.Mutex
	seeds map[string][2]maphash.Seed
}

// NewStores builds the stores of cfg (defaulted, as config.Load does): in memory, bounded by
// cfg.MaxKeys, or shared through the Redis client WithRedis gives (cfg.Store: redis) with
// cfg.Hooks.OnFallback told of every local decision. Close releases them (sweeps, Redis connections).
func NewStores(cfg Config, logger *slog.Logger, opts ...Option) (*Stores, error) {
	if logger == nil {
		return nil, errors.New("ratelimit: NewStores needs a logger")
	}
	return newStores(cfg, logger, applyOptions(options{now: monotonic(), probeInterval: time.Second}, opts))
}

func newStores(cfg Config, logger *slog.Logger, o options) (*Stores, error) {
	s := &Stores{maxKeys: cfg.MaxKeys, store: cfg.Store, redis: cfg.Redis, seeds: map[string][2]maphash.Seed{}}
	limits, cl, err := newStore(cfg, logger, o)
	if err != nil {
		return nil, err
	}
	s.limits = limits
	s.blocked = newMemoryStore(cfg.MaxKeys, o.now)
	guard, gcl, err := newStore(cfg, logger, o, s.blocked)
	if err != nil {
		_ = cl.Close()
		return nil, err
	}
	s.guard = guard
	s.closers = []*closer{cl, gcl}
	return s, nil
}

// Compatible reports whether a Limiter or AuthGuard of cfg can use the stores: the same
// MaxKeys, Store and Redis settings. Other settings may differ.
func (s *Stores) Compatible(cfg Config) bool {
	return s.maxKeys == cfg.MaxKeys && s.store == cfg.Store && s.redis == cfg.Redis
}

// seedsOf returns the key seeds of the policy named name, the same for the life of the
// stores.
func (s *Stores) seedsOf(name string) [2]maphash.Seed {
	s.mu.Lock()
	defer s.mu.Unlock()
	sd, ok := s.seeds[name]
	if !ok {
		sd = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
		s.seeds[name] = sd
	}
	return sd
}

// Close stops the background work and closes Redis connections. Safe to call twice.
func (s *Stores) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// errIncompatible is New's and NewAuthGuard's answer to stores of other settings.
var errIncompatible = errors.New("ratelimit: the shared stores have other maxKeys or redis settings")

// WithStores makes the step keep its state in st (see Stores) instead of stores of its own;
// its Close then leaves st open. cfg's MaxKeys and Redis must be st's (Stores.Compatible).
func WithStores(st *Stores) Option { return func(o *options) { o.stores = st } }
