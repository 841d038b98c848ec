package e2e_test

import (
	"testing"
	"time"
)

// waitUntil polls cond (every 5 ms, up to 10 s) for a state change the gateway does not
// signal to its clients (an upstream's counters, a claim ending).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
