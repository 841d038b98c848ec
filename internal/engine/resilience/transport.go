package resilience

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// call is the RoundTripper the http.Client uses: it picks the executor by the request's
// safety, runs it, checks the final response and reports the outcome.
type call struct {
	policy  *Policy
	attempt *attempt
}

// RoundTrip runs one call through the policies: the executor built at start-up, bound once to
// the pooled call state's context (the request's, with the whole-call deadline: callCtx),
// runs the attempts itself (no per-call policy, executor copy or wrapper is built here).
//
// Every attempt runs synchronously inside the executor (a timeout cancels the attempt's
// context and waits for it to return), and the bodies are read whole inside the attempt (the
// network body is drained, capped, and closed there, so its connection is reused at once):
// when the executor returns, no attempt is running and every context the timeouts made has
// been canceled, so the per-call state can be reused.
func (c *call) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	s := c.policy.runs.Get().(*run)
	s.a, s.req, s.getBody = c.attempt, req, nil
	if req.Body != nil && req.Body != http.NoBody {
		s.getBody = req.GetBody
		if s.getBody == nil {
			// A body that cannot be rewound is read once, so that a retry can resend it.
			b, err := io.ReadAll(req.Body)
			_ = req.Body.Close()
			if err != nil {
				s.put()
				return nil, err
			}
			s.body = b
			s.getBody = s.rewind
		}
	}
	resp, err := c.policy.execute(s, Repeatable(req))
	if !s.sent && s.body == nil && req.Body != nil {
		_ = req.Body.Close() // never handed to a transport, which would have closed it
	}
	s.put()
	if err == nil && c.policy.opts.check != nil {
		if cerr := c.policy.opts.check(resp); cerr != nil {
			discard(resp)
			resp, err = nil, cerr
		}
	}
	if done := c.policy.opts.hooks.Done; done != nil {
		done(c.policy.name, outcomeOf(resp, err), time.Since(start))
	}
	return resp, err
}

// execute runs the call s, inside the bulkhead and, once it let the call in, under the
// whole-call timeout, through the executor of its kind (repeatable or not) bound to the
// call's context, which carries the timeout (callCtx). Its expiry fails the call with
// timeout.ErrExceeded, as a failsafe-go Timeout policy around the retry policy would: it
// cancels the attempt in flight (the breaker counts that as a failure) or the backoff, and
// the call ends with no further attempt.
func (p *Policy) execute(s *run, repeatable bool) (*http.Response, error) {
	ctx := s.req.Context()
	if err := p.bulkhead.AcquirePermitWithMaxWait(ctx, p.cfg.Bulkhead.MaxWait); err != nil {
		return nil, err
	}
	defer p.bulkhead.ReleasePermit()
	s.ctx.start(ctx, time.Now().Add(p.cfg.Timeout))
	defer s.ctx.stop()
	ex := s.once
	if repeatable {
		ex = s.repeatable
	}
	resp, err := ex.Get(s.fn)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && s.ctx.timedOut() {
		return nil, timeout.ErrExceeded
	}
	return resp, err
}

// run is the state of one call, pooled per Policy: fn, bound once per run, is what the
// executor runs for each attempt, and the policy's executors are bound once per run to its
// context, which each call restarts.
type run struct {
	a       *attempt
	req     *http.Request
	getBody func() (io.ReadCloser, error)
	body    []byte // the request body, when it could not be rewound through GetBody
	sent    bool   // req.Body was handed to an attempt
	// attempts counts the attempts sent. An attempt the open circuit refused ends the call
	// (never retried), so a sent attempt after the first is a retry.
	attempts int
	fn       func() (*http.Response, error)
	ctx      callCtx
	breaker  *breaker
	// repeatable and once are the policy's executors bound to ctx.
	repeatable, once failsafe.Executor[*http.Response]
	pool             *sync.Pool
}

