package resilience

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// call is the RoundTripper the http.Client uses: it picks the executor by the request's
// safety, runs it, checks the final response and reports the outcome.
type call struct {
	policy           *Policy
	repeatable, once http.RoundTripper
}

// RoundTrip runs one call through the policies.
//
// The call gets its own context, canceled when it returns: failsafehttp ties a context (and
// a goroutine merging it with the request's) to every attempt and releases them only when
// that attempt's response body is closed, which never happens for a response retried away.
// Bodies are read whole inside the attempt (the network body is drained, capped, and closed
// there, so its connection is reused at once), so nothing needs these contexts once the
// call returns; canceling them here bounds their life to the call.
func (c *call) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	rt := c.once
	if Repeatable(req) {
		rt = c.repeatable
	}
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	resp, err := rt.RoundTrip(req.WithContext(ctx))
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

// attempt is the innermost RoundTripper: one attempt on the wire.
//
// It switches off net/http's transparent replay. http.Transport silently resends a request
// that failed on a reused keep-alive connection before any answer byte when the request is
// "replayable" (net/http Request.isReplayable): its body is nil, NoBody or rewindable
// through GetBody, AND its method is GET, HEAD, OPTIONS or TRACE or it carries an
// Idempotency-Key (or X-Idempotency-Key) header. So a POST with an Idempotency-Key could be
// sent twice with no policy, budget or metric seeing it. The attempt therefore sends a
// shallow copy with GetBody cleared (a body that cannot be rewound is not replayable) and,
// for a bodiless request that would be replayable, an empty body that is not http.NoBody.
// On the wire nothing changes for a bodiless GET, HEAD or OPTIONS (net/http probes the
// body, finds it empty and sends none); a bodiless POST carrying an Idempotency-Key goes
// out with an empty chunked body instead of "Content-Length: 0". The request is then never
// replayed by net/http, and every resend is a retry of the retry policy: budgeted, counted,
// and only for requests that are safe to repeat or were never sent.
//
// It also reads the response body whole, up to maxBytes, inside the attempt, so that the
// attempt timeout covers the body, a body cut or stalled mid-way fails the attempt (and may
// be retried), and the connection goes back to the pool at once. A larger body fails with
// ErrResponseTooLarge.
type attempt struct {
	base     http.RoundTripper
	maxBytes int64
}

// RoundTrip sends one attempt.
func (a *attempt) RoundTrip(req *http.Request) (*http.Response, error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			wrote.Store(true)
		}
	}}
	out := req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	out.GetBody = nil
	if (out.Body == nil || out.Body == http.NoBody) && replayableWithoutBody(out) {
		out.Body, out.ContentLength = emptyBody{}, 0
	}
	resp, err := a.base.RoundTrip(out)
	if err != nil {
		if !wrote.Load() {
			err = &NotSentError{Err: err}
		}
		return nil, err
	}
	if out.Method == http.MethodHead {
		return resp, nil // no body; Content-Length describes the GET
	}
	body, err := readCapped(resp.Body, resp.ContentLength, a.maxBytes)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// readCapped reads r whole, failing with ErrResponseTooLarge beyond maxBytes.
func readCapped(r io.Reader, announced, maxBytes int64) ([]byte, error) {
	if announced > maxBytes {
		return nil, fmt.Errorf("%w (Content-Length %d > %d)", ErrResponseTooLarge, announced, maxBytes)
	}
	var buf bytes.Buffer
	if announced > 0 {
		buf.Grow(int(announced))
	}
	n, err := buf.ReadFrom(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the response body: %w", err)
	}
	if n > maxBytes {
		return nil, fmt.Errorf("%w (more than %d bytes)", ErrResponseTooLarge, maxBytes)
	}
	return buf.Bytes(), nil
}

// replayableWithoutBody mirrors net/http's Request.isReplayable for a bodiless request.
func replayableWithoutBody(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// emptyBody is an empty request body that is not http.NoBody (see attempt).
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }
