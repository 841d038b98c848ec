package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/resilience"
)

// Failure is the one mapping of upstream failures; errors arrive wrapped the way the
// generated clients return them (*url.Error around the transport's error).
func TestFailure(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Get", URL: "http://10.0.0.7:9101/products", Err: err} }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, c := range []struct {
		desc       string
		status     int
		err        error
		want       *apierror.Error
		retryAfter string
	}{
		{"404", 404, nil, apierror.ErrNotFound, ""},
		{"409", 409, nil, apierror.ErrConflict, ""},
		{"503 after retries", 503, nil, apierror.ErrUpstream, ""},
		{"400: the gateway's bug", 400, nil, apierror.ErrUpstream, ""},
		{"circuit open", 0, wrap(&resilience.OpenError{Upstream: "catalog", RemainingDelay: 2500 * time.Millisecond}), apierror.ErrCircuitOpen, "3"},
		{"bare ErrOpen", 0, wrap(circuitbreaker.ErrOpen), apierror.ErrCircuitOpen, "1"},
		{"bulkhead full", 0, wrap(bulkhead.ErrFull), apierror.ErrUpstreamOverloaded, ""},
		{"budget spent", 0, wrap(budget.ErrExceeded), apierror.ErrUpstreamOverloaded, ""},
		{"timeout", 0, wrap(timeout.ErrExceeded), apierror.ErrUpstreamTimeout, ""},
		{"deadline", 0, wrap(context.DeadlineExceeded), apierror.ErrUpstreamTimeout, ""},
		{"refused", 0, wrap(refused), apierror.ErrUpstreamUnavailable, ""},
		{"refused, never sent", 0, wrap(&resilience.NotSentError{Err: refused}), apierror.ErrUpstreamUnavailable, ""},
		{"reset", 0, wrap(reset), apierror.ErrUpstream, ""},
		{"cut mid-body", 0, wrap(fmt.Errorf("reading the response body: %w", io.ErrUnexpectedEOF)), apierror.ErrUpstream, ""},
		{"oversized", 0, wrap(fmt.Errorf("%w (more than 1 bytes)", resilience.ErrResponseTooLarge)), apierror.ErrUpstreamContractViolation, ""},
		{"contract", 0, wrap(&ContractError{Upstream: "catalog", Status: 200, Problem: "x"}), apierror.ErrUpstreamContractViolation, ""},
		{"bad JSON", 0, &json.SyntaxError{}, apierror.ErrUpstreamContractViolation, ""},
		{"retries exceeded on a 503", 0, retrypolicy.ExceededError{LastResult: &http.Response{StatusCode: 503}}, apierror.ErrUpstream, ""},
		{"retries exceeded on a reset", 0, retrypolicy.ExceededError{LastError: reset}, apierror.ErrUpstream, ""},
	} {
		t.Run(c.desc, func(t *testing.T) {
			got, ok := errors.AsType[*apierror.Error](Failure("catalog", c.status, c.err))
			if !ok || got.Code != c.want.Code || got.Status != c.want.Status {
				t.Fatalf("got %v, want %d %s", got, c.want.Status, c.want.Code)
			}
			if ra := got.Header.Get("Retry-After"); ra != c.retryAfter {
				t.Fatalf("Retry-After %q, want %q", ra, c.retryAfter)
			}
			if strings.Contains(got.Message, "10.0.0.7") || strings.Contains(got.Message, "catalog") {
				t.Fatalf("message leaks: %q", got.Message)
			}
		})
	}
	// A caller that went away is not an API error: the error handler writes nothing useful.
	if _, ok := errors.AsType[*apierror.Error](Failure("catalog", 0, wrap(context.Canceled))); ok {
		t.Fatal("a canceled call became an API error")
	}
}

func TestNewRejectsInvalidPolicies(t *testing.T) {
	cfg := map[string]config.Upstream{}
	fsys := fstest.MapFS{}
	for _, n := range []string{"catalog", "orders", "users"} {
		fsys["upstreams/"+n+".yaml"] = &fstest.MapFile{Data: []byte("openapi: 3.1.0\ninfo: {title: " + n + ", version: 1.0.0}\npaths: {}\n")}
	}
	contracts, err := Contracts(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"catalog", "orders", "users"} {
		u := config.Upstream{BaseURL: "http://127.0.0.1:1", MaxIdleConns: 1, Config: resilience.Config{Timeout: time.Second}}
		u.Config.SetDefaults() // as config.Load does
		cfg[n] = u
	}
	bad := resilience.Config{Retry: resilience.Retry{MaxAttempts: 50}}
	bad.SetDefaults()
	_, err = New(contracts, cfg, config.EnvDevelopment, WithPolicy("orders", bad))
	if err == nil || !strings.Contains(err.Error(), "orders") || !strings.Contains(err.Error(), "retry.maxAttempts") {
		t.Fatalf("err = %v", err)
	}
	c, err := New(contracts, cfg, config.EnvDevelopment)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.States(); len(s) != 3 || s["catalog"] != "closed" {
		t.Fatalf("States() = %v", s)
	}
}
