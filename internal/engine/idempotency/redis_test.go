package idempotency_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/engine/redisclient"
	"github.com/contractgate/contractgate/internal/tooling/redistest"
)

func redisConfig(t *testing.T, srv *redistest.Server) idempotency.Config {
	cfg := onRedis(t, srv.Addr)
	cfg.Redis.Timeout = 500 * time.Millisecond
	return cfg
}

// redisAddrs maps the key prefix of a test's redis config (its unique name) to the server
// startReplica connects to.
var redisAddrs sync.Map

// onRedis is the redis store on addr, with t's name as its key prefix.
func onRedis(t testing.TB, addr string) idempotency.Config {
	prefix := t.Name() + ":"
	redisAddrs.Store(prefix, addr)
	return idempotency.Config{Store: idempotency.StoreRedis, Redis: idempotency.RedisConfig{KeyPrefix: prefix}}
}

// redisClient is the shared client startReplica gives a redis config, closed when t ends.
func redisClient(t testing.TB, cfg idempotency.Config) redis.UniversalClient {
	addr, ok := redisAddrs.Load(cfg.Redis.KeyPrefix)
	if !ok {
		t.Fatalf("no Redis for key prefix %q (use onRedis)", cfg.Redis.KeyPrefix)
	}
	rc := redisclient.Config{Addrs: []string{addr.(string)}}
	rc.SetDefaults()
	c, err := redisclient.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTwoReplicasShareRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := newApp()
	cfg := redisConfig(t, srv)
	one, two := startReplica(t, cfg, a), startReplica(t, cfg, a)

	concurrent(t, a, 50, one, two)

	// A response stored through one replica is replayed by the other.
	first := do(t, one.URL, call{body: order, key: "k-across"})
	second := do(t, two.URL, call{body: order, key: "k-across"})
	if replayed(first) || !replayed(second) || dataN(t, second) != dataN(t, first) {
		t.Fatalf("first %s\nsecond (replayed %v) %s", first.Body, replayed(second), second.Body)
	}
	if got := a.calls.Load(); got != 2 {
		t.Fatalf("handler ran %d times, want 2", got)
	}
}

func TestRedisDownFailsClosed(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := newApp()
	r := startReplica(t, redisConfig(t, srv), a)
	do(t, r.URL, call{body: order, key: "k-before"})

	srv.Stop()
	began := time.Now()
	for _, key := range []string{"k-before", "k-during"} {
		res := do(t, r.URL, call{body: order, key: key})
		if code := errorCode(t, res, http.StatusServiceUnavailable); code != "UPSTREAM_UNAVAILABLE" {
			t.Fatalf("%s with Redis down: %s", key, res.Body)
		}
		if strings.Contains(string(res.Body), "127.0.0.1") || strings.Contains(string(res.Body), "redis") {
			t.Fatalf("the error leaks the store: %s", res.Body)
		}
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("failing closed took %s", took)
	}
	if res := do(t, r.URL, call{method: http.MethodGet}); res.Status != http.StatusCreated {
		t.Fatalf("an operation without idempotency failed with Redis down: %d", res.Status)
	}
	if got := a.calls.Load(); got != 2 { // k-before, and the GET
		t.Fatalf("handler ran %d times, want 2 (none for a keyed request with Redis down)", got)
	}
	if r.outcomes.get(idempotency.OutcomeStoreError) != 2 {
		t.Errorf("outcomes %v", r.outcomes.n)
	}

	srv.Restart(t) // an empty Redis: the records are gone, the claims work again
	waitFor(t, func() bool {
		res, err := send(r.URL, call{body: order, key: "k-after"})
		return err == nil && res.Status == http.StatusCreated
	})
}

func TestRedisLostWhileTheHandlerRuns(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := newApp()
	cfg := redisConfig(t, srv)
	cfg.Lease = time.Second // the answer's save is retried until the lease ends
	r := startReplica(t, cfg, a)
	done := make(chan *response, 1)
	go func() {
		res, _ := send(r.URL, call{body: order, key: "k-lost", header: map[string]string{headerOutcome: "block"}})
		done <- res
	}()
	waitFor(t, func() bool { return a.calls.Load() == 1 })
	srv.Stop()
	a.unblock()
	// The write happened: the client gets its answer at once, not a 503 that invites a retry.
	if res := <-done; res == nil || dataN(t, res) != 1 || replayed(res) {
		t.Fatalf("answer after losing Redis: %v", res)
	}
	waitFor(t, func() bool { return r.outcomes.get(idempotency.OutcomeStoreError) == 1 })
	if !strings.Contains(r.logs.String(), "idempotency record not saved") {
		t.Errorf("the lost record was not logged:\n%s", r.logs.String())
	}
}

// TestRedisBackWithinTheLeaseSavesTheAnswer: an answer whose save failed (Redis lost while the
// handler ran, as in a failover) is saved once Redis answers again within the lease; a
// repeat of the key is then replayed, not run again.
func TestRedisBackWithinTheLeaseSavesTheAnswer(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := newApp()
	cfg := redisConfig(t, srv)
	cfg.Lease = 20 * time.Second
	r := startReplica(t, cfg, a)
	done := make(chan *response, 1)
	go func() {
		res, _ := send(r.URL, call{body: order, key: "k-late", header: map[string]string{headerOutcome: "block"}})
		done <- res
	}()
	waitFor(t, func() bool { return a.calls.Load() == 1 })
	srv.Stop()
	a.unblock()
	first := <-done
	if first == nil || dataN(t, first) != 1 {
		t.Fatalf("answer after losing Redis: %v", first)
	}
	srv.Restart(t) // empty: the claim is gone, the late save writes the answer
	waitFor(t, func() bool { return r.outcomes.get(idempotency.OutcomeStored) == 1 })
	again := do(t, r.URL, call{body: order, key: "k-late"})
	if !replayed(again) || dataN(t, again) != 1 || a.calls.Load() != 1 {
		t.Fatalf("repeat after the late save: replayed %v, handler ran %d times: %s", replayed(again), a.calls.Load(), again.Body)
	}
}
