package metrics

import (
	"fmt"
	"strings"
	"testing"
)

// Values the guard cuts or replaces (raw input passed by mistake) are not kept: they neither
// stay in memory nor take the room of real tuples, which are kept and counted as before.
func TestGuardedValuesAreNotKept(t *testing.T) {
	t.Parallel()
	m := New()
	long := strings.Repeat("x", MaxLabelLength+1)
	for n := range maxHandles + 100 {
		m.AuthFailure(fmt.Sprintf("%s%d", long, n)) // cut by the guard: OtherValue
		m.AuthFailure(fmt.Sprintf("bad\xff%d", n))  // invalid UTF-8: OtherValue
	}
	if n := len(m.authFailures.handles.m); n != 0 {
		t.Fatalf("%d handles kept for values the guard replaced", n)
	}
	m.AuthFailure("expired")
	m.AuthFailure("expired")
	if _, ok := m.authFailures.handles.m[[3]string{"expired"}]; !ok || len(m.authFailures.handles.m) != 1 {
		t.Fatalf("handles %v, want the one of reason expired", m.authFailures.handles.m)
	}
	got := map[string]float64{}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == Namespace+"_auth_failures_total" {
			for _, s := range f.GetMetric() {
				got[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			}
		}
	}
	if got[OtherValue] != 2*(maxHandles+100) || got["expired"] != 2 || len(got) != 2 {
		t.Fatalf("auth failures by reason: %v", got)
	}
}
