package server_test

// Configuration reloads (issue 15, section 2), from outside: the fixture app served by
// Server.Serve on a real listener, its configuration in a temporary file that the tests
// rewrite (atomic rename, as editors and Kubernetes do), reloads triggered by the file watch or
// by Server.Reload (what SIGHUP calls), and waited for through server.WithReloadHook.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/engine/tracing"
)

// reloadFixture is the fixture app served from a configuration file.
type reloadFixture struct {
	*fixture
	path     string
	cfg      *config.Config // what the file holds (before defaults)
	outcomes chan server.ReloadOutcome
}

// startReloadFixture writes the fixture configuration (changed by mutate) to a file, serves
// it until the test ends, watching the file when watch is set.
func startReloadFixture(t *testing.T, watch bool, mutate ...func(*config.Config)) *reloadFixture {
	t.Helper()
	f := &reloadFixture{
		fixture: &fixture{
			Accounts: newUpstream(t, accountsBehaviour),
			Ledger:   newUpstream(t, ledgerBehaviour),
			logs:     &enginetest.LogBuffer{},
		},
		path:     filepath.Join(t.TempDir(), "gateway.yaml"),
		cfg:      fixtureConfig(t),
		outcomes: make(chan server.ReloadOutcome, 64),
	}
	for name, u := range map[string]*upstreamFake{"accounts": f.Accounts, "ledger": f.Ledger} {
		c := f.cfg.Upstreams[name]
		c.BaseURL = u.URL
		f.cfg.Upstreams[name] = c
	}
	f.cfg.Server.WatchConfig = &watch
	for _, m := range mutate {
		m(f.cfg)
	}
	f.write(t)
	f.serve(t)
	return f
}

