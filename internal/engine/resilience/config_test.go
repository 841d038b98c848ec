package resilience

import (
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDefaults(t *testing.T) {
	var c Config
	c.SetDefaults()
	want := Config{
		Timeout:          2 * time.Second,
		AttemptTimeout:   2 * time.Second,
		MaxResponseBytes: 4 << 20,
		Contract:         ContractEnforce,
		Retry: Retry{
			MaxAttempts: 3, InitialBackoff: 25 * time.Millisecond, MaxBackoff: 250 * time.Millisecond,
			MaxRetryAfter: time.Second, Budget: Budget{MaxRatio: 0.2, MinConcurrency: 3},
		},
		CircuitBreaker: CircuitBreaker{
			FailureThreshold: 5, FailureRate: 0.5, MinRequests: 20, Window: 10 * time.Second,
			Delay: 5 * time.Second, HalfOpenTrials: 3,
		},
		Bulkhead: Bulkhead{MaxConcurrent: 100},
	}
	if c != want {
		t.Fatalf("defaults\n got %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Dependent defaults follow the timeout they depend on.
	short := Config{Timeout: 500 * time.Millisecond}
	short.SetDefaults()
	if short.AttemptTimeout != 500*time.Millisecond || short.Retry.MaxRetryAfter != 250*time.Millisecond {
		t.Fatalf("attemptTimeout %s, maxRetryAfter %s", short.AttemptTimeout, short.Retry.MaxRetryAfter)
	}
	if err := short.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	c := Config{
		Timeout:          time.Second,
		AttemptTimeout:   2 * time.Second,
		MaxResponseBytes: -1,
		Contract:         "strict",
		Retry: Retry{
			MaxAttempts: 11, InitialBackoff: time.Second, MaxBackoff: time.Millisecond, MaxRetryAfter: time.Second,
			Budget: Budget{MaxRatio: 1.5, MinConcurrency: -1},
		},
		CircuitBreaker: CircuitBreaker{FailureThreshold: -1, FailureRate: 2, MinRequests: -1, Window: -time.Second, Delay: -time.Second, HalfOpenTrials: 101},
		Bulkhead:       Bulkhead{MaxConcurrent: -1, MaxWait: -time.Second},
	}
	var paths []string
	for _, fe := range FieldErrors(c.Validate()) {
		paths = append(paths, fe.Path)
	}
	want := []string{
		"attemptTimeout", "maxResponseBytes", "contract",
		"retry.maxAttempts", "retry.maxBackoff", "retry.maxRetryAfter",
		"retry.budget.maxRatio", "retry.budget.minConcurrency",
		"circuitBreaker.failureThreshold", "circuitBreaker.failureRate", "circuitBreaker.minRequests",
		"circuitBreaker.window", "circuitBreaker.delay", "circuitBreaker.halfOpenTrials",
		"bulkhead.maxConcurrent", "bulkhead.maxWait",
	}
	if !slices.Equal(paths, want) {
		t.Fatalf("problems at\n %v\nwant\n %v\n%v", paths, want, c.Validate())
	}
	if _, err := New("x", c); err == nil {
		t.Fatal("New accepted an invalid configuration")
	}
}
