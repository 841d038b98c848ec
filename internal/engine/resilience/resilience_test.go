package resilience

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// dropSecond is an HTTP/1.1 server that answers the first request on each connection and,
// for the second one, reads it whole and closes the connection without answering: the
// "keep-alive connection died under the request" case. It counts the requests by method.
type dropSecond struct {
	ln    net.Listener
	mu    sync.Mutex
	count map[string]int
	wg    sync.WaitGroup
}

func newDropSecond(t *testing.T) *dropSecond {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dropSecond{ln: ln, count: map[string]int{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { _ = ln.Close(); s.wg.Wait() })
	return s
}

func (s *dropSecond) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		s.mu.Lock()
		s.count[req.Method]++
		s.mu.Unlock()
		if n == 2 {
			return // read it all, answer nothing, hang up
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")
	}
}

func (s *dropSecond) posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[http.MethodPost]
}

// net/http replays a POST carrying an Idempotency-Key after a dead keep-alive connection;
// the attempt transport makes sure it does not.
func TestTransparentReplayIsOff(t *testing.T) {
	post := func(rt http.RoundTripper, url string) error {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"a":1}`))
		req.Header.Set(IdempotencyKeyHeader, "k-1")
		res, err := rt.RoundTrip(req)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	warm := func(rt http.RoundTripper, url string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		res, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}

	t.Run("net/http alone replays", func(t *testing.T) {
		s := newDropSecond(t)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		url := "http://" + s.ln.Addr().String()
		warm(tr, url)
		if err := post(tr, url); err != nil {
			t.Fatalf("the replayed POST failed: %v", err)
		}
		if s.posts() != 2 {
			t.Fatalf("upstream saw the POST %d times; net/http no longer replays it?", s.posts())
		}
	})
	t.Run("the attempt transport does not", func(t *testing.T) {
		s := newDropSecond(t)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		a := &attempt{base: tr, maxBytes: 1 << 20}
		url := "http://" + s.ln.Addr().String()
		warm(a, url)
		err := post(a, url)
		if err == nil || neverSent(err) {
			t.Fatalf("err = %v, want a failure of a request that was sent", err)
		}
		if s.posts() != 1 {
			t.Fatalf("upstream saw the POST %d times, want 1", s.posts())
		}
	})
}

// A bodiless GET keeps net/http's replay after a dead keep-alive connection (a safe request;
// no body probe per attempt), and the resend is counted as a retry attempt, to the hook and
// on the request's correlation record.
func TestSafeReplayCounted(t *testing.T) {
	s := newDropSecond(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	var attempts, retries atomic.Int32
	a := &attempt{base: tr, maxBytes: 1 << 20, name: "x", onAttempt: func(_ string, retry bool) {
		attempts.Add(1)
		if retry {
			retries.Add(1)
		}
	}}
	url := "http://" + s.ln.Addr().String()
	get := func() (*correlation.Info, error) {
		info := &correlation.Info{}
		req, _ := http.NewRequestWithContext(correlation.NewContext(context.Background(), info), http.MethodGet, url, nil)
		res, err := a.RoundTrip(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return info, err
	}
	if _, err := get(); err != nil { // the first request on the connection
		t.Fatal(err)
	}
	info, err := get() // dropped on the reused connection, replayed on a new one
	if err != nil {
		t.Fatalf("the replayed GET failed: %v", err)
	}
	s.mu.Lock()
	gets := s.count[http.MethodGet]
	s.mu.Unlock()
	if gets != 3 {
		t.Fatalf("upstream saw %d GETs, want 3 (one replay)", gets)
	}
	if attempts.Load() != 1 || retries.Load() != 1 || info.UpstreamAttempts.Load() != 1 {
		t.Fatalf("replay counted as %d attempts (%d retries), %d on the record; want 1, 1, 1",
			attempts.Load(), retries.Load(), info.UpstreamAttempts.Load())
	}
}

func TestRepeatable(t *testing.T) {
	for _, c := range []struct {
		method, key string
		want        bool
	}{
		{"GET", "", true}, {"HEAD", "", true}, {"OPTIONS", "", true}, {"PUT", "", true}, {"DELETE", "", true},
		{"POST", "", false}, {"PATCH", "", false}, {"POST", "k-1", true}, {"PATCH", "k-1", true},
	} {
		req, _ := http.NewRequest(c.method, "http://x/", nil)
		if c.key != "" {
			req.Header.Set(IdempotencyKeyHeader, c.key)
		}
		if got := Repeatable(req); got != c.want {
			t.Errorf("%s key=%q: %v, want %v", c.method, c.key, got, c.want)
		}
	}
}

func TestOutcomeAndOpenError(t *testing.T) {
	oe := &OpenError{Upstream: "x", RemainingDelay: 1200 * time.Millisecond}
	if !errors.Is(oe, circuitbreaker.ErrOpen) || oe.RetryAfterSeconds() != 2 {
		t.Fatalf("OpenError: is ErrOpen %v, Retry-After %d", errors.Is(oe, circuitbreaker.ErrOpen), oe.RetryAfterSeconds())
	}
	if (&OpenError{}).RetryAfterSeconds() != 1 {
		t.Fatal("Retry-After must be at least 1")
	}
	ok, bad := &http.Response{StatusCode: 404}, &http.Response{StatusCode: 503}
	for _, c := range []struct {
		resp *http.Response
		err  error
		want Outcome
	}{
		{ok, nil, OutcomeSuccess}, {bad, nil, OutcomeError},
		{nil, oe, OutcomeCircuitOpen}, {nil, bulkhead.ErrFull, OutcomeRejected}, {nil, budget.ErrExceeded, OutcomeRejected},
		{nil, timeout.ErrExceeded, OutcomeTimeout}, {nil, context.Canceled, OutcomeCanceled}, {nil, io.ErrUnexpectedEOF, OutcomeError},
	} {
		if got := outcomeOf(c.resp, c.err); got != c.want {
			t.Errorf("outcomeOf(%v, %v) = %s, want %s", c.resp, c.err, got, c.want)
		}
	}
}

// Retried-away answers are drained and closed: one keep-alive connection serves every
// attempt, and the 503's Retry-After sets the wait.
func TestRetriedAwayBodiesAreClosed(t *testing.T) {
	var calls atomic.Int32
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, strings.Repeat("x", 64<<10))
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p, err := New("up", defaulted(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: p.RoundTripper(tr)}
	res, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || calls.Load() != 3 || conns.Load() != 1 {
		t.Fatalf("status %d after %d calls over %d connections; want 200, 3 calls, 1 connection", res.StatusCode, calls.Load(), conns.Load())
	}
}

// The whole-call timeout firing during an attempt counts against the breaker (the upstream
// was too slow), where the caller's own cancellation does not.
func TestWholeCallTimeoutIsABreakerFailure(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := New("up", defaulted(Config{Timeout: 60 * time.Millisecond, CircuitBreaker: CircuitBreaker{FailureThreshold: 2}}))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: p.RoundTripper(tr)}

	for range 3 { // the caller leaves first: not a failure
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		_, err := client.Do(req)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
	}
	if p.State() != StateClosed {
		t.Fatalf("circuit %s after callers left", p.State())
	}
	for range 2 { // the call's timeout fires: failures
		_, err := client.Get(srv.URL)
		if !errors.Is(err, timeout.ErrExceeded) {
			t.Fatalf("err %v, want timeout.ErrExceeded", err)
		}
	}
	if p.State() != StateOpen {
		t.Fatalf("circuit %s after 2 timed-out calls", p.State())
	}
	_, err = client.Get(srv.URL)
	var oe *OpenError
	if !errors.As(err, &oe) || oe.Upstream != "up" || oe.RemainingDelay <= 0 {
		t.Fatalf("err %v, want an *OpenError", err)
	}
}

func TestDelay(t *testing.T) {
	r := Retry{InitialBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	f := delayFunc(r)
	for attempts, bounds := range map[int][2]time.Duration{1: {50, 100}, 2: {100, 200}, 3: {150, 300}, 6: {150, 300}} {
		for range 50 {
			d := f(fakeAttempt{attempts: attempts})
			if d < bounds[0]*time.Millisecond || d > bounds[1]*time.Millisecond {
				t.Fatalf("after %d attempts: %s, want within %v ms", attempts, d, bounds)
			}
		}
	}
	ra := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"1"}}}
	if d := f(fakeAttempt{attempts: 1, last: ra}); d != time.Second {
		t.Fatalf("Retry-After 1: %s", d)
	}
	if retryableResponse(ra, 500*time.Millisecond) || !retryableResponse(ra, time.Second) {
		t.Fatal("a Retry-After beyond maxRetryAfter must end the retries, one within it must not")
	}
	if retryableResponse(&http.Response{StatusCode: 501}, time.Second) || retryableResponse(&http.Response{StatusCode: 429}, time.Second) {
		t.Fatal("501 and 4xx are not retried")
	}
}

// fakeAttempt is the part of an execution the delay function reads.
type fakeAttempt struct {
	failsafe.ExecutionAttempt[*http.Response]
	attempts int
	last     *http.Response
}

func (f fakeAttempt) Attempts() int              { return f.attempts }
func (f fakeAttempt) LastResult() *http.Response { return f.last }

// defaulted returns c with its defaults applied, as config.Load applies them.
func defaulted(c Config) Config {
	c.SetDefaults()
	return c
}

// A retried request carries its whole body on every attempt, whether it can be rewound
// through GetBody or not.
func TestRetriesResendTheBody(t *testing.T) {
	var calls atomic.Int32
	var bodies sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n := calls.Add(1)
		bodies.Store(n, string(b))
		if n%2 == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	p, err := New("up", defaulted(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	rt := p.RoundTripper(tr)
	for _, rewindable := range []bool{true, false} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"a":1}`))
		if !rewindable {
			req.GetBody = nil
			req.Body = io.NopCloser(strings.NewReader(`{"a":1}`))
		}
		req.Header.Set(IdempotencyKeyHeader, "k-1")
		res, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("rewindable %v: status %d", rewindable, res.StatusCode)
		}
	}
	for n := int32(1); n <= calls.Load(); n++ {
		if b, _ := bodies.Load(n); b != `{"a":1}` {
			t.Fatalf("attempt %d sent %q", n, b)
		}
	}
	if calls.Load() != 4 {
		t.Fatalf("%d attempts, want 4", calls.Load())
	}
}

