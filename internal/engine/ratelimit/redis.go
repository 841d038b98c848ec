package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// redisStore keeps limits in Redis (shared by every replica) and falls back to a local
// memoryStore while Redis fails: fail open, one log line per outage, back on Redis as soon
// as a probe (at most one per probeInterval) answers. Safe for concurrent use.
type redisStore struct {
	client        redis.UniversalClient // shared with the process's other stores: not closed here
	limiter       *redis_rate.Limiter
	local         *memoryStore
	timeout       time.Duration
	probeInterval time.Duration
	logger        *slog.Logger
	onFallback    func()

	// down is read on every request; mu orders the transitions and Close.
	down   atomic.Bool
	mu     sync.Mutex
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

func newRedisStore(client redis.UniversalClient, cfg Redis, local *memoryStore, logger *slog.Logger, onFallback func(), probeInterval time.Duration) *redisStore {
	return &redisStore{
		client:        client,
		limiter:       redis_rate.NewLimiter(client),
		local:         local,
		timeout:       cfg.Timeout,
		probeInterval: probeInterval,
		logger:        logger.With("store", "redis"),
		onFallback:    onFallback,
		done:          make(chan struct{}),
	}
}

// start checks Redis once, so that a replica started during an outage limits locally from
// its first request instead of paying the timeout.
func (s *redisStore) start() {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		s.markDown(err)
	}
}

func (s *redisStore) allow(ctx context.Context, p *policy, k clientKey) decision {
	if !s.down.Load() {
		// Detached from the request: a client that hangs up must not look like an outage.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		res, err := s.limiter.Allow(rctx, k.redisKey(p), p.limit)
		cancel()
		if err == nil {
			return fromResult(res)
		}
		s.markDown(err)
	}
	if s.onFallback != nil {
		s.onFallback()
	}
	return s.local.allow(ctx, p, k)
}

func fromResult(r *redis_rate.Result) decision {
	d := decision{
		allowed:    r.Allowed > 0,
		remaining:  int64(max(r.Remaining, 0)),
		resetAfter: max(r.ResetAfter, 0),
	}
	if !d.allowed {
		d.retryAfter = max(r.RetryAfter, 0)
	}
	return d
}

// markDown switches to the local limiter, logs once and starts the probe, unless already
// down or closed.
func (s *redisStore) markDown(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.down.Load() {
		return
	}
	s.down.Store(true)
	s.logger.Warn("rate limit store unavailable; limiting locally (per replica) until it answers",
		"error", err.Error(), "probeInterval", s.probeInterval.String())
	s.wg.Add(1)
	go s.probe()
}

// probe pings Redis every probeInterval until it answers, then switches back to it.
func (s *redisStore) probe() {
	defer s.wg.Done()
	t := time.NewTicker(s.probeInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		err := s.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			s.mu.Lock()
			s.down.Store(false)
			s.logger.Info("rate limit store available again; limits are shared")
			s.mu.Unlock()
			return
		}
	}
}

// Close stops the probe; the shared client stays open. Safe to call twice.
func (s *redisStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
