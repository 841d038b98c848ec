package resilience

import (
	"errors"
	"fmt"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"time"
)

// Contract modes: what the gateway does with an upstream response outside the upstream's
// own contract (enforced by package upstream, configured here with the other call policies).
const (
	// ContractEnforce answers 502 UPSTREAM_CONTRACT_VIOLATION. The default.
	ContractEnforce = "enforce"
	// ContractLog logs the violation (never the body) and lets the response through.
	ContractLog = "log"
	// ContractOff does not validate responses (the body size cap still applies).
	ContractOff = "off"
)

// Config is how the gateway calls one upstream: every policy of the call, built once at
// start-up. Durations are Go duration strings in YAML ("250ms", "2s"). A zero field takes
// its documented default in SetDefaults; references for the defaults are Envoy's retry,
// retry-budget and outlier-detection settings and resilience4j's breaker and bulkhead.
//
// It is meant to be embedded per upstream in the gateway configuration, flattened
// (yaml ",inline") so that the keys read upstreams.<name>.timeout,
// upstreams.<name>.retry.maxAttempts, upstreams.<name>.circuitBreaker.delay, ...
type Config struct {
	// Timeout bounds one whole call: every attempt, the backoff between attempts and the
	// response bodies (not the wait for a bulkhead slot, see Bulkhead.MaxWait). Default 2s.
	Timeout time.Duration `yaml:"timeout"`
	// AttemptTimeout bounds one attempt, response body included; a timed-out attempt is
	// retried when the request is safe to retry. Must not exceed Timeout. Default: Timeout
	// (one attempt may use the whole call; Envoy's per_try_timeout default).
	AttemptTimeout time.Duration `yaml:"attemptTimeout"`
	// MaxResponseBytes caps an upstream response body, in bytes; a larger body is
	// UPSTREAM_CONTRACT_VIOLATION. Default 4194304 (4 MiB).
	MaxResponseBytes int64 `yaml:"maxResponseBytes"`
	// Contract is enforce (default), log or off: see ContractEnforce.
	Contract string `yaml:"contract"`
	// Retry configures retries.
	Retry Retry `yaml:"retry"`
	// CircuitBreaker configures the circuit breaker.
	CircuitBreaker CircuitBreaker `yaml:"circuitBreaker"`
	// Bulkhead bounds the calls in flight to the upstream.
	Bulkhead Bulkhead `yaml:"bulkhead"`
}

// Retry configures retries. Only requests that are safe to repeat are retried once they may
// have reached the upstream (GET, HEAD, OPTIONS, PUT, DELETE, or any method carrying an
// Idempotency-Key); any request is retried when it was never sent (connection refused).
// 4xx answers are never retried; 5xx (except 501), resets, cut bodies and attempt timeouts
// are.
type Retry struct {
	// MaxAttempts is the number of attempts, the first included; 1 disables retries.
	// Default 3.
	MaxAttempts int `yaml:"maxAttempts"`
	// InitialBackoff is the backoff before the first retry; it doubles per retry up to
	// MaxBackoff, and each wait is drawn uniformly from [backoff/2, backoff]. Default 25ms
	// (Envoy's base_interval).
	InitialBackoff time.Duration `yaml:"initialBackoff"`
	// MaxBackoff caps the backoff. Default 250ms (Envoy: 10 x base_interval).
	MaxBackoff time.Duration `yaml:"maxBackoff"`
	// MaxRetryAfter is the longest Retry-After (on 503 and 429) the gateway waits for: a
	// shorter one replaces the backoff, a longer one ends the retries. Must be below
	// Timeout. Default 1s (half of Timeout when that is shorter).
	MaxRetryAfter time.Duration `yaml:"maxRetryAfter"`
	// Budget caps retries as a share of the traffic in flight.
	Budget Budget `yaml:"budget"`
}

// Budget caps retries as a share of the calls in flight to the upstream (Envoy's
// retry_budget, failsafe-go's budget): a retry is refused, with UPSTREAM_OVERLOADED, when
// more than MaxRatio of the in-flight calls are retries and at least MinConcurrency retries
// are already in flight.
type Budget struct {
	// MaxRatio is the share of in-flight calls that may be retries, in (0, 1]. Default 0.2.
	MaxRatio float64 `yaml:"maxRatio"`
	// MinConcurrency is the number of concurrent retries always allowed. Default 3.
	MinConcurrency int `yaml:"minConcurrency"`
}

