package ratelimit

import (
	"context"
	"sync"
	"time"
)

// numShards is the number of independently locked parts of the in-memory store.
const numShards = 64

// sampleSize is how many entries a full shard inspects to choose one to evict.
const sampleSize = 16

// sweepInterval is how often the in-memory store drops expired entries.
const sweepInterval = time.Minute

// memoryStore is GCRA over a sharded map of 64-bit keyed hash -> theoretical arrival time
// (TAT, nanoseconds on a monotonic clock). An entry whose TAT is not in the future is as good
// as absent: it is dropped by the periodic sweep or when its shard needs room. Each shard
// holds at most maxKeys/64 entries. Safe for concurrent use.
//
// Keys are hashed with a per-process random seed per policy and kind (see policy.seeds), so
// an entry costs the same whatever the key's length; two clients share a budget only on a
// 64-bit hash collision (probability about n²/2⁶⁵: 3·10⁻⁸ at a million keys), which an
// attacker cannot aim for without the seed.
type memoryStore struct {
	shards   [numShards]shard
	shardCap int
	// now is a monotonic clock in nanoseconds.
	now func() int64
}

type shard struct {
	mu  sync.Mutex
	tat map[uint64]int64
	// peak is the largest size since the map was last rebuilt (Go maps never shrink).
	peak int
	_    [40]byte // keep shards on separate cache lines
}

// decision is the outcome of one request against one policy.
type decision struct {
	allowed bool
	// remaining is how many more requests would be allowed right now.
	remaining int64
	// retryAfter is the time until one more request is allowed (0 when allowed).
	retryAfter time.Duration
	// resetAfter is the time until the quota is fully restored.
	resetAfter time.Duration
}

func newMemoryStore(maxKeys int, now func() int64) *memoryStore {
	m := &memoryStore{shardCap: max(1, maxKeys/numShards), now: now}
	for i := range m.shards {
		m.shards[i].tat = map[uint64]int64{}
	}
	return m
}

// monotonic returns a clock of nanoseconds since its creation, immune to wall-clock jumps.
func monotonic() func() int64 {
	start := time.Now()
	return func() int64 { return int64(time.Since(start)) }
}

func (m *memoryStore) allow(_ context.Context, p *policy, k clientKey) decision {
	return m.allowHash(p, k.hash(p))
}

// allowHash is the GCRA step for key h: allocation-free for an existing key.
func (m *memoryStore) allowHash(p *policy, h uint64) decision {
	now := m.now()
	s := &m.shards[h%numShards]
	s.mu.Lock()
	stored, exists := s.tat[h]
	tat := max(stored, now)
	newTAT := tat + p.interval
	if newTAT-now > p.tolerance {
		s.mu.Unlock()
		return decision{
			retryAfter: time.Duration(newTAT - p.tolerance - now),
			resetAfter: time.Duration(tat - now),
		}
	}
	if !exists && len(s.tat) >= m.shardCap {
		s.evict(now)
	}
	s.tat[h] = newTAT
	if n := len(s.tat); n > s.peak {
		s.peak = n
	}
	s.mu.Unlock()
	return decision{
		allowed:    true,
		remaining:  (p.tolerance - (newTAT - now)) / p.interval,
		resetAfter: time.Duration(newTAT - now),
	}
}

// block marks h as blocked for d from now (a later mark already there is kept). Used as a
// deny list (see AuthGuard), its entries hold the end of the block instead of a TAT, and
// expire, are swept and evicted the same way.
func (m *memoryStore) block(h uint64, d time.Duration) {
	now := m.now()
	until := now + int64(d)
	s := &m.shards[h%numShards]
	s.mu.Lock()
	stored, exists := s.tat[h]
	if until > stored {
		if !exists && len(s.tat) >= m.shardCap {
			s.evict(now)
		}
		s.tat[h] = until
		if n := len(s.tat); n > s.peak {
			s.peak = n
		}
	}
	s.mu.Unlock()
}

// blockedFor returns how long h stays blocked (see block), 0 when it is not.
func (m *memoryStore) blockedFor(h uint64) time.Duration {
	s := &m.shards[h%numShards]
	s.mu.Lock()
	until := s.tat[h]
	s.mu.Unlock()
	return time.Duration(max(0, until-m.now()))
}

// evict makes room in a full shard: it inspects up to sampleSize entries (Go randomises where
// map iteration starts), drops the expired ones, and when none was expired drops the one
// closest to expiry, forgiving that client's remaining debt. The periodic sweep does the bulk
// of the work; this bounds memory when keys arrive faster than they expire. Caller holds mu.
func (s *shard) evict(now int64) {
	var victim uint64
	var oldest int64
	seen, dropped, found := 0, false, false
	for h, tat := range s.tat {
		switch {
		case tat <= now:
			delete(s.tat, h)
			dropped = true
		case !found || tat < oldest:
			victim, oldest, found = h, tat, true
		}
		if seen++; seen == sampleSize {
			break
		}
	}
	if !dropped && found {
		delete(s.tat, victim)
	}
}

// sweep drops every expired entry, shard by shard, and rebuilds a shard's map when it holds
// less than a quarter of its peak, so that memory is returned after a burst of clients.
func (m *memoryStore) sweep() {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		now := m.now()
		for h, tat := range s.tat {
			if tat <= now {
				delete(s.tat, h)
			}
		}
		if n := len(s.tat); s.peak >= 128 && n < s.peak/4 {
			fresh := make(map[uint64]int64, n)
			for h, tat := range s.tat {
				fresh[h] = tat
			}
			s.tat, s.peak = fresh, n
		}
		s.mu.Unlock()
	}
}

// len returns the number of entries, expired ones included.
func (m *memoryStore) len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}

// sweepEvery runs sweep every interval until done is closed.
func (m *memoryStore) sweepEvery(interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			m.sweep()
		}
	}
}
