package ratelimit_test

import (
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/ratelimit"
	"github.com/contractgate/contractgate/internal/engine/redisclient"
	"github.com/contractgate/contractgate/internal/tooling/redistest"
)

// redisConfig is a 5-per-hour policy on srv. The per-call timeout is raised from its 50ms
// default: under -race on shared CI cores a scheduler pause could trip it, and the test would
// measure the fallback instead of Redis. TestRedisTimeoutFailsOpen covers the default.
func redisConfig(requests int) ratelimit.Config {
	return ratelimit.Config{
		Default: ratelimit.Policy{Requests: requests, Window: time.Hour},
		Store:   ratelimit.StoreRedis,
		Redis:   ratelimit.Redis{Timeout: 2 * time.Second},
	}
}

// redisClient is a process's shared client (package redisclient) on addr, closed when the
// test ends.
func redisClient(t testing.TB, addr string) redis.UniversalClient {
	t.Helper()
	cfg := redisclient.Config{Addrs: []string{addr}}
	cfg.SetDefaults()
	c, err := redisclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRedisSharedAcrossReplicas: two gateway replicas on one Redis admit exactly the global
// quota between them, under concurrency, and never fall back.
func TestRedisSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := redisConfig(20)
	replicas := []*gateway{newGateway(t, cfg, gatewayOpts{redis: redisClient(t, srv.Addr)}), newGateway(t, cfg, gatewayOpts{redis: redisClient(t, srv.Addr)})}
	const n = 60
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = replicas[i%2].do(t, http.MethodGet, "/v1/products", peer) })
	}
	wg.Wait()
	var remaining []int64
	for _, res := range results {
		switch res.status {
		case http.StatusOK:
			remaining = append(remaining, res.r)
		case http.StatusTooManyRequests:
			checkRejected(t, res)
		default:
			t.Fatalf("status %d: %s", res.status, res.body)
		}
	}
	slices.Sort(remaining)
	want := make([]int64, 20)
	for i := range want {
		want[i] = int64(i)
	}
	if !slices.Equal(remaining, want) {
		t.Fatalf("two replicas admitted %d requests with r=%v; want exactly 20 with r=0..19", len(remaining), remaining)
	}
	for i, g := range replicas {
		if f := g.fallbacks.Load(); f != 0 {
			t.Errorf("replica %d fell back %d times", i, f)
		}
	}
}

// TestRedisOutageFailsOpen kills Redis mid-test: requests are served by the local limiter
// (fail open, still limited per replica), the outage is logged once, and after a restart the
// replica is back on the shared store, which a second replica proves by seeing its count.
func TestRedisOutageFailsOpen(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := redisConfig(5)
	a := newGateway(t, cfg, gatewayOpts{redis: redisClient(t, srv.Addr)})
	for i := range 5 {
		if res := a.do(t, http.MethodGet, "/v1/products", peer); res.status != 200 || res.r != int64(4-i) {
			t.Fatalf("request %d on Redis: %d r=%d", i, res.status, res.r)
		}
	}
	checkRejected(t, a.do(t, http.MethodGet, "/v1/products", peer))

	srv.Stop()
	for i := range 10 {
		res := a.do(t, http.MethodGet, "/v1/products", peer)
		if i < 5 && (res.status != 200 || res.r != int64(4-i)) {
			t.Fatalf("request %d during the outage: %d r=%d; want 200 from the local limiter", i, res.status, res.r)
		}
		if i >= 5 {
			checkRejected(t, res)
		}
	}
	if f := a.fallbacks.Load(); f != 10 {
		t.Errorf("OnFallback counted %d, want 10", f)
	}
	if n := a.logs.count("rate limit store unavailable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, a.logs)
	}

	srv.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := a.fallbacks.Load()
		a.do(t, http.MethodGet, "/v1/products", "192.0.2.99:1")
		if a.fallbacks.Load() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still limiting locally 10s after Redis restarted:\n%s", a.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := newGateway(t, cfg, gatewayOpts{redis: redisClient(t, srv.Addr)})
	z := "192.0.2.77:1"
	for i := range 2 {
		if res := a.do(t, http.MethodGet, "/v1/products", z); res.r != int64(4-i) {
			t.Fatalf("replica a, request %d: r=%d", i, res.r)
		}
	}
	if res := b.do(t, http.MethodGet, "/v1/products", z); res.status != 200 || res.r != 2 {
		t.Fatalf("replica b sees r=%d (status %d); want 2: the count replica a keeps in Redis", res.r, res.status)
	}
	if res := a.do(t, http.MethodGet, "/v1/products", z); res.r != 1 {
		t.Fatalf("replica a sees r=%d after b's request; want 1", res.r)
	}
	if n := a.logs.count("rate limit store available again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, a.logs)
	}
}

// TestRedisTimeoutFailsOpen points the store at a server that accepts connections and never
// answers: the start-up check gives up at the default 50ms timeout, so New is not held up and
// no request waits on Redis; requests are limited locally and the outage is logged once. No
// redis-server needed.
func TestRedisTimeoutFailsOpen(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	conns.Go(func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	})
	cfg := ratelimit.Config{Default: ratelimit.Policy{Requests: 3, Window: time.Hour}, Store: ratelimit.StoreRedis}
	opts := gatewayOpts{table: loadTable(t), redis: redisClient(t, ln.Addr().String())} // the contract parsed outside the measure
	start := time.Now()
	g := newGateway(t, cfg, opts)
	if d := time.Since(start); d > time.Second {
		t.Errorf("New took %s against an unresponsive Redis", d)
	}
	start = time.Now()
	for i := range 5 {
		res := g.do(t, http.MethodGet, "/v1/products", peer)
		if want := []int{200, 200, 200, 429, 429}[i]; res.status != want {
			t.Fatalf("request %d: %d, want %d", i, res.status, want)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("5 requests took %s while Redis hangs", d)
	}
	if f := g.fallbacks.Load(); f != 5 {
		t.Errorf("OnFallback counted %d, want 5", f)
	}
	if n := g.logs.count("rate limit store unavailable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, g.logs)
	}
}
