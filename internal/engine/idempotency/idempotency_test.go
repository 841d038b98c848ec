package idempotency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/tooling/redistest"
)

// forEachStore runs test against the memory store and against a real Redis (one server per
// top-level test; each subtest has its own key prefix).
func forEachStore(t *testing.T, test func(t *testing.T, cfg idempotency.Config)) {
	t.Helper()
	srv := redistest.Start(t)
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		test(t, idempotency.Config{})
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		test(t, onRedis(t, srv.Addr))
	})
}

const order = `{"items":[{"productId":"prd_0001","quantity":2}]}`

func TestReplaysTheStoredResponse(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		r := startReplica(t, cfg, a)
		first := do(t, r.URL, call{body: order, key: "k-1", header: map[string]string{correlation.HeaderRequestID: "req-first"}})
		second := do(t, r.URL, call{body: order, key: `"k-1"`, header: map[string]string{correlation.HeaderRequestID: "req-second"}})

		if dataN(t, first) != 1 || replayed(first) {
			t.Fatalf("first: %s, replayed %v", first.Body, replayed(first))
		}
		if !replayed(second) {
			t.Fatalf("second response is not marked %s: %v", idempotency.HeaderReplayed, second.Header)
		}
		if got := a.calls.Load(); got != 1 {
			t.Fatalf("handler ran %d times, want 1", got)
		}
		d1, d2 := envelopeOf(t, first, http.StatusCreated)["data"], envelopeOf(t, second, http.StatusCreated)["data"]
		if !bytes.Equal(d1, d2) {
			t.Fatalf("replayed data differs:\n%s\n%s", d1, d2)
		}
		if !bytes.Contains(d2, []byte(`"note":"\u003c\u0026\u003e"`)) {
			t.Fatalf("data not kept byte for byte: %s", d2)
		}
		if rid := second.Header.Get(correlation.HeaderRequestID); rid != "req-second" {
			t.Fatalf("replay X-Request-Id %q, want its own", rid)
		}
		for _, h := range []string{"Location", "Content-Type"} {
			if first.Header.Get(h) == "" || first.Header.Get(h) != second.Header.Get(h) {
				t.Errorf("%s: first %q, replay %q", h, first.Header.Get(h), second.Header.Get(h))
			}
		}
		if first.Header.Get(correlation.HeaderTraceID) == second.Header.Get(correlation.HeaderTraceID) {
			t.Error("the replay repeats the first response's X-Trace-Id")
		}
		if !strings.HasPrefix(string(second.Body), `{"success":true,"data":`) || !strings.HasSuffix(string(second.Body), "}\n") {
			t.Errorf("replay body %q", second.Body)
		}
		if r.outcomes.get(idempotency.OutcomeStored) != 1 || r.outcomes.get(idempotency.OutcomeReplayed) != 1 {
			t.Errorf("outcomes %v", r.outcomes.n)
		}
	})
}

func TestReplaysAStoredError(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		r := startReplica(t, cfg, a)
		conflict := map[string]string{headerOutcome: "conflict"}

		first := do(t, r.URL, call{body: order, key: "k-err", header: conflict})
		// The repeat would create an order if the handler ran: the 409 must be replayed.
		second := do(t, r.URL, call{body: order, key: "k-err"})
		if code := errorCode(t, first, http.StatusConflict); code != "CONFLICT" || replayed(first) {
			t.Fatalf("first: %s", first.Body)
		}
		if code := errorCode(t, second, http.StatusConflict); code != "CONFLICT" || !replayed(second) {
			t.Fatalf("second: replayed %v: %s", replayed(second), second.Body)
		}
		e1, e2 := envelopeOf(t, first, http.StatusConflict)["error"], envelopeOf(t, second, http.StatusConflict)["error"]
		if !bytes.Equal(e1, e2) {
			t.Fatalf("replayed error differs:\n%s\n%s", e1, e2)
		}
		if second.Header.Get("Vary") != "Accept" {
			t.Errorf("Vary %q", second.Header.Values("Vary"))
		}
		if got := a.calls.Load(); got != 1 {
			t.Fatalf("handler ran %d times, want 1", got)
		}

		t.Run("as a problem document", func(t *testing.T) {
			problem := map[string]string{headerOutcome: "conflict", "Accept": "application/problem+json"}
			first := do(t, r.URL, call{body: order, key: "k-problem", header: problem})
			second := do(t, r.URL, call{body: order, key: "k-problem"})
			if second.Status != http.StatusConflict || !replayed(second) || second.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("replay %d %v: %s", second.Status, second.Header, second.Body)
			}
			var p1, p2 map[string]any
			if err := json.Unmarshal(first.Body, &p1); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(second.Body, &p2); err != nil {
				t.Fatal(err)
			}
			if p2["requestId"] != second.Header.Get(correlation.HeaderRequestID) {
				t.Fatalf("problem requestId %v, X-Request-Id %q", p2["requestId"], second.Header.Get(correlation.HeaderRequestID))
			}
			want := strings.Replace(string(first.Body), p1["requestId"].(string), p2["requestId"].(string), 1)
			if string(second.Body) != want {
				t.Fatalf("problem replay\n got %s\nwant %s", second.Body, want)
			}
		})
	})
}

