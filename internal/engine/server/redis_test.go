package server_test

// The assembled gateway on real Redis topologies (internal/tooling/redistest): a three-master
// Cluster shared by two gateway replicas, a Sentinel deployment whose master is killed under
// a thousand keyed POSTs, and a Cluster that loses a node.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
	"github.com/contractgate/contractgate/internal/engine/redisclient"
	"github.com/contractgate/contractgate/internal/tooling/redistest"
)

// onRedis points both stores at rc.
func onRedis(rc redisclient.Config) func(*config.Config) {
	return func(c *config.Config) {
		c.Redis = rc
		c.RateLimit.Store = ratelimit.StoreRedis
		c.Idempotency.Store = idempotency.StoreRedis
	}
}

// result is one answer, read whole, without failing the test (workers run off the test's
// goroutine).
type result struct {
	status  int
	header  http.Header
	body    []byte
	err     error
	elapsed time.Duration
}

var topologyClient = &http.Client{Timeout: 10 * time.Second}

func call(method, url, body string, headers ...string) result {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return result{err: err}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	began := time.Now()
	resp, err := topologyClient.Do(req)
	if err != nil {
		return result{err: err, elapsed: time.Since(began)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b, err: err, elapsed: time.Since(began)}
}

// rateKey is the Redis key of the default policy's bucket for a client address (redis_rate
// prefixes "rate:").
func rateKey(ip string) string { return "rate:contractgate:default:ip:" + ip }

// TestClusterReplicasShareTheQuota: two gateway replicas on a three-master Cluster admit
// exactly the quota of each client between them, whichever master holds the client's
// bucket, and never fall back to local limits.
func TestClusterReplicasShareTheQuota(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	const quota, perClient = 50, 120
	mutate := func(c *config.Config) {
		onRedis(redisclient.Config{Addrs: cl.Addrs})(c)
		c.RateLimit.Default = ratelimit.Policy{Requests: quota, Window: time.Hour}
		c.RateLimit.TrustedProxies = []string{"127.0.0.1"}
		// Under -race on shared cores a 50ms call may time out and be decided locally; this
		// test measures the shared store.
		c.RateLimit.Redis.Timeout = 2 * time.Second
	}
	replicas := []*fixture{startFixture(t, mutate), startFixture(t, mutate)}

	// One client per master: their buckets live on three different nodes.
	var clients []string
	owners := map[int]bool{}
	for i := 1; len(clients) < 3 && i < 255; i++ {
		ip := fmt.Sprintf("198.51.100.%d", i)
		if o := cl.Owner(rateKey(ip)); !owners[o] {
			owners[o] = true
			clients = append(clients, ip)
		}
	}
	if len(clients) != 3 {
		t.Fatalf("no client address for every master: %v", clients)
	}

	type tally struct {
		mu        sync.Mutex
		admitted  []int
		limited   int
		unexpects []string
	}
	tallies := make([]*tally, len(clients))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for c, ip := range clients {
		tallies[c] = &tally{}
		for i := range perClient {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				r := call(http.MethodGet, replicas[i%2].URL+"/v1/accounts", "", "X-Forwarded-For", ip)
				tl := tallies[c]
				tl.mu.Lock()
				defer tl.mu.Unlock()
				switch {
				case r.err == nil && r.status == http.StatusOK:
					// RateLimit: "default";r=<remaining>;t=<seconds>
					_, rest, _ := strings.Cut(r.header.Get("RateLimit"), ";r=")
					left, _, _ := strings.Cut(rest, ";")
					n, err := strconv.Atoi(left)
					if err != nil {
						tl.unexpects = append(tl.unexpects, "RateLimit "+r.header.Get("RateLimit"))
					}
					tl.admitted = append(tl.admitted, n)
				case r.err == nil && r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "":
					tl.limited++
				default:
					tl.unexpects = append(tl.unexpects, fmt.Sprintf("%d %v %s", r.status, r.err, r.body))
				}
			})
		}
	}
	wg.Wait()
	want := make([]int, quota)
	for i := range want {
		want[i] = i
	}
	for c, tl := range tallies {
		slices.Sort(tl.admitted)
		if len(tl.unexpects) > 0 {
			t.Errorf("client %s: unexpected answers: %v", clients[c], tl.unexpects)
		}
		if !slices.Equal(tl.admitted, want) || tl.limited != perClient-quota {
			t.Errorf("client %s (bucket on master %d): admitted %d (r=%v), limited %d; want exactly %d admitted (r=0..%d) across both replicas",
				clients[c], cl.Owner(rateKey(clients[c])), len(tl.admitted), tl.admitted, tl.limited, quota, quota-1)
		}
		t.Logf("client %s, bucket on master %d: %d admitted of %d requests across 2 replicas (quota %d)",
			clients[c], cl.Owner(rateKey(clients[c])), len(tl.admitted), perClient, quota)
	}
	for i, f := range replicas {
		if n := sample(scrape(t, f), "contractgate_ratelimit_store_fallbacks_total", nil); n != 0 {
			t.Errorf("replica %d decided %v requests locally", i, n)
		}
	}
}