func TestReadCapped(t *testing.T) {
	for _, c := range []struct {
		body      string
		announced int64
		want      string
		tooLarge  bool
	}{
		{"hello", 5, "hello", false},
		{"hello", -1, "hello", false},
		{"hello", 3, "hello", false}, // longer than announced: read on
		{"hel", 5, "hel", false},
		{"hello world", 5, "", true},
		{"hello world", -1, "", true},
		{"hello world", 11, "", true},
	} {
		buf, err := readCapped(strings.NewReader(c.body), c.announced, 8)
		got := buf.b
		if c.tooLarge != errors.Is(err, ErrResponseTooLarge) || (!c.tooLarge && (err != nil || string(got) != c.want)) {
			t.Fatalf("%q announced %d: %q, %v", c.body, c.announced, got, err)
		}
	}
	b := newBody(buffer{b: []byte("abc")})
	if got, ok := BodyBytes(b); !ok || string(got) != "abc" {
		t.Fatalf("BodyBytes: %q %v", got, ok)
	}
	_, _ = b.Read(make([]byte, 1))
	if _, ok := BodyBytes(b); ok {
		t.Fatal("BodyBytes of a body partly read")
	}
}

// An attempt that outlives the attempt timeout fails with timeout.ErrExceeded: a GET is
// retried, a POST without an Idempotency-Key is not, and each counts against the breaker.
func TestAttemptTimeout(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 || r.Method == http.MethodPost {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	defer close(release)
	var attempts atomic.Int32
	p, err := New("up", defaulted(Config{Timeout: time.Second, AttemptTimeout: 50 * time.Millisecond,
		Retry: Retry{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}, CircuitBreaker: CircuitBreaker{FailureThreshold: 2}}),
		WithHooks(Hooks{Attempt: func(string, bool) { attempts.Add(1) }}))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: p.RoundTripper(tr)}
	res, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || attempts.Load() != 2 {
		t.Fatalf("status %d after %d attempts, want 200 after 2", res.StatusCode, attempts.Load())
	}
	if p.State() != StateClosed {
		t.Fatalf("circuit %s after one timed-out attempt", p.State())
	}
	_, err = client.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if !errors.Is(err, timeout.ErrExceeded) || attempts.Load() != 3 {
		t.Fatalf("err %v after %d attempts, want timeout.ErrExceeded after 3", err, attempts.Load())
	}
	if outcomeOf(nil, err) != OutcomeTimeout {
		t.Fatalf("outcome %s", outcomeOf(nil, err))
	}
	_, err = client.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if !errors.Is(err, timeout.ErrExceeded) || p.State() != StateOpen {
		t.Fatalf("err %v, circuit %s; want timeout.ErrExceeded, open after 2 consecutive timeouts", err, p.State())
	}
}