func TestServerErrorIsNotStored(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		r := startReplica(t, cfg, a)
		first := do(t, r.URL, call{body: order, key: "k-500", header: map[string]string{headerOutcome: "fail"}})
		if code := errorCode(t, first, http.StatusInternalServerError); code != "INTERNAL_SERVER_ERROR" {
			t.Fatalf("first: %s", first.Body)
		}
		second := do(t, r.URL, call{body: order, key: "k-500"})
		if replayed(second) || dataN(t, second) != 2 {
			t.Fatalf("the retry after a 500 did not run: replayed %v: %s", replayed(second), second.Body)
		}
		third := do(t, r.URL, call{body: order, key: "k-500"})
		if !replayed(third) || dataN(t, third) != 2 {
			t.Fatalf("the success after the 500 was not stored: %s", third.Body)
		}
		if got := a.calls.Load(); got != 2 {
			t.Fatalf("handler ran %d times, want 2", got)
		}
		if r.outcomes.get(idempotency.OutcomeReleased) != 1 {
			t.Errorf("outcomes %v", r.outcomes.n)
		}
	})
}

func TestPanicReleasesTheKey(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		r := startReplica(t, cfg, a)
		res := do(t, r.URL, call{body: order, key: "k-panic", header: map[string]string{headerOutcome: "panic"}})
		if code := errorCode(t, res, http.StatusInternalServerError); code != "INTERNAL_SERVER_ERROR" {
			t.Fatalf("panic: %s", res.Body)
		}
		if res := do(t, r.URL, call{body: order, key: "k-panic"}); replayed(res) || dataN(t, res) != 2 {
			t.Fatalf("retry after a panic: %s", res.Body)
		}
	})
}

// TestClientGoneRunsToTheEnd: a claimed request whose client goes away still runs to its
// end (cut off midway, the upstream may have acted unseen), and its answer is stored: the
// client's retry is replayed, the handler ran once.
func TestClientGoneRunsToTheEnd(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		r := startReplica(t, cfg, a)
		ctx, cancel := context.WithCancel(t.Context())
		gone := make(chan error, 1)
		go func() {
			_, err := sendContext(ctx, r.URL, call{body: order, key: "k-gone", header: map[string]string{headerOutcome: "block"}})
			gone <- err
		}()
		waitFor(t, func() bool { return a.calls.Load() == 1 })
		cancel()
		if err := <-gone; err == nil {
			t.Fatal("the cancelled request got an answer")
		}
		a.unblock() // the handler was not cut off: it finishes now
		waitFor(t, func() bool { return r.outcomes.get(idempotency.OutcomeStored) == 1 })
		res := do(t, r.URL, call{body: order, key: "k-gone"})
		if !replayed(res) || dataN(t, res) != 1 {
			t.Fatalf("retry after the client went away: %s", res.Body)
		}
		if got := a.calls.Load(); got != 1 {
			t.Fatalf("handler ran %d times, want 1", got)
		}
	})
}

func TestKeyReusedWithAnotherRequest(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		r := startReplica(t, cfg, a)
		do(t, r.URL, call{body: order, key: "k-reuse"})
		do(t, r.URL, call{path: "/v1/orders/o-1/cancel", key: "k-cancel"})
		tests := []struct {
			desc string
			c    call
		}{
			{"another body", call{body: strings.Replace(order, "2", "3", 1), key: "k-reuse"}},
			{"same body, other whitespace", call{body: order + " ", key: "k-reuse"}},
			{"a query", call{path: "/v1/orders?dryRun=true", body: order, key: "k-reuse"}},
			{"another order cancelled", call{path: "/v1/orders/o-2/cancel", key: "k-cancel"}},
		}
		for _, tt := range tests {
			res := do(t, r.URL, tt.c)
			if code := errorCode(t, res, http.StatusUnprocessableEntity); code != "IDEMPOTENCY_KEY_REUSED" || replayed(res) {
				t.Errorf("%s: %s", tt.desc, res.Body)
			}
		}
		if got := a.calls.Load(); got != 2 {
			t.Fatalf("handler ran %d times, want 2", got)
		}
		if r.outcomes.get(idempotency.OutcomeReused) != len(tests) {
			t.Errorf("outcomes %v", r.outcomes.n)
		}
	})
}