// newRun makes a run of p for its pool.
func (p *Policy) newRun() any {
	s := &run{pool: &p.runs, breaker: p.breaker}
	s.fn = s.attemptOnce
	s.repeatable, s.once = p.repeatable.WithContext(&s.ctx), p.once.WithContext(&s.ctx)
	return s
}

func (s *run) put() {
	s.a, s.req, s.getBody, s.body, s.sent, s.attempts = nil, nil, nil, nil, false, 0
	s.pool.Put(s)
}

func (s *run) rewind() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(s.body)), nil }

// attemptOnce runs one attempt through the breaker. It needs no failsafe.Execution (the
// executor copies one per attempt for a function that takes it): the call's context and
// attempt count are the run's.
func (s *run) attemptOnce() (*http.Response, error) {
	if err := s.breaker.acquire(); err != nil {
		return nil, err
	}
	resp, err := s.send()
	s.breaker.record(&s.ctx, resp, err)
	return resp, err
}

// send sends one attempt: the request's own body on the first, a rewound one after.
func (s *run) send() (*http.Response, error) {
	s.attempts++
	if hook := s.a.onAttempt; hook != nil {
		hook(s.a.name, s.attempts > 1)
	}
	body := s.req.Body
	if s.getBody != nil && (s.sent || s.body != nil) {
		b, err := s.getBody()
		if err != nil {
			return nil, err
		}
		body = b
	}
	s.sent = true
	return s.a.send(&s.ctx, s.req, body)
}

// attempt is the innermost step: one attempt on the wire.
//
// It switches off net/http's transparent replay of requests that are not safe. http.Transport
// silently resends a request that failed on a reused keep-alive connection before any answer
// byte when the request is "replayable" (net/http Request.isReplayable): its body is nil,
// NoBody or rewindable through GetBody, AND its method is GET, HEAD, OPTIONS or TRACE or it
// carries an Idempotency-Key (or X-Idempotency-Key) header. So a POST with an Idempotency-Key
// could be sent twice with no policy, budget or metric seeing it. The attempt therefore sends
// a shallow copy with GetBody cleared (a body that cannot be rewound is not replayable) and,
// for a bodiless unsafe request carrying a key, an empty body that is not http.NoBody (it goes
// out as an empty chunked body instead of "Content-Length: 0"). Such a request is never
// replayed by net/http: every resend is a retry of the retry policy, budgeted, counted, and
// only for requests that are safe to repeat or were never sent.
//
// A bodiless GET, HEAD, OPTIONS or TRACE keeps net/http's replay (RFC 9110 9.2.2: a safe
// request may be retried automatically on a connection that closed before answering): an
// empty body would make net/http probe it on a goroutine of its own with a timer for every
// attempt. A replay is still counted: each time net/http writes the request again, the
// attempt reports one more (retry) attempt to the hook and to the request's correlation
// record.
//
// It also reads the response body whole, up to maxBytes, inside the attempt, so that the
// attempt timeout covers the body, a body cut or stalled mid-way fails the attempt (and may
// be retried), and the connection goes back to the pool at once. A larger body fails with
// ErrResponseTooLarge.
type attempt struct {
	base      http.RoundTripper
	maxBytes  int64
	name      string
	onAttempt func(upstream string, retry bool)
	timeout   time.Duration // the attempt timeout; 0: the call's timeout bounds the attempt
}

// wroteTrace counts the times net/http wrote the whole request (its WroteRequest hook):
// more than once when it replayed a safe request.
type wroteTrace struct {
	writes atomic.Int32
	trace  httptrace.ClientTrace
}

func (w *wroteTrace) wroteRequest(i httptrace.WroteRequestInfo) {
	if i.Err == nil {
		w.writes.Add(1)
	}
}

