package validation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/contractgate/contractgate/api"
	"github.com/contractgate/contractgate/gen/gateway"
	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/routes"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// fuzzBodyLimit is the gateway's default server.bodyLimit.
const fuzzBodyLimit = 1 << 20

var (
	fuzzOnce sync.Once
	fuzzE    *echo.Echo
	fuzzErr  error
)

// fuzzGateway is the gateway's validation chain for the real contract, built once: the
// error handler, correlation, the body limit, the validator, and the generated strict server
// with a stub behind it that checks what validation let through.
func fuzzGateway(tb testing.TB) *echo.Echo {
	tb.Helper()
	fuzzOnce.Do(func() {
		doc, err := api.Load()
		if err != nil {
			fuzzErr = err
			return
		}
		table, err := routes.New(doc)
		if err != nil {
			fuzzErr = err
			return
		}
		vc := validation.Config{Skip: []string{"Idempotency-Key"}}
		vc.SetDefaults()
		v, err := validation.New(vc, table)
		if err != nil {
			fuzzErr = err
			return
		}
		e := echo.New()
		e.HTTPErrorHandler = apierror.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
		e.Pre(correlation.New().Middleware())
		e.Use(table.Match(), middleware.BodyLimit(strconv.Itoa(fuzzBodyLimit)+"B"), v.Middleware())
		gateway.RegisterHandlers(e, gateway.NewStrictHandler(fuzzStub{}, nil))
		fuzzE = e
	})
	if fuzzErr != nil {
		tb.Fatal(fuzzErr)
	}
	return fuzzE
}

// fuzzStub answers the two fuzzed operations after checking that the value it was handed
// satisfies the contract; a broken invariant answers 500 with the reason as the message.
type fuzzStub struct {
	gateway.StrictServerInterface // the other operations are never called
}

var (
	productIDPattern = regexp.MustCompile(`^prd_[0-9a-z]{4,32}$`)
	cardTokenPattern = regexp.MustCompile(`^tok_[A-Za-z0-9_]{4,64}$`)
)

func broken(format string, args ...any) error {
	return apierror.ErrInternal.WithMessage("contract invariant broken: "+format, args...)
}

func (fuzzStub) CreateOrder(ctx context.Context, req gateway.CreateOrderRequestObject) (gateway.CreateOrderResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, broken("no body")
	}
	if n := len(b.Items); n < 1 || n > 50 {
		return nil, broken("%d items", n)
	}
	for i, it := range b.Items {
		if it.Quantity < 1 || it.Quantity > 100 {
			return nil, broken("items[%d].quantity %d", i, it.Quantity)
		}
		if !productIDPattern.MatchString(it.ProductId) {
			return nil, broken("items[%d].productId %q", i, it.ProductId)
		}
	}
	if b.Currency != nil && *b.Currency != "USD" {
		return nil, broken("currency %q", *b.Currency)
	}
	if b.Note != nil && (utf8.RuneCountInString(*b.Note) > 500 || !utf8.ValidString(*b.Note)) {
		return nil, broken("note of %d characters", utf8.RuneCountInString(*b.Note))
	}
	method, err := b.Payment.Discriminator()
	if err != nil {
		return nil, broken("payment without a method")
	}
	switch method {
	case "card":
		p, err := b.Payment.AsCardPayment()
		if err != nil || !cardTokenPattern.MatchString(p.CardToken) {
			return nil, broken("card payment %+v", p)
		}
	case "invoice":
		p, err := b.Payment.AsInvoicePayment()
		if n := utf8.RuneCountInString(p.PurchaseOrder); err != nil || n < 1 || n > 64 {
			return nil, broken("invoice payment %+v", p)
		}
	default:
		return nil, broken("payment method %q", method)
	}
	out := gateway.CreateOrder201JSONResponse{Success: true, Meta: envelope.Meta(ctx)}
	out.Data.Status, out.Data.Currency = "pending", "USD"
	return out, nil
}

