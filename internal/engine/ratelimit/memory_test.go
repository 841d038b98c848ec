package ratelimit

import (
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func testPolicy(t testing.TB, requests int, window time.Duration, burst int) *policy {
	t.Helper()
	p, err := newPolicy("test", Policy{Requests: requests, Window: window, Burst: burst})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ipKey(i uint32) clientKey {
	return clientKey{addr: netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})}
}

// TestMemoryStoreCap fills the store with far more active keys than maxKeys: every new key
// is admitted (it evicts the entry closest to expiry) and the store never exceeds the cap.
func TestMemoryStoreCap(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	const maxKeys = 64 * 16
	m := newMemoryStore(maxKeys, now.Load)
	p := testPolicy(t, 10, time.Hour, 10)
	for i := range uint32(20 * maxKeys) {
		if d := m.allowHash(p, ipKey(i).hash(p)); !d.allowed || d.remaining != 9 {
			t.Fatalf("key %d: %+v, want a fresh key's first request admitted", i, d)
		}
		now.Add(int64(time.Millisecond))
	}
	if n := m.len(); n > maxKeys || n < maxKeys*9/10 {
		t.Fatalf("store holds %d entries, want at most %d and close to it", n, maxKeys)
	}
	// The most recent keys survived; the oldest were evicted first.
	if d := m.allowHash(p, ipKey(20*maxKeys-1).hash(p)); d.remaining != 8 {
		t.Errorf("newest key forgotten: %+v", d)
	}
}

// TestMemoryStoreExpiry: expired entries make room before active ones are evicted, and the
// sweep drops them all and gives the memory back.
func TestMemoryStoreExpiry(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	m := newMemoryStore(64*1024, now.Load)
	p := testPolicy(t, 1, time.Second, 1)
	for i := range uint32(40_000) {
		m.allowHash(p, ipKey(i).hash(p))
	}
	if n := m.len(); n != 40_000 {
		t.Fatalf("%d entries, want 40000", n)
	}
	now.Add(int64(time.Second)) // every TAT is now in the past
	m.sweep()
	if n := m.len(); n != 0 {
		t.Fatalf("%d entries after the sweep, want 0", n)
	}
	for i := range m.shards {
		if s := &m.shards[i]; s.peak != 0 {
			t.Fatalf("shard %d not rebuilt after the sweep: peak %d", i, s.peak)
		}
	}
	// A returning client whose entry expired starts afresh.
	if d := m.allowHash(p, ipKey(7).hash(p)); !d.allowed {
		t.Fatalf("expired key still limited: %+v", d)
	}
}

// TestMemoryStoreEvictsClosestToExpiry: churn of short-lived clients through full shards
// never evicts a client that is still paying off a long policy.
func TestMemoryStoreEvictsClosestToExpiry(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	const maxKeys = 64 * 8
	m := newMemoryStore(maxKeys, now.Load)
	short, long := testPolicy(t, 1, time.Second, 1), testPolicy(t, 1, time.Hour, 1)
	active := ipKey(1 << 30).hash(long)
	m.allowHash(long, active)
	for i := range uint32(4 * maxKeys) {
		m.allowHash(short, ipKey(i).hash(short))
	}
	now.Add(int64(2 * time.Second))
	for i := range uint32(4 * maxKeys) {
		m.allowHash(short, ipKey(i+1<<20).hash(short))
	}
	if d := m.allowHash(long, active); d.allowed {
		t.Fatal("a client deep in debt was evicted while others were closer to expiry")
	}
}

// TestBytesPerKey inserts keys and bounds the memory an entry costs, so that maxKeys is a
// memory bound an operator can plan with. (BenchmarkMemory1MKeys measures a million.)
func TestBytesPerKey(t *testing.T) {
	const n = 200_000
	perKey, held := bytesPerKey(t, n)
	t.Logf("%d keys held: %.1f bytes per key", held, perKey)
	if held < n*95/100 || perKey > 64 {
		t.Fatalf("%d keys held at %.1f bytes per key; want nearly all at most 64 bytes each", held, perKey)
	}
}

// BenchmarkMemory1MKeys inserts 1,000,000 distinct client addresses into a store capped at
// the default 1,000,000 keys and reports the heap bytes per key held.
func BenchmarkMemory1MKeys(b *testing.B) {
	for b.Loop() {
		perKey, held := bytesPerKey(b, DefaultMaxKeys)
		b.ReportMetric(perKey, "bytes/key")
		b.ReportMetric(float64(held), "keys")
	}
}

func bytesPerKey(t testing.TB, n int) (float64, int) {
	t.Helper()
	p := testPolicy(t, 100, time.Minute, 100)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := newMemoryStore(n, func() int64 { return 0 })
	for i := range uint32(n) {
		m.allowHash(p, ipKey(i).hash(p))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := m.len()
	runtime.KeepAlive(m)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(held), held
}

// BenchmarkAllow is the fast path: an existing key, admitted (the clock moves one emission
// interval per call, so the key is never limited). Must report 0 allocs/op.
func BenchmarkAllow(b *testing.B) {
	var now int64
	p := testPolicy(b, 1000, time.Second, 1000)
	m := newMemoryStore(DefaultMaxKeys, func() int64 { now += p.interval; return now })
	k := clientKey{addr: netip.MustParseAddr("203.0.113.7")}
	m.allow(b.Context(), p, k)
	b.ReportAllocs()
	for b.Loop() {
		if d := m.allow(b.Context(), p, k); !d.allowed {
			b.Fatal("limited")
		}
	}
}

// BenchmarkAllowParallel is the fast path from every core, over 10,000 clients.
func BenchmarkAllowParallel(b *testing.B) {
	p := testPolicy(b, 1_000_000, time.Second, 1_000_000)
	m := newMemoryStore(DefaultMaxKeys, monotonic())
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1)
		for pb.Next() {
			i = (i + 7919) % 10_000
			m.allow(b.Context(), p, ipKey(i))
		}
	})
}

func TestAllowDoesNotAllocate(t *testing.T) {
	p := testPolicy(t, 1000, time.Second, 1000)
	var now int64
	m := newMemoryStore(DefaultMaxKeys, func() int64 { now += p.interval; return now })
	k := clientKey{subject: "alice"}
	m.allow(t.Context(), p, k)
	if n := testing.AllocsPerRun(1000, func() { m.allow(t.Context(), p, k) }); n != 0 {
		t.Fatalf("allow allocates %.1f times per call for an existing key", n)
	}
}