// send sends one attempt under its own deadline: the call's (c), or the attempt timeout's
// when it ends first. An attempt that runs out of the attempt timeout fails with
// timeout.ErrExceeded, as a failsafe-go Timeout policy between the breaker and the attempt
// would make it fail; one that runs out of the call's deadline ends the call (c.expire).
func (a *attempt) send(c *callCtx, req *http.Request, body io.ReadCloser) (*http.Response, error) {
	d, own := c.deadline, false
	if a.timeout > 0 {
		if t := time.Now().Add(a.timeout); t.Before(d) {
			d, own = t, true
		}
	}
	actx, cancel := context.WithDeadline(c.Context, d)
	resp, err := a.roundTrip(actx, req, body)
	cancel()
	if err != nil && c.Context.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		if !own {
			c.expire()
		}
		return nil, timeout.ErrExceeded
	}
	return resp, err
}

// RoundTrip sends one attempt of req, outside any policy.
func (a *attempt) RoundTrip(req *http.Request) (*http.Response, error) {
	return a.roundTrip(req.Context(), req, req.Body)
}

// roundTrip sends req with body in ctx (the execution's: its timeouts, the request's values).
func (a *attempt) roundTrip(ctx context.Context, req *http.Request, body io.ReadCloser) (*http.Response, error) {
	w := &wroteTrace{}
	w.trace.WroteRequest = w.wroteRequest
	out := req.WithContext(httptrace.WithClientTrace(ctx, &w.trace))
	out.Body, out.GetBody = body, nil
	if (out.Body == nil || out.Body == http.NoBody) && keyedUnsafe(out) {
		out.Body, out.ContentLength = emptyBody{}, 0
	}
	resp, err := a.base.RoundTrip(out)
	if n := w.writes.Load(); n > 1 {
		a.replayed(ctx, int(n-1))
	}
	if err != nil {
		if w.writes.Load() == 0 {
			err = &NotSentError{Err: err}
		}
		return nil, err
	}
	if out.Method == http.MethodHead {
		return resp, nil // no body; Content-Length describes the GET
	}
	buf, err := readCapped(resp.Body, resp.ContentLength, a.maxBytes)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = newBody(buf)
	resp.ContentLength = int64(len(buf.b))
	return resp, nil
}

// readCapped reads r whole, failing with ErrResponseTooLarge beyond maxBytes. A body of
// announced length is read into one buffer of that length (plus one byte, to see a longer
// body), taken from a pool when it is small (see bodyBuffers), and copied nowhere else.
func readCapped(r io.Reader, announced, maxBytes int64) (buffer, error) {
	if announced > maxBytes {
		return buffer{}, fmt.Errorf("%w (Content-Length %d > %d)", ErrResponseTooLarge, announced, maxBytes)
	}
	var buf bytes.Buffer
	if announced > 0 {
		b := getBuffer(int(announced) + 1)
		n, err := readFull(r, b.b)
		if err != nil {
			b.put()
			return buffer{}, fmt.Errorf("reading the response body: %w", err)
		}
		if int64(n) <= announced {
			b.b = b.b[:n:n]
			return b, nil
		}
		buf.Write(b.b[:n]) // longer than announced: read on, capped
		b.put()
	}
	_, err := buf.ReadFrom(io.LimitReader(r, maxBytes+1-int64(buf.Len())))
	if err != nil {
		return buffer{}, fmt.Errorf("reading the response body: %w", err)
	}
	if int64(buf.Len()) > maxBytes {
		return buffer{}, fmt.Errorf("%w (more than %d bytes)", ErrResponseTooLarge, maxBytes)
	}
	return buffer{b: buf.Bytes()}, nil
}

// Response bodies of up to maxPooledBody bytes are read into buffers from pools, one per
// power of two from minPooledBody, and given back when the body is closed: the largest
// allocation of a proxied call, and most of the garbage it leaves, is then reused.
const (
	minPooledBody = 512
	maxPooledBody = 64 << 10
)

// bodyBuffers holds the pools: index i holds buffers of capacity minPooledBody<<i, the
// smallest power of two from minPooledBody that holds the body (up to maxPooledBody).
var bodyBuffers [8]sync.Pool