// serve serves the fixture app from f.path (watched as the file says) until the test ends.
func (f *reloadFixture) serve(t *testing.T) {
	t.Helper()
	cfg, err := config.Load(f.path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Config = cfg
	logger, level := logging.NewLeveled(cfg.Log, f.logs)
	srv, err := server.New(cfg, fixtureApp(), logger, server.WithTracing(tracing.Disabled()),
		server.WithConfigFile(f.path, nil, nil), server.WithLogLevel(level),
		server.WithReloadHook(func(o server.ReloadOutcome) { f.outcomes <- o }))
	if err != nil {
		t.Fatal(err)
	}
	f.Server = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.URL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	f.do(t, "GET", "/healthz", "").want(t, 200, "") // Serve accepts: the file is watched
}

var transferSeq atomic.Int64

// transfer makes a keyed POST /v1/transfers (auth with key, ledger:write; the default
// rate-limit policy) with a fresh Idempotency-Key.
func (f *reloadFixture) transfer(t testing.TB, key string) *response {
	t.Helper()
	return f.do(t, "POST", "/v1/transfers", `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`,
		"X-API-Key", key, "Idempotency-Key", fmt.Sprintf("k-%d", transferSeq.Add(1)))
}

// write replaces the configuration file atomically (a new file renamed over it).
func (f *reloadFixture) write(t testing.TB) {
	t.Helper()
	b, err := yaml.Marshal(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, f.path, b)
}

func writeAtomically(t testing.TB, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// change applies mutate to the file's configuration and writes it.
func (f *reloadFixture) change(t testing.TB, mutate func(*config.Config)) {
	t.Helper()
	mutate(f.cfg)
	f.write(t)
}

// reload changes the file and reloads it as SIGHUP does, returning the outcome.
func (f *reloadFixture) reload(t testing.TB, mutate func(*config.Config)) server.ReloadOutcome {
	t.Helper()
	f.change(t, mutate)
	_ = f.Server.Reload()
	return f.next(t)
}

// next waits for the next reload outcome (bounded).
func (f *reloadFixture) next(t testing.TB) server.ReloadOutcome {
	t.Helper()
	select {
	case o := <-f.outcomes:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("no reload within 10s")
		return server.ReloadOutcome{}
	}
}

// metric returns the value of one sample of /metrics (name with its labels, as exposed).
func (f *reloadFixture) metric(t testing.TB, sample string) string {
	t.Helper()
	r := f.do(t, "GET", "/metrics", "")
	for line := range strings.SplitSeq(string(r.Body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	t.Fatalf("no sample %s in /metrics", sample)
	return ""
}

// apiKey returns a fixture API key entry for owner with the key's hash.
func apiKey(id, owner, key string, scopes ...string) auth.APIKey {
	sum := sha256.Sum256([]byte(key))
	return auth.APIKey{ID: id, Owner: owner, SHA256: hex.EncodeToString(sum[:]), Scopes: scopes}
}

const daveKey = "fixture-key-dave-0123456789abcdef"

// TestReloadAPIKeys: a key added by a reload works at once, a key removed answers 401, and the
// metric and the generation say so.
func TestReloadAPIKeys(t *testing.T) {
	f := startReloadFixture(t, false)
	f.transfer(t, daveKey).want(t, 401, "UNAUTHORIZED")

	o := f.reload(t, func(c *config.Config) {
		c.Auth.APIKeys = append(c.Auth.APIKeys, apiKey("fixture-dave", "dave", daveKey, "ledger:write"))
	})
	if o.Result != server.ReloadSuccess || o.Generation != 2 || strings.Join(o.Changed, ",") != "auth" {
		t.Fatalf("outcome %+v, want success, generation 2, changed [auth]", o)
	}
	f.transfer(t, daveKey).want(t, 201, "")

	o = f.reload(t, func(c *config.Config) { c.Auth.APIKeys = c.Auth.APIKeys[1:] }) // ada's goes
	if o.Result != server.ReloadSuccess || o.Generation != 3 {
		t.Fatalf("outcome %+v", o)
	}
	f.transfer(t, adaKey).want(t, 401, "UNAUTHORIZED")
	f.transfer(t, daveKey).want(t, 201, "")
	if got := f.metric(t, `contractgate_config_reloads_total{result="success"}`); got != "2" {
		t.Fatalf("reloads success = %s, want 2", got)
	}
	if got := f.metric(t, `contractgate_config_generation`); got != "3" {
		t.Fatalf("generation = %s, want 3", got)
	}
	// Rewriting the same configuration changes nothing and builds nothing.
	if o := f.reload(t, func(*config.Config) {}); o.Result != server.ReloadSuccess || o.Generation != 3 || len(o.Changed) != 0 {
		t.Fatalf("an unchanged file: outcome %+v", o)
	}
}

// TestReloadInvalidChangesNothing: a file that does not parse, and one that does not
// validate, leave the running configuration as it was, are logged once each and counted as
// errors.
func TestReloadInvalidChangesNothing(t *testing.T) {
	f := startReloadFixture(t, false)
	for _, tc := range []struct {
		desc, content, wantErr string
	}{
		{desc: "unknown key", content: "rateLimit:\n  default:\n    requets: 5\n", wantErr: "requets"},
		{desc: "invalid value", wantErr: "rateLimit.default.requests"},
		{desc: "not YAML", content: "auth: [\n", wantErr: "did not find expected node content"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if tc.content != "" {
				writeAtomically(t, f.path, []byte(tc.content))
			} else {
				bad := *f.cfg
				bad.RateLimit.Default.Requests = -1
				bad.Auth.APIKeys = nil // would remove every key, were it applied
				b, err := yaml.Marshal(&bad)
				if err != nil {
					t.Fatal(err)
				}
				writeAtomically(t, f.path, b)
			}
			err := f.Server.Reload()
			o := f.next(t)
			if err == nil || o.Result != server.ReloadError || o.Generation != 1 || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Reload() = %v, outcome %+v; want an error naming %q, generation 1", err, o, tc.wantErr)
			}
			f.transfer(t, adaKey).want(t, 201, "")
			if n := strings.Count(f.Logs(), tc.wantErr); n != 1 {
				t.Fatalf("the reason is logged %d times, want once:\n%s", n, f.Logs())
			}
		})
	}
	if got := f.metric(t, `contractgate_config_reloads_total{result="error"}`); got != "3" {
		t.Fatalf("reloads error = %s, want 3", got)
	}
	if got := f.metric(t, `contractgate_config_generation`); got != "1" {
		t.Fatalf("generation = %s, want 1", got)
	}
}

// TestReloadKeepsRateLimitBuckets: a caller at its quota stays limited after a reload, one
// that changes the quota itself included (the new policy applies, to the same bucket).
func TestReloadKeepsRateLimitBuckets(t *testing.T) {
	f := startReloadFixture(t, false, func(c *config.Config) {
		c.RateLimit.Default.Requests, c.RateLimit.Default.Window, c.RateLimit.Default.Burst = 3, time.Minute, 0
	})
	for range 3 {
		f.transfer(t, adaKey).want(t, 201, "")
	}
	f.transfer(t, adaKey).want(t, 429, "RATE_LIMIT_EXCEEDED")

	f.reload(t, func(c *config.Config) {
		c.Auth.APIKeys = append(c.Auth.APIKeys, apiKey("fixture-dave", "dave", daveKey, "ledger:write"))
	})
	f.transfer(t, adaKey).want(t, 429, "RATE_LIMIT_EXCEEDED")

	f.reload(t, func(c *config.Config) { c.RateLimit.Default.Requests = 4 })
	r := f.transfer(t, adaKey)
	r.want(t, 429, "RATE_LIMIT_EXCEEDED")
	if got := r.Header.Get("RateLimit-Policy"); got != `"default";q=4;w=60` {
		t.Fatalf("RateLimit-Policy %q: the new policy does not apply", got)
	}
	// Another caller has the new quota whole.
	for range 4 {
		f.transfer(t, daveKey).want(t, 201, "")
	}
	f.transfer(t, daveKey).want(t, 429, "RATE_LIMIT_EXCEEDED")
}

// TestReloadKeepsIdempotencyRecords: a keyed POST answered before a reload is replayed after
// it, without a second upstream call.
func TestReloadKeepsIdempotencyRecords(t *testing.T) {
	f := startReloadFixture(t, false)
	body := `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`
	f.do(t, "POST", "/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", "k-reload").want(t, 201, "")
	f.reload(t, func(c *config.Config) { c.RateLimit.Default.Requests = 999 })
	r := f.do(t, "POST", "/v1/transfers", body, "X-API-Key", adaKey, "Idempotency-Key", "k-reload")
	r.want(t, 201, "")
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("not replayed after the reload: %v %s", r.Header, r.Body)
	}
	if n := len(f.Ledger.Received()); n != 1 {
		t.Fatalf("the ledger received %d transfers, want 1", n)
	}
}

// TestReloadBreakerState: an open circuit stays open through a reload that leaves its upstream
// as it was, and a reload that changes the upstream's settings builds it anew (closed).
func TestReloadBreakerState(t *testing.T) {
	f := startReloadFixture(t, false, func(c *config.Config) {
		u := c.Upstreams["accounts"]
		u.CircuitBreaker.FailureThreshold, u.CircuitBreaker.Delay = 2, time.Minute
		c.Upstreams["accounts"] = u
	})
	f.Accounts.Answer(500, `{"code":"boom","message":"boom"}`)
	for range 2 {
		f.do(t, "GET", "/v1/accounts/acc_1", "", "X-Tenant", "t1").want(t, 502, "UPSTREAM_ERROR")
	}
	f.do(t, "GET", "/v1/accounts/acc_1", "", "X-Tenant", "t1").want(t, 503, "CIRCUIT_OPEN")
	f.Accounts.Reply(accountsBehaviour)
	calls := len(f.Accounts.Received())

	f.reload(t, func(c *config.Config) { // the ledger changes, not accounts
		u := c.Upstreams["ledger"]
		u.Timeout = 3 * time.Second
		c.Upstreams["ledger"] = u
	})
	f.do(t, "GET", "/v1/accounts/acc_1", "", "X-Tenant", "t1").want(t, 503, "CIRCUIT_OPEN")
	if n := len(f.Accounts.Received()); n != calls {
		t.Fatalf("the open circuit let %d calls through after the reload", n-calls)
	}
	if got := f.metric(t, `contractgate_circuit_breaker_state{upstream="accounts"}`); got != "2" {
		t.Fatalf("breaker gauge %s, want 2 (open)", got)
	}

	f.reload(t, func(c *config.Config) { // accounts' own policy changes: a new breaker
		u := c.Upstreams["accounts"]
		u.CircuitBreaker.FailureThreshold = 3
		c.Upstreams["accounts"] = u
	})
	f.do(t, "GET", "/v1/accounts/acc_1", "", "X-Tenant", "t1").want(t, 200, "")
}

// TestReloadAppliesSettings: CORS, log level, upstream base URL and cache settings change
// with a reload; a restart-only key is reported and keeps its running value while the rest
// applies.
func TestReloadAppliesSettings(t *testing.T) {
	f := startReloadFixture(t, false)
	preflight := func() *http.Response {
		req, _ := http.NewRequest("OPTIONS", f.URL+"/v1/accounts", nil)
		req.Header.Set("Origin", "https://shop.example.com")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	if got := preflight().Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("CORS before it is configured: %q", got)
	}
	other := newUpstream(t, accountsBehaviour)
	o := f.reload(t, func(c *config.Config) {
		c.CORS.AllowOrigins = []string{"https://shop.example.com"}
		u := c.Upstreams["accounts"]
		u.BaseURL = other.URL
		c.Upstreams["accounts"] = u
		c.Server.BodyLimit = 10 // restart-only
		c.Log.Level = "warn"
	})
	if o.Result != server.ReloadRestartRequired || strings.Join(o.Pending, ",") != "server" ||
		strings.Join(o.Changed, ",") != "log,upstreams,cors" {
		t.Fatalf("outcome %+v, want restart_required, pending [server], changed [log upstreams cors]", o)
	}
	if got := preflight().Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example.com" {
		t.Fatalf("CORS after the reload: Access-Control-Allow-Origin %q", got)
	}
	f.do(t, "GET", "/v1/accounts/acc_1", "", "X-Tenant", "t1").want(t, 200, "")
	if len(other.Received()) != 1 {
		t.Fatal("the new base URL of accounts was not called")
	}
	// The running body limit (1 MiB) still applies.
	f.do(t, "POST", "/v1/transfers", `{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`,
		"X-API-Key", adaKey, "Idempotency-Key", "k-limit").want(t, 201, "")
	// At warn, the info line of the next reload is not written; its warning is.
	before := f.Logs()
	f.reload(t, func(c *config.Config) { c.Cache.MaxEntries = 77 })
	if logs := strings.TrimPrefix(f.Logs(), before); strings.Contains(logs, `"config reloaded"`) || !strings.Contains(logs, "need a restart") {
		t.Fatalf("log level warn: logs of the reload:\n%s", logs)
	}
	if got := f.metric(t, `contractgate_config_reloads_total{result="restart_required"}`); got != "2" {
		t.Fatalf("reloads restart_required = %s, want 2", got)
	}
}

