package idempotency_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/tooling/redistest"
)

// TestCallerQuotaEvictsOnlyOwnRecords: a caller over its quota makes room among its own
// oldest stored records (a retry of its oldest key runs again), never among another
// caller's; the others' records are still replayed.
func TestCallerQuotaEvictsOnlyOwnRecords(t *testing.T) {
	t.Parallel()
	a := newApp()
	r := startReplica(t, idempotency.Config{MaxEntriesPerCaller: 3}, a)
	mallory := map[string]string{headerSubject: "mallory"}
	alice := map[string]string{headerSubject: "alice"}
	if res := do(t, r.URL, call{body: order, key: "a0", header: alice}); res.Status != http.StatusCreated {
		t.Fatalf("alice: %d %s", res.Status, res.Body)
	}
	for i := range 10 {
		if res := do(t, r.URL, call{body: order, key: "k" + strconv.Itoa(i), header: mallory}); res.Status != http.StatusCreated {
			t.Fatalf("k%d: %d %s", i, res.Status, res.Body)
		}
	}
	if res := do(t, r.URL, call{body: order, key: "k9", header: mallory}); !replayed(res) {
		t.Fatalf("mallory's newest record was not replayed: %s", res.Body)
	}
	if res := do(t, r.URL, call{body: order, key: "a0", header: alice}); !replayed(res) {
		t.Fatalf("alice's record was lost to mallory's traffic: %s", res.Body)
	}
	if got := a.calls.Load(); got != 11 {
		t.Fatalf("handler ran %d times, want 11", got)
	}
}

// TestBulkyErrorIsNotStored: an error body over MaxErrorBodyBytes is not kept; the key is
// released (nothing was done, so running the retry duplicates nothing).
func TestBulkyErrorIsNotStored(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		r := startReplica(t, cfg, a)
		first := do(t, r.URL, call{body: order, key: "k-bulky", header: map[string]string{headerOutcome: "bulky"}})
		if code := errorCode(t, first, http.StatusUnprocessableEntity); code != "VALIDATION_FAILED" || len(first.Body) <= idempotency.DefaultMaxErrorBodyBytes {
			t.Fatalf("first: %d bytes: %.200s", len(first.Body), first.Body)
		}
		second := do(t, r.URL, call{body: order, key: "k-bulky"})
		if replayed(second) || dataN(t, second) != 2 {
			t.Fatalf("the retry after a bulky error did not run: %s", second.Body)
		}
		if r.outcomes.get(idempotency.OutcomeReleased) != 1 || r.outcomes.get(idempotency.OutcomeStored) != 1 {
			t.Errorf("outcomes %v", r.outcomes.n)
		}
	})
}

// TestRedisOutOfMemoryRefusesClaimsAndKeepsRecords: with Redis at maxmemory (noeviction), a
// new key is refused with 503 (fail closed), a stored record is still replayed, and a claim
// already held still stores its response, which its retry then replays.
func TestRedisOutOfMemoryRefusesClaimsAndKeepsRecords(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = admin.Close() })
	a := newApp()
	r := startReplica(t, redisConfig(t, srv), a)
	do(t, r.URL, call{body: order, key: "k-before"})
	held := make(chan *response, 1)
	go func() {
		res, _ := send(r.URL, call{body: order, key: "k-held", header: map[string]string{headerOutcome: "block"}})
		held <- res
	}()
	waitFor(t, func() bool { return a.calls.Load() == 2 })

	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil { // every write is now over
		t.Fatal(err)
	}
	res := do(t, r.URL, call{body: order, key: "k-during"})
	if code := errorCode(t, res, http.StatusServiceUnavailable); code != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("new key with Redis out of memory: %s", res.Body)
	}
	if res := do(t, r.URL, call{body: order, key: "k-before"}); !replayed(res) || dataN(t, res) != 1 {
		t.Fatalf("stored record with Redis out of memory: %d %s", res.Status, res.Body)
	}
	a.unblock()
	if res := <-held; res == nil || dataN(t, res) != 2 {
		t.Fatalf("held claim: %v", res)
	}
	if res := do(t, r.URL, call{body: order, key: "k-held"}); !replayed(res) || dataN(t, res) != 2 {
		t.Fatalf("the response finished while out of memory was not stored: %d %s", res.Status, res.Body)
	}
	if got := a.calls.Load(); got != 2 {
		t.Fatalf("handler ran %d times, want 2", got)
	}
	if r.outcomes.get(idempotency.OutcomeFull) != 1 || r.outcomes.get(idempotency.OutcomeStoreError) != 0 {
		t.Errorf("outcomes %v", r.outcomes.n)
	}

	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if res := do(t, r.URL, call{body: order, key: "k-during"}); res.Status != http.StatusCreated {
		t.Fatalf("after memory came back: %d %s", res.Status, res.Body)
	}
}

// TestRedisEvictingPolicyIsReported: a Redis whose maxmemory-policy may evict records is
// reported at start-up.
func TestRedisEvictingPolicyIsReported(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = admin.Close() })
	if err := admin.ConfigSet(context.Background(), "maxmemory-policy", "volatile-lru").Err(); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, redisConfig(t, srv), newApp())
	waitFor(t, func() bool { return strings.Contains(r.logs.String(), "set maxmemory-policy noeviction") })
	if !strings.Contains(r.logs.String(), "volatile-lru") {
		t.Fatalf("log: %s", r.logs.String())
	}
}
