package resilience

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errCallTimeout is the cause of a call's context when its whole-call timeout expired.
var errCallTimeout = errors.New("the call's timeout expired")

// closed is a closed channel: the Done of a call whose deadline an attempt ran into.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// callCtx is the context the executor runs one call in: the request's context with the
// whole-call deadline. It is part of the pooled per-call state (run), so that the executors
// bound to it are built once per pooled state rather than per call, and it starts no timer
// of its own unless something waits on it (Done: the retry policy's backoff). Every attempt
// runs under a context of its own whose deadline is the call's or an earlier one
// (attempt.send); an attempt that runs into the call's deadline ends the call (expire), as
// the expiry of a timer would have. Err and Done agree: Err is non-nil once Done is closed.
//
// It is used by one call at a time, between start and stop, and by nothing after stop: the
// executor runs synchronously and never hands it to an attempt's transport.
type callCtx struct {
	context.Context // the request's
	deadline        time.Time

	mu      sync.Mutex
	expired bool               // an attempt ran into the deadline
	timed   context.Context    // made by the first Done: the request's context with the deadline
	cancel  context.CancelFunc // timed's
}

// start readies c for a call of the request context parent ending at deadline.
func (c *callCtx) start(parent context.Context, deadline time.Time) {
	c.Context, c.deadline = parent, deadline
}

// stop ends the call: it releases the timer, if Done made one, and forgets the call.
func (c *callCtx) stop() {
	c.mu.Lock()
	if c.cancel != nil {
		c.cancel()
	}
	c.Context, c.timed, c.cancel, c.expired = nil, nil, nil, false
	c.mu.Unlock()
}

// expire records that an attempt ran into the call's deadline.
func (c *callCtx) expire() {
	c.mu.Lock()
	c.expired = true
	c.mu.Unlock()
}

// timedOut reports whether the call's deadline, rather than the request's context, ended it.
func (c *callCtx) timedOut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expired || (c.timed != nil && errors.Is(context.Cause(c.timed), errCallTimeout))
}

// Deadline returns the call's deadline, or the request's when that is earlier.
func (c *callCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// Done returns a channel closed when the request's context is done or the deadline passed.
func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expired {
		return closed
	}
	if c.timed == nil {
		c.timed, c.cancel = context.WithDeadlineCause(c.Context, c.deadline, errCallTimeout)
	}
	return c.timed.Done()
}

// Err returns context.DeadlineExceeded once the call's deadline was seen to pass (by a
// backoff waiting on Done, or an attempt that ran out of it), the request context's error
// once it is done, and nil before. An attempt that answers in time is not undone by the
// deadline passing after it.
func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.expired:
		return context.DeadlineExceeded
	case c.timed != nil:
		return c.timed.Err()
	}
	return c.Context.Err()
}