// TestReloadWatchesTheFile: the file watch reloads on an atomic rename and on a Kubernetes
// ConfigMap update (the file a symlink through a folder symlink swapped), once per change.
func TestReloadWatchesTheFile(t *testing.T) {
	t.Run("atomic rename", func(t *testing.T) {
		f := startReloadFixture(t, true)
		f.change(t, func(c *config.Config) {
			c.Auth.APIKeys = append(c.Auth.APIKeys, apiKey("fixture-dave", "dave", daveKey, "ledger:write"))
		})
		if o := f.next(t); o.Result != server.ReloadSuccess || o.Generation != 2 {
			t.Fatalf("outcome %+v", o)
		}
		f.transfer(t, daveKey).want(t, 201, "")
	})
	t.Run("configmap symlink swap", func(t *testing.T) {
		// The kubelet's layout: gateway.yaml -> ..data/gateway.yaml, ..data -> ..v1.
		f := startReloadFixture(t, false) // its own file is not watched; this one is
		dir := t.TempDir()
		watch := true
		f.cfg.Server.WatchConfig = &watch
		b, err := yaml.Marshal(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, os.Mkdir(filepath.Join(dir, "..v1"), 0o700))
		mustOK(t, os.WriteFile(filepath.Join(dir, "..v1", "gateway.yaml"), b, 0o600))
		mustOK(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
		mustOK(t, os.Symlink(filepath.Join("..data", "gateway.yaml"), filepath.Join(dir, "gateway.yaml")))
		g := startWatchedAt(t, f, filepath.Join(dir, "gateway.yaml"))

		f.cfg.Auth.APIKeys = append(f.cfg.Auth.APIKeys, apiKey("fixture-dave", "dave", daveKey, "ledger:write"))
		b, err = yaml.Marshal(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, os.Mkdir(filepath.Join(dir, "..v2"), 0o700))
		mustOK(t, os.WriteFile(filepath.Join(dir, "..v2", "gateway.yaml"), b, 0o600))
		mustOK(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
		mustOK(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
		mustOK(t, os.RemoveAll(filepath.Join(dir, "..v1")))
		if o := g.next(t); o.Result != server.ReloadSuccess || o.Generation != 2 {
			t.Fatalf("outcome %+v", o)
		}
		g.transfer(t, daveKey).want(t, 201, "")
	})
}

// startWatchedAt serves f's app from path, watched.
func startWatchedAt(t *testing.T, f *reloadFixture, path string) *reloadFixture {
	t.Helper()
	g := &reloadFixture{fixture: &fixture{logs: &enginetest.LogBuffer{}, Ledger: f.Ledger, Accounts: f.Accounts},
		path: path, outcomes: make(chan server.ReloadOutcome, 8)}
	g.serve(t)
	return g
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The load of TestReloadUnderLoad: requests per second, for as long as the 20
// reloads take (one per reloadEvery).
const (
	reloadLoadRate = 300
	reloadCount    = 20
	reloadEvery    = time.Second
)

// TestReloadUnderLoad: 20 reloads through the file watch, each changing what the requests go
// through (API keys, rate-limit policy, CORS, the ledger's resilience policy, cache settings,
// log level), under a steady load of authenticated, rate-limited and upstream-bound requests
// on keep-alive connections: every request answers 200, no connection is reset.
func TestReloadUnderLoad(t *testing.T) {
	f := startReloadFixture(t, true, func(c *config.Config) {
		c.RateLimit.Default.Requests, c.RateLimit.Default.Burst = 1_000_000, 0
		c.Log.Level = "info"
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	var sent, failed, resets atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		failed.Add(1)
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			resets.Add(1)
		}
		firstErr.CompareAndSwap(nil, err)
	}
	paths := []struct{ method, path string }{
		{"POST", "/v1/transfers"},     // API key, rate limit, validation, idempotency, the ledger
		{"GET", "/v1/accounts/acc_1"}, // public, the accounts upstream
		{"GET", "/v1/accounts"},       // public, the accounts upstream
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / reloadLoadRate)
	defer tick.Stop()
	work := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range work {
				p := paths[i%len(paths)]
				var body io.Reader
				if p.method == "POST" {
					body = strings.NewReader(`{"fromAccount":"acc_1","toAccount":"acc_2","amountCents":500}`)
				}
				req, _ := http.NewRequest(p.method, f.URL+p.path, body)
				req.Header.Set("X-Tenant", "t1")
				if p.method == "POST" {
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-API-Key", adaKey)
					req.Header.Set("Idempotency-Key", fmt.Sprintf("load-%d", i))
				}
				resp, err := client.Do(req)
				sent.Add(1)
				if err != nil {
					fail(err)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					fail(err)
				} else if resp.StatusCode != 200 && resp.StatusCode != 201 {
					fail(fmt.Errorf("%s: status %d", p.path, resp.StatusCode))
				}
			}
		})
	}
	go func() {
		defer close(work)
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				select {
				case work <- i:
				case <-ctx.Done():
					return
				}
			}
		}
	}()

	changes := []func(c *config.Config){
		func(c *config.Config) {
			n := len(c.Auth.APIKeys)
			c.Auth.APIKeys = append(c.Auth.APIKeys, apiKey(fmt.Sprintf("fixture-k%d", n), "dave", fmt.Sprintf("fixture-key-%d-0123456789abcdef", n), "ledger:read"))
		},
		func(c *config.Config) { c.RateLimit.Default.Requests++ },
		func(c *config.Config) {
			c.CORS.AllowOrigins = append(c.CORS.AllowOrigins, fmt.Sprintf("https://o%d.example.com", len(c.CORS.AllowOrigins)))
		},
		func(c *config.Config) {
			u := c.Upstreams["ledger"]
			u.Timeout += time.Second
			c.Upstreams["ledger"] = u
		},
		func(c *config.Config) { c.Cache.MaxEntries++ },
		func(c *config.Config) { c.Log.Level = map[string]string{"info": "debug", "debug": "info"}[c.Log.Level] },
	}
	start := time.Now()
	reloadTick := time.NewTicker(reloadEvery)
	for i := range reloadCount {
		<-reloadTick.C
		f.change(t, changes[i%len(changes)])
		if o := f.next(t); o.Result != server.ReloadSuccess || o.Generation != uint64(i+2) {
			t.Errorf("reload %d: outcome %+v", i+1, o)
		}
	}
	reloadTick.Stop()
	<-time.After(reloadEvery) // the load runs on after the last reload too
	stop()
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d reloads in %s under %d requests (%.0f/s): %d failed, %d connection resets",
		reloadCount, elapsed.Round(time.Millisecond), sent.Load(), float64(sent.Load())/elapsed.Seconds(), failed.Load(), resets.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed (%d resets); first: %v", failed.Load(), sent.Load(), resets.Load(), firstErr.Load())
	}
	if min := int64(reloadLoadRate * reloadCount / 3); sent.Load() < min { // a third: -race on a busy machine
		t.Fatalf("only %d requests sent, want at least %d: the load was not a load", sent.Load(), min)
	}
	if got := f.metric(t, `contractgate_config_reloads_total{result="success"}`); got != fmt.Sprint(reloadCount) {
		t.Fatalf("reloads success = %s, want %d", got, reloadCount)
	}
}

