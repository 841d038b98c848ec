package idempotency_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/engine/routes"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// TestWithTheContractAndTheValidator runs the middleware where the gateway runs it: after the
// real validator, on the real contract. The handler must still receive the validated value
// (no second decode) and the body bytes, and a request the validator rejects claims no key.
func TestWithTheContractAndTheValidator(t *testing.T) {
	t.Parallel()
	spec, err := enginetest.Shop()
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := routes.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	vc := validation.Config{Skip: []string{idempotency.Header}}
	vc.SetDefaults()
	validator, err := validation.New(vc, tbl)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	mw, err := idempotency.New(defaulted(idempotency.Config{}), tbl, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mw.Close() })

	var calls atomic.Int64
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(logger)
	e.Pre(correlation.New().Middleware())
	e.Use(tbl.Match(), testIdentity, mw.RequireKey(), validator.Middleware(), mw.Middleware())
	e.POST("/v1/orders", func(c echo.Context) error {
		calls.Add(1)
		vb, ok := c.Request().Body.(interface{ ValidatedValue() any })
		if !ok || vb.ValidatedValue() == nil {
			t.Errorf("the handler lost the validated value (%T)", c.Request().Body)
		}
		raw, err := io.ReadAll(c.Request().Body)
		if err != nil || len(raw) == 0 {
			t.Errorf("the handler cannot read the body: %q, %v", raw, err)
		}
		return c.JSON(http.StatusCreated, map[string]any{"success": true, "data": map[string]any{"bytes": len(raw)}, "meta": envelope.Meta(c.Request().Context())})
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	const valid = `{"items":[{"productId":"prd_0001","quantity":2}],"currency":"USD","payment":{"method":"card","cardToken":"tok_visa_4242"}}`
	const invalid = `{"items":[],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`
	alice := map[string]string{headerSubject: "alice"}

	res := do(t, srv.URL, call{body: invalid, key: "k-contract", header: alice})
	if code := errorCode(t, res, http.StatusUnprocessableEntity); code != string(components.ErrValidationFailed) {
		t.Fatalf("invalid body: %s", res.Body)
	}
	first := do(t, srv.URL, call{body: valid, key: "k-contract", header: alice})
	second := do(t, srv.URL, call{body: valid, key: "k-contract", header: alice})
	if first.Status != http.StatusCreated || replayed(first) || !replayed(second) || calls.Load() != 1 {
		t.Fatalf("first %d %s\nsecond %d (replayed %v) %s\n%d calls", first.Status, first.Body,
			second.Status, replayed(second), second.Body, calls.Load())
	}
	envelopeOf(t, second, http.StatusCreated)
}

func TestQueryOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	a := newApp()
	r := startReplica(t, idempotency.Config{}, a)
	do(t, r.URL, call{path: "/v1/orders?a=1&b=2", body: order, key: "k-q"})
	res := do(t, r.URL, call{path: "/v1/orders?b=2&a=1", body: order, key: "k-q"})
	if !replayed(res) || a.calls.Load() != 1 {
		t.Fatalf("reordered query not recognised as the same request: %s", res.Body)
	}
}

func TestRejectedBeforeTheHandlerClaimsNoKey(t *testing.T) {
	t.Parallel()
	a := newApp()
	r := startReplica(t, idempotency.Config{}, a)
	rejected := do(t, r.URL, call{body: order, key: "k-rej", header: map[string]string{headerReject: "1"}})
	if code := errorCode(t, rejected, http.StatusUnprocessableEntity); code != "VALIDATION_FAILED" {
		t.Fatalf("rejected: %s", rejected.Body)
	}
	if res := do(t, r.URL, call{body: order}); errorCode(t, res, http.StatusBadRequest) != "IDEMPOTENCY_KEY_MISSING" {
		t.Fatalf("no key: %s", res.Body)
	}
	res := do(t, r.URL, call{body: order, key: "k-rej"})
	if replayed(res) || dataN(t, res) != 1 {
		t.Fatalf("the rejected request claimed the key: %s", res.Body)
	}
}

func TestOtherOperationsPassThrough(t *testing.T) {
	t.Parallel()
	a := newApp()
	r := startReplica(t, idempotency.Config{}, a)
	for _, c := range []call{
		{method: http.MethodGet, key: "k-get"},
		{method: http.MethodGet, key: "k-get"},
		{path: "/v1/notes", body: "{}", key: "k-note"}, // the key is optional there
		{path: "/v1/notes", body: "{}", key: "k-note"},
	} {
		if res := do(t, r.URL, c); replayed(res) || res.Status != http.StatusCreated {
			t.Fatalf("%s %s: %d replayed %v", c.method, c.path, res.Status, replayed(res))
		}
	}
	if got := a.calls.Load(); got != 4 {
		t.Fatalf("handler ran %d times, want 4", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	_, err := idempotency.New(defaulted(idempotency.Config{Lease: -time.Second}), table(t), nil)
	if err == nil || !strings.Contains(err.Error(), "lease: must be at least 1ms") {
		t.Fatalf("err = %v", err)
	}
	if _, err := idempotency.New(defaulted(idempotency.Config{}), nil, nil); err == nil {
		t.Fatal("no error without a route table")
	}
}