// concurrent sends n identical keyed requests at once, spread over replicas, and checks that
// the handler ran once and every other answer is a replay or 409 IN_FLIGHT.
func concurrent(t *testing.T, a *app, n int, replicas ...*replica) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]*response, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = send(replicas[i%len(replicas)].URL, call{body: order, key: "k-race",
				header: map[string]string{headerOutcome: "slow"}})
		})
	}
	close(start)
	wg.Wait()
	var fresh, replays, inFlight int
	for i, res := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch {
		case res.Status == http.StatusCreated && replayed(res):
			replays++
		case res.Status == http.StatusCreated:
			fresh++
		case res.Status == http.StatusConflict && errorCode(t, res, http.StatusConflict) == "IDEMPOTENCY_KEY_IN_FLIGHT":
			inFlight++
		default:
			t.Errorf("unexpected answer %d: %s", res.Status, res.Body)
		}
	}
	if got := a.calls.Load(); got != 1 || fresh != 1 {
		t.Fatalf("handler ran %d times, %d fresh answers; want 1 and 1", got, fresh)
	}
	if inFlight == 0 {
		t.Errorf("no request saw the first in flight (%d replays)", replays)
	}
	t.Logf("%d requests: 1 ran, %d replays, %d in flight", n, replays, inFlight)
}

func TestConcurrentRequestsRunOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		concurrent(t, a, 50, startReplica(t, cfg, a))
	})
}

func TestKeysAreScopedToTheCaller(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		a := newApp()
		r := startReplica(t, cfg, a)
		as := func(subject string) call {
			c := call{body: order, key: "shared-key"}
			if subject != "" {
				c.header = map[string]string{headerSubject: subject}
			}
			return c
		}
		for i, who := range []string{"alice", "bob", "", "anonymous"} {
			res := do(t, r.URL, as(who))
			if replayed(res) || dataN(t, res) != i+1 {
				t.Fatalf("%q got another caller's response: %s", who, res.Body)
			}
		}
		for i, who := range []string{"alice", "bob", "", "anonymous"} {
			res := do(t, r.URL, as(who))
			if !replayed(res) || dataN(t, res) != i+1 {
				t.Fatalf("%q: replay %v of %s", who, replayed(res), res.Body)
			}
		}
	})
}

func TestStoredResponsesExpire(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		cfg.TTL = 150 * time.Millisecond
		a := newApp()
		r := startReplica(t, cfg, a)
		do(t, r.URL, call{body: order, key: "k-ttl"})
		if res := do(t, r.URL, call{body: order, key: "k-ttl"}); !replayed(res) {
			t.Fatalf("not replayed within the TTL: %s", res.Body)
		}
		time.Sleep(2 * cfg.TTL)
		res := do(t, r.URL, call{body: order, key: "k-ttl"})
		if replayed(res) || dataN(t, res) != 2 {
			t.Fatalf("replayed after the TTL: %s", res.Body)
		}
	})
}

func TestLeaseReleasesADeadClaim(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, cfg idempotency.Config) {
		cfg.Lease = 150 * time.Millisecond
		a := newApp()
		r := startReplica(t, cfg, a)
		stuck := make(chan *response, 1)
		go func() {
			res, _ := send(r.URL, call{body: order, key: "k-lease", header: map[string]string{headerOutcome: "block"}})
			stuck <- res
		}()
		waitFor(t, func() bool { return a.calls.Load() == 1 })
		res := do(t, r.URL, call{body: order, key: "k-lease"})
		if code := errorCode(t, res, http.StatusConflict); code != "IDEMPOTENCY_KEY_IN_FLIGHT" {
			t.Fatalf("while in flight: %s", res.Body)
		}
		if res := do(t, r.URL, call{body: `{"other":1}`, key: "k-lease"}); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("another payload while in flight: %d %s", res.Status, res.Body)
		}

		time.Sleep(2 * cfg.Lease) // the first request is as good as dead
		retry := do(t, r.URL, call{body: order, key: "k-lease"})
		if replayed(retry) || dataN(t, retry) != 2 {
			t.Fatalf("the retry after the lease did not run: %s", retry.Body)
		}

		a.unblock() // the dead request comes back: its answer must not replace the retry's
		if first := <-stuck; first == nil || dataN(t, first) != 1 {
			t.Fatalf("the late request's own answer: %v", first)
		}
		if res := do(t, r.URL, call{body: order, key: "k-lease"}); !replayed(res) || dataN(t, res) != 2 {
			t.Fatalf("stored response is not the retry's: %s", res.Body)
		}
		if !strings.Contains(r.logs.String(), "idempotency claim expired while the handler ran") {
			t.Errorf("the late finish was not logged:\n%s", r.logs.String())
		}
		if r.outcomes.get(idempotency.OutcomeLeaseExpired) != 1 || r.outcomes.get(idempotency.OutcomeInFlight) != 1 {
			t.Errorf("outcomes %v", r.outcomes.n)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}