// TestReloadInFlightFinishesOnItsConfig: a request in flight when a reload moves its upstream
// elsewhere finishes on the configuration it started on (its upstream answers it), while the
// next request goes to the new upstream; the replaced configuration is closed only then.
func TestReloadInFlightFinishesOnItsConfig(t *testing.T) {
	f := startReloadFixture(t, false)
	entered, release := make(chan struct{}), make(chan struct{})
	f.Ledger.Reply(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		ledgerBehaviour(w, r)
	})
	done := make(chan *response, 1)
	go func() { done <- f.transfer(t, adaKey) }()
	<-entered

	other := newUpstream(t, ledgerBehaviour)
	o := f.reload(t, func(c *config.Config) {
		u := c.Upstreams["ledger"]
		u.BaseURL = other.URL
		c.Upstreams["ledger"] = u
		c.Auth.APIKeys = append(c.Auth.APIKeys[1:], apiKey("fixture-dave", "dave", daveKey, "ledger:write")) // ada's key goes
	})
	if o.Result != server.ReloadSuccess || o.Generation != 2 {
		t.Fatalf("outcome %+v", o)
	}
	f.transfer(t, adaKey).want(t, 401, "UNAUTHORIZED")
	f.transfer(t, daveKey).want(t, 201, "")
	close(release)
	(<-done).want(t, 201, "")
	if n := len(f.Ledger.Received()); n != 1 {
		t.Fatalf("the old ledger received %d requests, want the in-flight one", n)
	}
	if n := len(other.Received()); n != 1 {
		t.Fatalf("the new ledger received %d requests, want dave's", n)
	}
}
