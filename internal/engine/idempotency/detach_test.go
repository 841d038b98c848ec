package idempotency

import (
	"context"
	"errors"
	"testing"
	"time"
)

type detachKey struct{}

// TestDetach holds detach to context.WithoutCancel's behaviour: values through, no deadline,
// no cancellation, no cause; and a child's cancellation its own.
func TestDetach(t *testing.T) {
	cause := errors.New("client went away")
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), detachKey{}, "v"))
	parent, cancelT := context.WithTimeout(parent, time.Hour)
	defer cancelT()
	d := detach(parent)
	cancel(cause)
	if parent.Err() == nil || context.Cause(parent) != cause {
		t.Fatalf("parent not canceled: %v", context.Cause(parent))
	}
	if got := d.Value(detachKey{}); got != "v" {
		t.Errorf("Value = %v, want v", got)
	}
	if _, ok := d.Deadline(); ok {
		t.Error("detached context has a deadline")
	}
	if d.Done() != nil || d.Err() != nil || context.Cause(d) != nil {
		t.Errorf("detached context canceled: err %v, cause %v", d.Err(), context.Cause(d))
	}
	child, cancelChild := context.WithCancel(d)
	if child.Err() != nil {
		t.Fatalf("child of a detached context born canceled: %v", child.Err())
	}
	cancelChild()
	if !errors.Is(context.Cause(child), context.Canceled) {
		t.Errorf("child's cause = %v, want context.Canceled", context.Cause(child))
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = d.Value(detachKey{}) }); allocs != 0 {
		t.Errorf("Value allocates %.0f times", allocs)
	}
}