// A body that was read from, or is not the policies', carries no strict-JSON mark.
func TestStrictJSONMark(t *testing.T) {
	t.Parallel()
	buf := getBuffer(4)
	copy(buf.b, `"ab"`)
	body := newBody(buf)
	MarkStrictJSON(body, buf.b)
	if _, err := body.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if v, ok := StrictJSON(body); ok {
		t.Fatalf("StrictJSON of a body read from: %q", v)
	}
	other := io.NopCloser(strings.NewReader(`"ab"`))
	MarkStrictJSON(other, []byte(`"ab"`))
	if v, ok := StrictJSON(other); ok {
		t.Fatalf("StrictJSON of another body: %q", v)
	}
}

// A pooled body buffer is exactly as long as asked, from the smallest pool that holds it; a
// closed body reads as empty, gives no bytes, and closing it again changes nothing.
func TestBodyBuffers(t *testing.T) {
	for _, n := range []int{1, minPooledBody, minPooledBody + 1, 4000, maxPooledBody, maxPooledBody + 1} {
		b := getBuffer(n)
		if len(b.b) != n {
			t.Fatalf("getBuffer(%d): length %d", n, len(b.b))
		}
		if pooled := b.pool != nil; pooled != (n <= maxPooledBody) {
			t.Fatalf("getBuffer(%d): pooled %v", n, pooled)
		}
		if b.pool != nil && (cap(b.b) < n || cap(b.b) >= 2*max(n, minPooledBody)) {
			t.Fatalf("getBuffer(%d): capacity %d", n, cap(b.b))
		}
		b.put()
	}
	buf := getBuffer(3)
	copy(buf.b, "abc")
	body := newBody(buf)
	if got, ok := BodyBytes(body); !ok || string(got) != "abc" {
		t.Fatalf("BodyBytes: %q %v", got, ok)
	}
	if v, ok := StrictJSON(body); ok {
		t.Fatalf("StrictJSON before MarkStrictJSON: %q", v)
	}
	MarkStrictJSON(body, buf.b[1:2])
	if v, ok := StrictJSON(body); !ok || string(v) != "b" {
		t.Fatalf("StrictJSON: %q %v", v, ok)
	}
	if err := body.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := StrictJSON(body); ok {
		t.Fatal("StrictJSON after Close")
	}
	if n, err := body.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("Read after Close: %d, %v", n, err)
	}
	if _, ok := BodyBytes(body); ok {
		t.Fatal("BodyBytes after Close")
	}
	if err := body.Close(); err != nil {
		t.Fatal(err)
	}
}