// CircuitBreaker configures the breaker. It opens when either trigger fires:
// FailureThreshold consecutive failures, or a failure rate of at least FailureRate over
// Window once MinRequests calls were seen in it. Both count attempts, not calls (a call
// retried twice is three attempts). Failures are 5xx answers, transport errors (refused,
// reset, body cut mid-way) and timeouts; 4xx answers, contract violations and oversized
// bodies are not; a caller that went away is not counted (only a half-open trial it held is
// released, as a success: failsafe-go cannot release it otherwise).
type CircuitBreaker struct {
	// FailureThreshold is the number of consecutive failed attempts that opens the circuit.
	// Default 5 (Envoy's consecutive_5xx).
	FailureThreshold int `yaml:"failureThreshold"`
	// FailureRate is the failure rate, in (0, 1], that opens the circuit. Default 0.5
	// (resilience4j's failureRateThreshold).
	FailureRate float64 `yaml:"failureRate"`
	// MinRequests is the number of attempts in Window before FailureRate applies.
	// Default 20.
	MinRequests int `yaml:"minRequests"`
	// Window is the rolling window of FailureRate. Default 10s.
	Window time.Duration `yaml:"window"`
	// Delay is how long the circuit stays open before it half-opens. Default 5s.
	Delay time.Duration `yaml:"delay"`
	// HalfOpenTrials is the number of trial attempts let through when half-open; all must
	// succeed to close the circuit, any failure opens it again. Default 3.
	HalfOpenTrials int `yaml:"halfOpenTrials"`
}

// Bulkhead bounds the calls in flight to the upstream; a call that finds it full waits up
// to MaxWait, then fails with UPSTREAM_OVERLOADED.
type Bulkhead struct {
	// MaxConcurrent is the number of calls in flight. Default 100.
	MaxConcurrent int `yaml:"maxConcurrent"`
	// MaxWait is how long a call may wait for a slot; 0 (the default) fails at once.
	MaxWait time.Duration `yaml:"maxWait"`
}

// Defaults of Config, as documented on its fields.
const (
	DefaultTimeout          = 2 * time.Second
	DefaultMaxResponseBytes = 4 << 20
	DefaultMaxAttempts      = 3
	DefaultInitialBackoff   = 25 * time.Millisecond
	DefaultMaxBackoff       = 250 * time.Millisecond
	DefaultMaxRetryAfter    = time.Second
	DefaultBudgetRatio      = 0.2
	DefaultBudgetMinConc    = 3
	DefaultFailureThreshold = 5
	DefaultFailureRate      = 0.5
	DefaultMinRequests      = 20
	DefaultWindow           = 10 * time.Second
	DefaultDelay            = 5 * time.Second
	DefaultHalfOpenTrials   = 3
	DefaultMaxConcurrent    = 100
)

// SetDefaults fills every unset (zero) field with its documented default.
func (c *Config) SetDefaults() {
	setDur(&c.Timeout, DefaultTimeout)
	setDur(&c.AttemptTimeout, c.Timeout)
	setNum(&c.MaxResponseBytes, DefaultMaxResponseBytes)
	if c.Contract == "" {
		c.Contract = ContractEnforce
	}
	r := &c.Retry
	setNum(&r.MaxAttempts, DefaultMaxAttempts)
	setDur(&r.InitialBackoff, DefaultInitialBackoff)
	setDur(&r.MaxBackoff, max(DefaultMaxBackoff, r.InitialBackoff))
	setDur(&r.MaxRetryAfter, min(DefaultMaxRetryAfter, c.Timeout/2))
	setNum(&r.Budget.MaxRatio, DefaultBudgetRatio)
	setNum(&r.Budget.MinConcurrency, DefaultBudgetMinConc)
	b := &c.CircuitBreaker
	setNum(&b.FailureThreshold, DefaultFailureThreshold)
	setNum(&b.FailureRate, DefaultFailureRate)
	setNum(&b.MinRequests, DefaultMinRequests)
	setDur(&b.Window, DefaultWindow)
	setDur(&b.Delay, DefaultDelay)
	setNum(&b.HalfOpenTrials, DefaultHalfOpenTrials)
	setNum(&c.Bulkhead.MaxConcurrent, DefaultMaxConcurrent)
}