func (fuzzStub) ListProducts(ctx context.Context, req gateway.ListProductsRequestObject) (gateway.ListProductsResponseObject, error) {
	p := req.Params
	if p.Page == nil || *p.Page < 1 || *p.Page > 100000 {
		return nil, broken("page %v", p.Page)
	}
	if p.PageSize == nil || *p.PageSize < 1 || *p.PageSize > 100 {
		return nil, broken("pageSize %v", p.PageSize)
	}
	if p.Category != nil {
		switch *p.Category {
		case "kitchen", "office", "outdoor", "apparel", "books":
		default:
			return nil, broken("category %q", *p.Category)
		}
	}
	if p.Q != nil {
		if n := utf8.RuneCountInString(*p.Q); n < 1 || n > 100 {
			return nil, broken("q of %d characters", n)
		}
	}
	if p.MaxPriceCents != nil && (*p.MaxPriceCents < 0 || *p.MaxPriceCents > 100000000) {
		return nil, broken("maxPriceCents %d", *p.MaxPriceCents)
	}
	return gateway.ListProducts200JSONResponse{Success: true, Data: []gateway.Product{},
		Meta: envelope.ListMeta(ctx, *p.Page, *p.PageSize, 0)}, nil
}

// fuzzLeaks are fragments of raw Go errors and library names that must never reach a
// client. (The wording "unexpected end" / "invalid character", which strictjson's own
// messages use, is pinned by internal/engine/server TestBadInput instead, so that fuzzing can run
// past it.)
var fuzzLeaks = []string{"json:", "strconv", "runtime", "goroutine", "reflect", "kin-openapi", "jsonschema", "panic"}

// checkAnswer asserts the gateway's invariants on any answer: no 5xx, a JSON envelope whose
// meta.requestId is X-Request-Id, success true exactly on the stub's status, an error code
// from allowed otherwise, and no Go error text.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, okStatus int, allowed ...string) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("status %d, Content-Type %q: %.300s", rec.Code, ct, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var env struct {
		Success *bool `json:"success"`
		Error   *struct {
			Code    string           `json:"code"`
			Message string           `json:"message"`
			Details []map[string]any `json:"details"`
		} `json:"error"`
		Meta struct {
			RequestID string `json:"requestId"`
		} `json:"meta"`
	}
	if err := dec.Decode(&env); err != nil || dec.More() {
		t.Fatalf("status %d, answer is not one JSON envelope (%v): %.300s", rec.Code, err, body)
	}
	if env.Success == nil || env.Meta.RequestID == "" || env.Meta.RequestID != rec.Header().Get("X-Request-Id") {
		t.Fatalf("status %d, not an envelope with meta.requestId == X-Request-Id: %.300s", rec.Code, body)
	}
	for _, leak := range fuzzLeaks {
		if bytes.Contains(body, []byte(leak)) {
			t.Fatalf("answer leaks %q: %.300s", leak, body)
		}
	}
	if rec.Code == okStatus {
		if !*env.Success {
			t.Fatalf("status %d with success false: %.300s", rec.Code, body)
		}
		return
	}
	if *env.Success || env.Error == nil || env.Error.Message == "" {
		t.Fatalf("status %d, not an error envelope: %.300s", rec.Code, body)
	}
	if !containsString(allowed, env.Error.Code) {
		t.Fatalf("status %d, unexpected error code %q: %.300s", rec.Code, env.Error.Code, body)
	}
	if (env.Error.Code == "VALIDATION_FAILED") != (len(env.Error.Details) > 0) {
		t.Fatalf("details and VALIDATION_FAILED disagree: %.300s", body)
	}
	for _, d := range env.Error.Details {
		if f, _ := d["field"].(string); f == "" {
			t.Fatalf("detail without field: %.300s", body)
		}
		if c, _ := d["constraint"].(string); c == "" {
			t.Fatalf("detail without constraint: %.300s", body)
		}
		// A received number must be usable by ordinary JSON clients (IEEE 754 doubles).
		if n, ok := d["received"].(json.Number); ok {
			if f, err := strconv.ParseFloat(string(n), 64); err != nil || math.IsInf(f, 0) {
				t.Fatalf("received %s is not representable as a double: %.300s", n, body)
			}
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// FuzzCreateOrder sends arbitrary bytes as the body of POST /v1/orders.
func FuzzCreateOrder(f *testing.F) {
	const item = `{"productId":"prd_0001","quantity":2}`
	const card = `{"method":"card","cardToken":"tok_visa_4242"}`
	for _, seed := range []string{
		`{"items":[` + item + `],"currency":"USD","note":"gift","payment":` + card + `}`,
		`{"items":[` + item + `],"note":null,"payment":{"method":"invoice","purchaseOrder":"PO-1"}}`,
		`{"items":[` + item + `],"payment":` + card,                             // truncated
		`{"items":[` + item + `],"payment":` + card + `} x`,                     // trailing data
		`{"items":[]}{"items":[]}`,                                              // two values
		`{"items":[` + item + `],"note":"a","note":"b","payment":` + card + `}`, // duplicate key
		"{\"note\":\"caf\xe9\"}",                                                // invalid UTF-8
		`{"note":"\ud800"}`,                                                     // lone surrogate
		"\xef\xbb\xbf{}",                                                        // BOM
		`{"items":[{"productId":"prd_0001","quantity":NaN}]}`,
		`{"items":[{"productId":"prd_0001","quantity":Infinity}]}`,
		`{"note":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
		``,
		" \n\t",
		`{'items':[]} // comment`,
		`{"items":[{"productId":"PRD-1","quantity":2147483648,"x":1}],"currency":"EUR","note":7,"payment":{"method":"cash"}}`,
		`{"items":[` + item + `],"note":"a","NOTE":"b","payment":{"method":"invoice","purchaseOrder":"PO","cardToken":"tok_x"}}`,
		`[1,2]`,
		`"order"`,
		`{"items":[{"productId":"prd_0001","quantity":1.0}],"payment":` + card + `}`,
	} {
		f.Add([]byte(seed))
	}
	e := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "fuzz-1")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		checkAnswer(t, rec, http.StatusCreated, "MALFORMED_JSON", "VALIDATION_FAILED", "PAYLOAD_TOO_LARGE")
	})
}

// FuzzListProductsQuery sends arbitrary raw query strings to GET /v1/products.
func FuzzListProductsQuery(f *testing.F) {
	for _, seed := range []string{
		"",
		"page=2&pageSize=50&category=kitchen&q=mug&maxPriceCents=5000",
		"page=0",
		"page=-1",
		"page=100001",
		"page=abc",
		"page=1.5",
		"page=99999999999999999999",
		"page=1&page=2",
		"pageSize=0&pageSize=101",
		"category=toys",
		"q=" + strings.Repeat("m", 101),
		"q=",
		"maxPriceCents=-1&maxPriceCents=1e3",
		"q=%zz&page=%31",
		"q=caf%C3%A9&category=%00",
		"page=1;pageSize=2",
	} {
		f.Add(seed)
	}
	e := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		target := "/v1/products?" + rawQuery
		u, err := url.ParseRequestURI(target)
		if err != nil || strings.ContainsAny(rawQuery, " \t\r\n") {
			return // no HTTP/1.1 request line can carry it
		}
		req := httptest.NewRequest(http.MethodGet, "/v1/products", nil)
		req.URL, req.RequestURI = u, target
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		checkAnswer(t, rec, http.StatusOK, "VALIDATION_FAILED")
	})
}

// TestFuzzGatewayAnswers pins the stub chain itself: a valid order and a valid query pass.
func TestFuzzGatewayAnswers(t *testing.T) {
	e := fuzzGateway(t)
	for _, req := range []*http.Request{
		func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader(
				`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Idempotency-Key", "k")
			return r
		}(),
		httptest.NewRequest(http.MethodGet, "/v1/products", nil),
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			t.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
		}
	}
}