// The whole-call timeout ends a call waiting out a backoff with timeout.ErrExceeded, at its
// deadline (long before the backoff's end) and with no further attempt, and that is no
// breaker failure (only the 503 is); the caller leaving during a backoff ends the call with
// its own error.
func TestCallEndsDuringBackoff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		leave time.Duration // the caller's own timeout; 0: none
		want  error
	}{
		{"the call's timeout", 0, timeout.ErrExceeded},
		{"the caller leaves", 50 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var attempts atomic.Int32
			// The backoff (1 s to 2 s) outlasts the call's timeout (150 ms).
			p, err := New("up", defaulted(Config{Timeout: 150 * time.Millisecond,
				Retry:          Retry{InitialBackoff: 2 * time.Second, MaxBackoff: 2 * time.Second},
				CircuitBreaker: CircuitBreaker{FailureThreshold: 2}}),
				WithHooks(Hooks{Attempt: func(string, bool) { attempts.Add(1) }}))
			if err != nil {
				t.Fatal(err)
			}
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			ctx := context.Background()
			if tc.leave > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.leave)
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			start := time.Now()
			_, err = p.RoundTripper(tr).RoundTrip(req)
			took := time.Since(start)
			if !errors.Is(err, tc.want) || (tc.want != timeout.ErrExceeded && errors.Is(err, timeout.ErrExceeded)) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if attempts.Load() != 1 || took > 900*time.Millisecond {
				t.Fatalf("%d attempts in %s, want 1, ended before the backoff's end", attempts.Load(), took)
			}
			if p.State() != StateClosed {
				t.Fatalf("circuit %s after one 503, want closed", p.State())
			}
		})
	}
}