// Validate checks a defaulted Config. It returns every problem, each a *FieldError whose
// Path is relative to the Config ("retry.maxAttempts"); see FieldErrors.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	positive := func(path string, d time.Duration) {
		if d <= 0 {
			bad(path, "must be a positive duration, got %s", d)
		}
	}
	positive("timeout", c.Timeout)
	positive("attemptTimeout", c.AttemptTimeout)
	if c.AttemptTimeout > c.Timeout {
		bad("attemptTimeout", "must not exceed timeout (%s), got %s", c.Timeout, c.AttemptTimeout)
	}
	if c.MaxResponseBytes < 1 || c.MaxResponseBytes > 1<<30 {
		bad("maxResponseBytes", "must be between 1 and 1073741824 bytes, got %d", c.MaxResponseBytes)
	}
	switch c.Contract {
	case ContractEnforce, ContractLog, ContractOff:
	default:
		bad("contract", "must be enforce, log or off, got %q", c.Contract)
	}
	r := c.Retry
	if r.MaxAttempts < 1 || r.MaxAttempts > 10 {
		bad("retry.maxAttempts", "must be between 1 and 10, got %d", r.MaxAttempts)
	}
	positive("retry.initialBackoff", r.InitialBackoff)
	if r.MaxBackoff < r.InitialBackoff {
		bad("retry.maxBackoff", "must be at least retry.initialBackoff (%s), got %s", r.InitialBackoff, r.MaxBackoff)
	}
	positive("retry.maxRetryAfter", r.MaxRetryAfter)
	if r.MaxRetryAfter >= c.Timeout {
		bad("retry.maxRetryAfter", "must be below timeout (%s), got %s", c.Timeout, r.MaxRetryAfter)
	}
	if !(r.Budget.MaxRatio > 0 && r.Budget.MaxRatio <= 1) {
		bad("retry.budget.maxRatio", "must be in (0, 1], got %v", r.Budget.MaxRatio)
	}
	if r.Budget.MinConcurrency < 1 {
		bad("retry.budget.minConcurrency", "must be at least 1, got %d", r.Budget.MinConcurrency)
	}
	b := c.CircuitBreaker
	if b.FailureThreshold < 1 {
		bad("circuitBreaker.failureThreshold", "must be at least 1, got %d", b.FailureThreshold)
	}
	if !(b.FailureRate > 0 && b.FailureRate <= 1) {
		bad("circuitBreaker.failureRate", "must be in (0, 1], got %v", b.FailureRate)
	}
	if b.MinRequests < 1 {
		bad("circuitBreaker.minRequests", "must be at least 1, got %d", b.MinRequests)
	}
	positive("circuitBreaker.window", b.Window)
	positive("circuitBreaker.delay", b.Delay)
	if b.HalfOpenTrials < 1 || b.HalfOpenTrials > 100 {
		bad("circuitBreaker.halfOpenTrials", "must be between 1 and 100, got %d", b.HalfOpenTrials)
	}
	if c.Bulkhead.MaxConcurrent < 1 {
		bad("bulkhead.maxConcurrent", "must be at least 1, got %d", c.Bulkhead.MaxConcurrent)
	}
	if c.Bulkhead.MaxWait < 0 {
		bad("bulkhead.maxWait", "must not be negative, got %s", c.Bulkhead.MaxWait)
	}
	return errors.Join(errs...)
}

// FieldError is a configuration problem at a key path relative to Config, such as
// "circuitBreaker.delay". The embedding configuration prefixes it with its own path.
type FieldError = configerr.FieldError

// FieldErrors returns every *FieldError in err (as joined by Validate), in order.
func FieldErrors(err error) []*FieldError { return configerr.List(err) }

func setDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

func setNum[T int | int64 | float64](n *T, v T) {
	if *n == 0 {
		*n = v
	}
}
