package ratelimit_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/ratelimit"
	"github.com/contractgate/contractgate/internal/tooling/redistest"
)

func requestFrom(remote string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v1/orders", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// checkRefusal asserts a 429 of the guard: Retry-After and the RateLimit fields.
func checkRefusal(t *testing.T, err error, retryAfter string) {
	t.Helper()
	var e *apierror.Error
	if !errors.As(err, &e) || !errors.Is(err, apierror.ErrRateLimitExceeded) || !errors.Is(err, ratelimit.ErrAuthFailures) {
		t.Fatalf("err %v, want the auth-failures 429", err)
	}
	if got := e.Header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After %q, want %q", got, retryAfter)
	}
	if got := e.Header.Get("RateLimit-Policy"); got != `"auth-failures";q=3;w=3` {
		t.Fatalf("RateLimit-Policy %q", got)
	}
	if got := e.Header.Get("RateLimit"); got != `"auth-failures";r=0;t=`+retryAfter {
		t.Fatalf("RateLimit %q", got)
	}
}

func TestAuthGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		redis bool
	}{{"memory", false}, {"redis", true}}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var c clock
			c.advance(time.Hour)
			cfg := ratelimit.Config{
				AuthFailures:   ratelimit.AuthFailures{Requests: 3, Window: 3 * time.Second},
				TrustedProxies: []string{"10.0.0.1"},
			}
			var opts []ratelimit.Option
			if tt.redis {
				cfg.Store, cfg.Redis = ratelimit.StoreRedis, ratelimit.Redis{Timeout: 2 * time.Second}
				opts = append(opts, ratelimit.WithRedis(redisClient(t, redistest.Start(t).Addr)))
			}
			var decisions []bool
			cfg.Hooks.OnDecision = func(p string, allowed bool) {
				if p != ratelimit.AuthFailuresPolicyName {
					t.Errorf("policy %q", p)
				}
				decisions = append(decisions, allowed)
			}
			g, err := ratelimit.NewAuthGuardForTest(cfg, discardLogger(), c.now, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = g.Close() })
			attacker := requestFrom("192.0.2.7:4000")
			for i := range 3 {
				if err := g.Check(attacker); err != nil {
					t.Fatalf("check %d: %v", i, err)
				}
				if err := g.Fail(attacker); err != nil {
					t.Fatalf("failure %d within the budget: %v", i, err)
				}
			}
			// Spent: refused before verifying, the same from another port or through a
			// forged X-Forwarded-For (the peer is not a trusted proxy).
			checkRefusal(t, g.Check(attacker), "1")
			checkRefusal(t, g.Check(requestFrom("192.0.2.7:4001", "X-Forwarded-For", "203.0.113.9")), "1")
			// Others are not affected: another peer, and a client behind the trusted proxy.
			if err := g.Check(requestFrom("192.0.2.8:4000")); err != nil {
				t.Fatalf("another address: %v", err)
			}
			behind := requestFrom("10.0.0.1:5000", "X-Forwarded-For", "198.51.100.1")
			if err := g.Check(behind); err != nil || g.Fail(behind) != nil {
				t.Fatal("a client behind the trusted proxy is limited by another's failures")
			}
			// The attacker coming through the trusted proxy is recognised.
			checkRefusal(t, g.Check(requestFrom("10.0.0.1:5000", "X-Forwarded-For", "192.0.2.7")), "1")
			if !tt.redis { // redis_rate has its own clock
				c.advance(time.Second)
				if err := g.Check(attacker); err != nil {
					t.Fatalf("one failure is allowed again after a second: %v", err)
				}
				if err := g.Fail(attacker); err != nil {
					t.Fatalf("the failure allowed again: %v", err)
				}
				checkRefusal(t, g.Check(attacker), "1")
			}
			if decisions[0] != true || decisions[3] != false {
				t.Fatalf("decisions %v", decisions)
			}
		})
	}
}

// TestAuthGuardDeniedFailure: a failure charged while the budget is already spent (another
// replica spent it, or concurrent requests passed Check together) answers the 429 itself.
func TestAuthGuardDeniedFailure(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := ratelimit.Config{
		AuthFailures: ratelimit.AuthFailures{Requests: 3, Window: 3 * time.Second},
		Store:        ratelimit.StoreRedis,
		Redis:        ratelimit.Redis{Timeout: 2 * time.Second},
	}
	var c clock
	replicas := make([]*ratelimit.AuthGuard, 2)
	for i := range replicas {
		g, err := ratelimit.NewAuthGuardForTest(cfg, discardLogger(), c.now, ratelimit.WithRedis(redisClient(t, srv.Addr)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Close() })
		replicas[i] = g
	}
	attacker := requestFrom("192.0.2.7:4000")
	for range 3 {
		if err := replicas[0].Fail(attacker); err != nil {
			t.Fatal(err)
		}
	}
	if err := replicas[1].Check(attacker); err != nil {
		t.Fatalf("replica 1 knows nothing yet: %v", err)
	}
	if err := replicas[1].Fail(attacker); !errors.Is(err, ratelimit.ErrAuthFailures) {
		t.Fatalf("the shared budget is spent: %v", err)
	}
	if err := replicas[1].Check(attacker); !errors.Is(err, ratelimit.ErrAuthFailures) {
		t.Fatalf("replica 1 now blocks locally: %v", err)
	}
}

func TestAuthGuardDisabled(t *testing.T) {
	t.Parallel()
	g, err := ratelimit.NewAuthGuard(defaulted(ratelimit.Config{AuthFailures: ratelimit.AuthFailures{Disabled: true}}), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	r := requestFrom("192.0.2.7:4000")
	for range 100 {
		if g.Fail(r) != nil || g.Check(r) != nil {
			t.Fatal("a disabled guard refused")
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAuthFailuresConfig(t *testing.T) {
	t.Parallel()
	var c ratelimit.Config
	c.SetDefaults()
	if a := c.AuthFailures; a.Requests != 20 || a.Window != time.Minute || a.Burst != 20 {
		t.Fatalf("defaults %+v", a)
	}
	c.AuthFailures.Burst = 21
	c.AuthFailures.Window = 1500 * time.Millisecond
	fes := ratelimit.FieldErrors{}
	if !errors.As(c.Validate(), &fes) || len(fes) != 2 || fes[0].Path != "authFailures.window" || fes[1].Path != "authFailures.burst" {
		t.Fatalf("Validate: %v", c.Validate())
	}
}