// transfer is the keyed POST of key i: its amount names it at the upstream.
func transfer(i int) (body, key string) {
	return fmt.Sprintf(`{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":%d}`, i+1), fmt.Sprintf("k-failover-%04d", i)
}

// upstreamCalls counts the ledger's transfer calls per amount.
func upstreamCalls(t *testing.T, u *upstreamFake) map[int]int {
	t.Helper()
	calls := map[int]int{}
	for _, r := range u.Received() {
		if r.Method != http.MethodPost {
			continue
		}
		var in struct {
			AmountCents int `json:"amountCents"`
		}
		if err := json.Unmarshal(r.Body, &in); err != nil {
			t.Fatalf("upstream body %s: %v", r.Body, err)
		}
		calls[in.AmountCents]++
	}
	return calls
}

// TestSentinelFailoverKeyedPosts sends 1,000 keyed POSTs, each retried by its client until it
// succeeds, while the Sentinel master is killed (SIGKILL) and a replica promoted. With
// idempotency.redis.waitReplicas 1 no claim is lost with the master, and an answer whose save
// failed is saved late within the lease: every key is answered 2xx, reaches the upstream
// exactly once, and a resend of every key after the failover is replayed. Meanwhile the limiter fails open (decides locally) and comes
// back to Redis; idempotency fails closed (503 with Retry-After) and recovers.
func TestSentinelFailoverKeyedPosts(t *testing.T) {
	t.Parallel()
	st := redistest.StartSentinel(t, 2)
	f := startFixture(t, onRedis(redisclient.Config{Addrs: st.Addrs, MasterName: redistest.MasterName}), func(c *config.Config) {
		c.Idempotency.Redis.WaitReplicas = 1
		c.Idempotency.Lease = 5 * time.Second // over the failover: a stored answer is retried within it
		c.RateLimit.Default = ratelimit.Policy{Requests: 100_000, Window: time.Minute}
		c.RateLimit.Redis.Timeout = 250 * time.Millisecond
	})
	const keys, workers, killAfter = 1000, 16, 300
	deadline := time.Now().Add(45 * time.Second)

	var (
		done                              atomic.Int64
		unavailable, noRetryAfter         atomic.Int64
		inFlight, transportErrors         atomic.Int64
		mu                                sync.Mutex
		unexpected                        []string
		firstUnavailable, lastUnavailable time.Time
	)
	answered := make([]bool, keys)
	reachedKill := make(chan struct{})
	var once sync.Once
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= keys {
					return
				}
				body, key := transfer(i)
				for time.Now().Before(deadline) {
					r := call(http.MethodPost, f.URL+"/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", key)
					if r.err == nil && r.status/100 == 2 {
						answered[i] = true
						break
					}
					pause := 100 * time.Millisecond
					switch {
					case r.err != nil:
						transportErrors.Add(1)
					case r.status == http.StatusServiceUnavailable:
						unavailable.Add(1)
						now := time.Now()
						mu.Lock()
						if firstUnavailable.IsZero() {
							firstUnavailable = now
						}
						lastUnavailable = now
						mu.Unlock()
						ra, err := strconv.Atoi(r.header.Get("Retry-After"))
						if err != nil || ra < 1 {
							noRetryAfter.Add(1)
						} else {
							pause = time.Duration(ra) * time.Second // the client honours Retry-After
						}
					case r.status == http.StatusConflict: // in flight: a claim whose answer was lost
						inFlight.Add(1)
					default:
						mu.Lock()
						unexpected = append(unexpected, fmt.Sprintf("%s: %d %s", key, r.status, r.body))
						mu.Unlock()
					}
					time.Sleep(pause)
				}
				if done.Add(1) == killAfter {
					once.Do(func() { close(reachedKill) })
				}
			}
		})
	}

	select {
	case <-reachedKill:
	case <-time.After(30 * time.Second):
		t.Fatal("300 keyed POSTs did not complete within 30s before the failover")
	}
	killedAt := time.Now()
	old := st.Data[0].Addr
	st.Data[0].Stop() // SIGKILL
	promoted := st.WaitFailover(t, old, 20*time.Second)
	failover := time.Since(killedAt)
	wg.Wait()

	lost := 0
	for i, ok := range answered {
		if !ok {
			lost++
			if lost <= 5 {
				_, key := transfer(i)
				t.Errorf("%s never answered 2xx", key)
			}
		}
	}
	calls := upstreamCalls(t, f.Ledger)
	duplicated, missing := 0, 0
	for i := range keys {
		switch n := calls[i+1]; {
		case n > 1:
			duplicated++
		case n == 0 && answered[i]:
			missing++
		}
	}

	// Every key again, as a client whose answer was lost would: replayed, never run again.
	replayedN := atomic.Int64{}
	var resendErrs []string
	next.Store(0)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= keys {
					return
				}
				body, key := transfer(i)
				r := call(http.MethodPost, f.URL+"/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", key)
				// An answer still being saved late keeps its key in flight (409) a moment.
				for until := time.Now().Add(10 * time.Second); r.err == nil && r.status == http.StatusConflict && time.Now().Before(until); {
					time.Sleep(100 * time.Millisecond)
					r = call(http.MethodPost, f.URL+"/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", key)
				}
				if r.err == nil && r.status/100 == 2 && r.header.Get("Idempotent-Replayed") == "true" {
					replayedN.Add(1)
				} else if r.err != nil || r.status/100 != 2 {
					mu.Lock()
					resendErrs = append(resendErrs, fmt.Sprintf("%s: %d %v", key, r.status, r.err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	after := upstreamCalls(t, f.Ledger)
	dupAfterResend := 0
	for i := range keys {
		if after[i+1] > 1 {
			dupAfterResend++
		}
	}

	window := time.Duration(0)
	if !firstUnavailable.IsZero() {
		window = lastUnavailable.Sub(firstUnavailable)
	}
	t.Logf("sentinel failover %s -> %s in %s; %d keyed POSTs: %d lost, %d duplicated upstream (%d after resending every key, %d resends replayed); "+
		"%d answers 503 over %s (%d without Retry-After), %d 409 in flight, %d transport errors; %d answers saved late, %d not saved",
		old, promoted, failover.Round(time.Millisecond), keys, lost, duplicated, dupAfterResend, replayedN.Load(),
		unavailable.Load(), window.Round(time.Millisecond), noRetryAfter.Load(), inFlight.Load(), transportErrors.Load(),
		strings.Count(f.Logs(), "idempotency answer saved late"), strings.Count(f.Logs(), "idempotency record not saved"))
	if lost != 0 || duplicated != 0 || missing != 0 || dupAfterResend != 0 {
		t.Errorf("lost %d, duplicated %d, answered without an upstream call %d, duplicated after resend %d; want 0",
			lost, duplicated, missing, dupAfterResend)
	}
	if len(unexpected) > 0 || len(resendErrs) > 0 {
		t.Errorf("unexpected answers: %v; resends: %v", unexpected, resendErrs)
	}
	if unavailable.Load() == 0 || noRetryAfter.Load() != 0 {
		t.Errorf("idempotency during the failover: %d answers 503 (%d without Retry-After); want some, each with Retry-After",
			unavailable.Load(), noRetryAfter.Load())
	}

	// The limiter decided locally during the outage (fail open) and is back on Redis: a
	// request decided without a fallback.
	m := scrape(t, f)
	if n := sample(m, "contractgate_ratelimit_store_fallbacks_total", nil); n == 0 {
		t.Errorf("the limiter never fell back during the failover")
	}
	redistest.Poll(t, 10*time.Second, "the limiter back on Redis", func() bool {
		before := sample(scrape(t, f), "contractgate_ratelimit_store_fallbacks_total", nil)
		f.do(t, http.MethodGet, "/v1/accounts", "").want(t, http.StatusOK, "")
		return sample(scrape(t, f), "contractgate_ratelimit_store_fallbacks_total", nil) == before
	})
}

// TestClusterNodeKilled: with one of three masters dead (no replica to promote), keyed POSTs
// whose record lives on its slots fail closed (503 with Retry-After) and the others succeed,
// every answer within the idempotency timeout; the limiter fails open; nothing panics. Once
// the node is back, the refused keys succeed.
func TestClusterNodeKilled(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	f := startFixture(t, onRedis(redisclient.Config{Addrs: cl.Addrs}), func(c *config.Config) {
		c.RateLimit.TrustedProxies = []string{"127.0.0.1"}
	})
	timeout := f.Config.Idempotency.Redis.Timeout
	bound := timeout + 500*time.Millisecond
	body, _ := transfer(0)
	f.do(t, http.MethodPost, "/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", "k-node-warm").want(t, http.StatusCreated, "")

	cl.Nodes[2].Stop() // SIGKILL
	var refused []string
	ok := 0
	var slowest time.Duration
	for i := range 30 {
		body, _ := transfer(i)
		key := fmt.Sprintf("k-node-%02d", i)
		r := call(http.MethodPost, f.URL+"/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", key)
		if r.elapsed > bound {
			t.Errorf("%s took %s with a node down; want at most %s", key, r.elapsed, bound)
		}
		slowest = max(slowest, r.elapsed)
		switch {
		case r.err == nil && r.status == http.StatusCreated:
			ok++
		case r.err == nil && r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") != "":
			refused = append(refused, key)
		default:
			t.Fatalf("%s with a node down: %d %v %s", key, r.status, r.err, r.body)
		}
	}
	if ok == 0 || len(refused) == 0 {
		t.Errorf("with one master of three down: %d keys succeeded, %d refused; want both", ok, len(refused))
	}
	for i := range 12 {
		ip := fmt.Sprintf("198.51.100.%d", i+1)
		r := call(http.MethodGet, f.URL+"/v1/accounts", "", "X-Forwarded-For", ip)
		if r.err != nil || r.status != http.StatusOK || r.elapsed > bound {
			t.Errorf("GET from %s (bucket on master %d) with a node down: %d %v in %s", ip, cl.Owner(rateKey(ip)), r.status, r.err, r.elapsed)
		}
	}
	t.Logf("one master of three killed: %d keyed POSTs succeeded, %d refused 503 (their slots' master is down); slowest %s (bound %s)",
		ok, len(refused), slowest.Round(time.Millisecond), bound)

	cl.Nodes[2].Restart(t)
	redistest.Poll(t, 20*time.Second, "the refused keys succeed once the node is back", func() bool {
		for len(refused) > 0 {
			r := call(http.MethodPost, f.URL+"/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", refused[0])
			if r.err != nil || r.status != http.StatusCreated {
				return false
			}
			refused = refused[1:]
		}
		return true
	})
	if strings.Contains(f.Logs(), "panic") {
		t.Errorf("the gateway logged a panic:\n%s", f.Logs())
	}
}

// TestWaitReplicasWithoutReplicas: with idempotency.redis.waitReplicas 1 and masters that have
// no replica (a Cluster here), no claim is ever acknowledged: keyed POSTs fail closed (503
// with Retry-After), never reach the upstream, and leave no claim behind (a repeat is 503
// again, not 409 in flight).
func TestWaitReplicasWithoutReplicas(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	f := startFixture(t, onRedis(redisclient.Config{Addrs: cl.Addrs}), func(c *config.Config) {
		c.Idempotency.Redis.WaitReplicas = 1
		c.Idempotency.Redis.Timeout = 200 * time.Millisecond
	})
	for i := range 6 {
		body, _ := transfer(i)
		key := fmt.Sprintf("k-unreplicated-%d", i/2) // each key twice
		r := f.do(t, http.MethodPost, "/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", key)
		r.want(t, http.StatusServiceUnavailable, "UPSTREAM_UNAVAILABLE")
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After: %v", r.Header)
		}
	}
	if n := len(f.Ledger.Received()); n != 0 {
		t.Fatalf("unacknowledged claims reached the upstream %d times", n)
	}
}
