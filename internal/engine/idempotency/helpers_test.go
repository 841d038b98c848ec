package idempotency_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/idempotency"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// contract declares two operations that require the key, one where it is optional and one
// without it.
const contract = `
openapi: 3.1.0
info: {title: idempotency test, version: "1"}
components:
  parameters:
    Key: {name: Idempotency-Key, in: header, required: true, schema: {type: string}}
paths:
  /v1/orders:
    get:
      operationId: listOrders
      responses: {'200': {description: ok}}
    post:
      operationId: createOrder
      parameters: [{$ref: '#/components/parameters/Key'}]
      responses: {'201': {description: ok}}
  /v1/orders/{orderId}/cancel:
    post:
      operationId: cancelOrder
      parameters:
        - {name: orderId, in: path, required: true, schema: {type: string}}
        - {$ref: '#/components/parameters/Key'}
      responses: {'200': {description: ok}}
  /v1/notes:
    post:
      operationId: createNote
      parameters: [{name: Idempotency-Key, in: header, required: false, schema: {type: string}}]
      responses: {'201': {description: ok}}
`

// Test request headers the harness understands.
const (
	headerSubject = "X-Test-Subject" // the caller's identity subject; absent: anonymous
	headerOutcome = "X-Test-Outcome" // conflict, bulky, fail, panic, block, slow; absent: 201
	headerReject  = "X-Test-Reject"  // rejected (422) by a stand-in validator, before the claim
)

func table(t testing.TB) *routes.Table {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(contract))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := routes.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// app is the handler side shared by every replica of one test: it counts handler calls.
type app struct {
	calls   atomic.Int64
	release chan struct{} // closed to let "block" handlers finish
	once    sync.Once
}

func newApp() *app { return &app{release: make(chan struct{})} }

func (a *app) unblock() { a.once.Do(func() { close(a.release) }) }

type orderEnvelope struct {
	Success bool            `json:"success"`
	Data    map[string]any  `json:"data"`
	Meta    components.Meta `json:"meta"`
}

func (a *app) handle(c echo.Context) error {
	n := a.calls.Add(1)
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	switch c.Request().Header.Get(headerOutcome) {
	case "conflict":
		return apierror.ErrConflict
	case "bulky":
		// A validation failure with a long list of details (an upstream's 422).
		details := make([]apierror.Detail, 100)
		for i := range details {
			details[i] = apierror.Detail{Field: fmt.Sprintf("body.items[%d].productId", i), Constraint: "exists", Message: "no such product"}
		}
		return apierror.ErrValidationFailed.WithDetails(details...)
	case "fail":
		return errors.New("boom")
	case "block":
		<-a.release
	case "slow":
		time.Sleep(50 * time.Millisecond)
	case "panic":
		panic("handler bug")
	}
	ctx := c.Request().Context()
	c.Response().Header().Set(echo.HeaderLocation, "/v1/orders/"+strings.Repeat("x", int(n)))
	return c.JSON(http.StatusCreated, orderEnvelope{
		Success: true,
		Data:    map[string]any{"n": n, "bodyBytes": len(body), "path": c.Request().URL.Path, "note": "<&>"},
		Meta:    envelope.Meta(ctx),
	})
}

// outcomes counts what Config.Observe reports.
type outcomes struct {
	mu sync.Mutex
	n  map[idempotency.Outcome]int
}

func (o *outcomes) observe(_ string, out idempotency.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[idempotency.Outcome]int{}
	}
	o.n[out]++
}

func (o *outcomes) get(out idempotency.Outcome) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[out]
}

// replica is one gateway instance: the chain of DESIGN section 1 reduced to what matters
// here, over real HTTP.
type replica struct {
	URL      string
	outcomes *outcomes
	logs     *enginetest.LogBuffer
}

func startReplica(t testing.TB, cfg idempotency.Config, a *app) *replica {
	t.Helper()
	r := &replica{outcomes: &outcomes{}, logs: &enginetest.LogBuffer{}}
	logger := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Observe = r.outcomes.observe
	tbl := table(t)
	cfg.SetDefaults() // as config.Load does
	var opts []idempotency.Option
	if cfg.Store == idempotency.StoreRedis {
		opts = append(opts, idempotency.WithRedis(redisClient(t, cfg)))
	}
	mw, err := idempotency.New(cfg, tbl, logger, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(logger)
	e.Pre(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true, DisablePrintStack: true}),
		correlation.New().Middleware())
	e.Use(tbl.Match(), testIdentity, mw.RequireKey(), testValidator, mw.Middleware())
	e.GET("/v1/orders", a.handle)
	e.POST("/v1/orders", a.handle)
	e.POST("/v1/orders/:orderId/cancel", a.handle)
	e.POST("/v1/notes", a.handle)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		a.unblock()
		srv.Close()
		if err := mw.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	r.URL = srv.URL
	return r
}

// testIdentity stands in for auth: the caller is the X-Test-Subject header.
func testIdentity(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s := c.Request().Header.Get(headerSubject); s != "" {
			req := c.Request()
			c.SetRequest(req.WithContext(identity.NewContext(req.Context(), identity.Identity{Subject: s})))
		}
		return next(c)
	}
}

// testValidator stands in for request validation: it rejects on X-Test-Reject.
func testValidator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Header.Get(headerReject) != "" {
			return apierror.ErrValidationFailed
		}
		return next(c)
	}
}

// call is one request to a replica.
type call struct {
	method, path, body string
	key                string // the Idempotency-Key; empty: none
	header             map[string]string
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func send(base string, c call) (*response, error) {
	return sendContext(context.Background(), base, c)
}

func sendContext(ctx context.Context, base string, c call) (*response, error) {
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	path := c.path
	if path == "" {
		path = "/v1/orders"
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(c.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set(idempotency.Header, c.key)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: body}, nil
}

func do(t testing.TB, base string, c call) *response {
	t.Helper()
	res, err := send(base, c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// envelopeOf checks the envelope shape (meta.requestId equals X-Request-Id) and returns its
// raw members.
func envelopeOf(t testing.TB, res *response, status int) map[string]json.RawMessage {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(res.Body, &env); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, res.Body)
	}
	var meta components.Meta
	if err := json.Unmarshal(env["meta"], &meta); err != nil {
		t.Fatalf("meta: %v: %s", err, res.Body)
	}
	if rid := res.Header.Get(correlation.HeaderRequestID); rid == "" || meta.RequestId != rid {
		t.Fatalf("meta.requestId %q != X-Request-Id %q", meta.RequestId, rid)
	}
	if len(meta.Timestamp) != len("2026-11-26T17:05:07.123Z") {
		t.Fatalf("meta.timestamp %q", meta.Timestamp)
	}
	return env
}

// errorCode returns the envelope's error.code.
func errorCode(t testing.TB, res *response, status int) string {
	t.Helper()
	var e struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(envelopeOf(t, res, status)["error"], &e); err != nil {
		t.Fatalf("error: %v: %s", err, res.Body)
	}
	return e.Code
}

// dataN returns data.n of a created order.
func dataN(t testing.TB, res *response) int {
	t.Helper()
	var d struct {
		N int `json:"n"`
	}
	if err := json.Unmarshal(envelopeOf(t, res, http.StatusCreated)["data"], &d); err != nil {
		t.Fatalf("data: %v: %s", err, res.Body)
	}
	return d.N
}

func replayed(res *response) bool { return res.Header.Get(idempotency.HeaderReplayed) == "true" }

// defaulted returns c with its defaults applied, as config.Load applies them.
func defaulted(c idempotency.Config) idempotency.Config {
	c.SetDefaults()
	return c
}
