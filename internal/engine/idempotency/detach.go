package idempotency

import (
	"context"
	"fmt"
	"time"
)

// detach returns a context that carries ctx's values but not its cancellation or deadline,
// as context.WithoutCancel does, and looks values up without allocating: the context
// package's WithoutCancel boxes itself on every Value call that passes through it, and the
// handler of a claimed request looks up several (the correlation record, the caller's
// identity, the span), each call an allocation.
//
// Only a lookup of the context package's own cancellation key (context.Cause) needs
// WithoutCancel's special case: a key of that key's type, *int, is looked up through
// context.WithoutCancel, which gives its exact answer.
func detach(ctx context.Context) context.Context { return &detached{parent: ctx} }

type detached struct{ parent context.Context }

func (*detached) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*detached) Done() <-chan struct{}       { return nil }
func (*detached) Err() error                  { return nil }

func (d *detached) Value(key any) any {
	if _, ok := key.(*int); ok {
		return context.WithoutCancel(d.parent).Value(key)
	}
	return d.parent.Value(key)
}

func (d *detached) String() string { return fmt.Sprint(d.parent) + ".WithoutCancel" }
