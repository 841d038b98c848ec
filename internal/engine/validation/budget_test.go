package validation

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

func TestBodyBudget(t *testing.T) {
	t.Parallel()
	const budget = 1 << 20
	tests := []struct {
		desc       string
		held       int64 // charged by other requests
		raw        string
		wantCharge int64 // 0: refused
	}{
		{"size plus each container", 0, `{"a":[1,2],"b":{}}`, 18 + 3*BytesPerContainer},
		{"no containers", 0, `"` + strings.Repeat("a", 1000) + `"`, 1002},
		{"tiny objects cost more than their bytes", 0, "[" + strings.Repeat("{},", 999) + "{}]", 3001 + 1001*BytesPerContainer},
		{"charged at most the whole budget", 0, strings.Repeat("[", 4000) + strings.Repeat("]", 4000), budget},
		{"waits, then refused when full", budget, `{}`, 0},
		{"refused when the rest is too small", budget - 100, `{"a":1}`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			v := &Validator{bodies: semaphore.NewWeighted(budget), maxBodies: budget, bodyWait: 10 * time.Millisecond}
			if tc.held > 0 && !v.bodies.TryAcquire(tc.held) {
				t.Fatal("could not hold the budget")
			}
			release, err := v.reserve(context.Background(), []byte(tc.raw))
			if tc.wantCharge == 0 {
				e := apierror.From(err)
				if e.Status != http.StatusServiceUnavailable || e.Code != apierror.ErrUpstreamOverloaded.Code || e.Header.Get("Retry-After") == "" {
					t.Fatalf("reserve with the budget full: %v, want 503 UPSTREAM_OVERLOADED with Retry-After", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.bodies.TryAcquire(budget - tc.wantCharge + 1) {
				t.Fatalf("charged less than %d", tc.wantCharge)
			}
			if rest := budget - tc.wantCharge; rest > 0 {
				if !v.bodies.TryAcquire(rest) {
					t.Fatalf("charged more than %d", tc.wantCharge)
				}
				v.bodies.Release(rest)
			}
			release()
			if !v.bodies.TryAcquire(budget) {
				t.Fatal("the charge was not given back")
			}
		})
	}
}

func TestBodyBudgetClientGone(t *testing.T) {
	t.Parallel()
	v := &Validator{bodies: semaphore.NewWeighted(10), maxBodies: 10, bodyWait: time.Minute}
	v.bodies.TryAcquire(10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.reserve(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("reserve for a client that went away: %v, want context.Canceled", err)
	}
}