// buffer is the bytes of one response body, and the pool its backing array goes back to
// (nil: none).
type buffer struct {
	b       []byte
	backing *[]byte // all of b's array, as the pool holds it
	pool    *sync.Pool
}

// getBuffer returns a buffer of length n: pooled when n is at most maxPooledBody.
func getBuffer(n int) buffer {
	if n > maxPooledBody {
		return buffer{b: make([]byte, n)}
	}
	i := bits.Len(uint((max(n, minPooledBody) - 1) / minPooledBody))
	pool := &bodyBuffers[i]
	backing, ok := pool.Get().(*[]byte)
	if !ok {
		b := make([]byte, minPooledBody<<i)
		backing = &b
	}
	return buffer{b: (*backing)[:n], backing: backing, pool: pool}
}

// put gives a pooled buffer back; its bytes must not be used after.
func (b buffer) put() {
	if b.pool == nil {
		return
	}
	b.pool.Put(b.backing)
}

// readFull reads into b until it is full or r ends (io.EOF is not an error).
func readFull(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// body is a response body read whole by the attempt: one allocation for the reader and its
// Close, and its bytes available to the final check without a copy (BodyBytes). Close gives
// a pooled buffer back: after it, the body reads as empty and BodyBytes reports nothing.
type body struct {
	bytes.Reader
	buf    buffer
	closed bool
	strict []byte // the body's one JSON value, as a strict check found it (MarkStrictJSON)
}

func newBody(buf buffer) *body {
	r := &body{buf: buf}
	r.Reset(buf.b)
	return r
}

// Close gives the body's buffer back (the network body was closed by the attempt). The bytes
// BodyBytes returned must not be used after it.
func (b *body) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	b.Reset(nil)
	b.buf.put()
	b.buf, b.strict = buffer{}, nil
	return nil
}

// BodyBytes returns the whole content of a response body the policies read (every final
// response but a HEAD's), when nothing of it has been read yet, without copying it; the
// caller must not modify the bytes, nor use them once the body is closed. It reports false
// for any other body.
func BodyBytes(r io.Reader) ([]byte, bool) {
	b, ok := r.(*body)
	if !ok || b.closed || b.Len() != len(b.buf.b) {
		return nil, false
	}
	return b.buf.b, true
}

// MarkStrictJSON records on a body BodyBytes returned that a strict JSON check
// (strictjson.Accepts) accepted its content, whose one value is v (a part of those bytes),
// so that a later reader of the same answer (the binding, after the upstream contract check)
// need not check it again. Bodies BodyBytes does not return are left alone.
func MarkStrictJSON(r io.Reader, v []byte) {
	if _, ok := BodyBytes(r); ok {
		r.(*body).strict = v
	}
}

// StrictJSON returns the value MarkStrictJSON recorded on a body BodyBytes still returns
// (unread, not closed); the same rules hold for the bytes.
func StrictJSON(r io.Reader) ([]byte, bool) {
	if _, ok := BodyBytes(r); !ok {
		return nil, false
	}
	v := r.(*body).strict
	return v, v != nil
}

// keyedUnsafe reports whether net/http would replay req, bodiless, only because of its
// Idempotency-Key (net/http Request.isReplayable): a method that is not safe with a key.
func keyedUnsafe(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// replayed reports n resends net/http made of a safe request inside one attempt: as retry
// attempts to the hook and on the request's correlation record (the access log's
// upstreamAttempts).
func (a *attempt) replayed(ctx context.Context, n int) {
	for range n {
		if a.onAttempt != nil {
			a.onAttempt(a.name, true)
		}
	}
	if info := correlation.FromContext(ctx); info != nil {
		info.UpstreamAttempts.Add(int32(n))
	}
}

// emptyBody is an empty request body that is not http.NoBody (see attempt).
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }
