package validation_test

import (
	"bytes"
	"cmp"
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

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
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
// error handler, correlation, the body limit, the validator, and behind them a stub of the
// two fuzzed operations that decodes what validation let through (as a generated strict
// server would) and checks it.
func fuzzGateway(tb testing.TB) *echo.Echo {
	tb.Helper()
	fuzzOnce.Do(func() {
		doc, err := enginetest.Shop()
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
		e.POST("/v1/orders", createOrder)
		e.GET("/v1/products", listProducts)
		fuzzE = e
	})
	if fuzzErr != nil {
		tb.Fatal(fuzzErr)
	}
	return fuzzE
}

var (
	productIDPattern = regexp.MustCompile(`^prd_[0-9a-z]{4,32}$`)
	cardTokenPattern = regexp.MustCompile(`^tok_[A-Za-z0-9_]{4,64}$`)
)

func broken(format string, args ...any) error {
	return apierror.ErrInternal.WithMessage("contract invariant broken: "+format, args...)
}

// orderRequest is the part of createOrder's request body the stub checks.
type orderRequest struct {
	Items []struct {
		ProductId string  `json:"productId"`
		Quantity  float64 `json:"quantity"` // 1.0 is an integer too (JSON Schema)
	} `json:"items"`
	Currency *string `json:"currency"`
	Note     *string `json:"note"`
	Payment  *struct {
		Method        string  `json:"method"`
		CardToken     *string `json:"cardToken"`
		PurchaseOrder *string `json:"purchaseOrder"`
	} `json:"payment"`
}

// successEnvelope is a success answer: data and the engine's meta.
type successEnvelope struct {
	Success bool            `json:"success"`
	Data    any             `json:"data"`
	Meta    components.Meta `json:"meta"`
}

func createOrder(c echo.Context) error {
	var b orderRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&b); err != nil {
		return broken("body does not decode: %v", err)
	}
	if n := len(b.Items); n < 1 || n > 50 {
		return broken("%d items", n)
	}
	for i, it := range b.Items {
		if it.Quantity < 1 || it.Quantity > 100 || it.Quantity != math.Trunc(it.Quantity) {
			return broken("items[%d].quantity %v", i, it.Quantity)
		}
		if !productIDPattern.MatchString(it.ProductId) {
			return broken("items[%d].productId %q", i, it.ProductId)
		}
	}
	if b.Currency != nil && *b.Currency != "USD" {
		return broken("currency %q", *b.Currency)
	}
	if b.Note != nil && (utf8.RuneCountInString(*b.Note) > 500 || !utf8.ValidString(*b.Note)) {
		return broken("note of %d characters", utf8.RuneCountInString(*b.Note))
	}
	if b.Payment == nil {
		return broken("payment without a method")
	}
	switch p := b.Payment; p.Method {
	case "card":
		if p.CardToken == nil || !cardTokenPattern.MatchString(*p.CardToken) {
			return broken("card payment %+v", p)
		}
	case "invoice":
		if p.PurchaseOrder == nil {
			return broken("invoice payment %+v", p)
		}
		if n := utf8.RuneCountInString(*p.PurchaseOrder); n < 1 || n > 64 {
			return broken("invoice payment %+v", p)
		}
	default:
		return broken("payment method %q", p.Method)
	}
	ctx := c.Request().Context()
	return c.JSON(http.StatusCreated, successEnvelope{Success: true,
		Data: map[string]string{"status": "pending", "currency": "USD"}, Meta: envelope.Meta(ctx)})
}

// queryInt returns the query parameter name as an integer, and whether it is present.
func queryInt(c echo.Context, name string) (int64, bool, error) {
	vs := c.QueryParams()[name]
	switch len(vs) {
	case 0:
		return 0, false, nil
	case 1:
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil {
			return 0, true, broken("%s %q", name, vs[0])
		}
		return n, true, nil
	default:
		return 0, true, broken("%s given %d times", name, len(vs))
	}
}

func listProducts(c echo.Context) error {
	page, ok, err := queryInt(c, "page")
	if err != nil || !ok || page < 1 || page > 100000 {
		return cmp.Or(err, broken("page %d (present %v)", page, ok))
	}
	size, ok, err := queryInt(c, "pageSize")
	if err != nil || !ok || size < 1 || size > 100 {
		return cmp.Or(err, broken("pageSize %d (present %v)", size, ok))
	}
	q := c.QueryParams()
	if vs, ok := q["category"]; ok {
		switch {
		case len(vs) != 1:
			return broken("category given %d times", len(vs))
		case vs[0] == "kitchen", vs[0] == "office", vs[0] == "outdoor", vs[0] == "apparel", vs[0] == "books":
		default:
			return broken("category %q", vs[0])
		}
	}
	if vs, ok := q["q"]; ok {
		if n := utf8.RuneCountInString(vs[0]); len(vs) != 1 || n < 1 || n > 100 {
			return broken("q of %d characters", n)
		}
	}
	if price, ok, err := queryInt(c, "maxPriceCents"); err != nil || (ok && (price < 0 || price > 100000000)) {
		return cmp.Or(err, broken("maxPriceCents %d", price))
	}
	ctx := c.Request().Context()
	return c.JSON(http.StatusOK, successEnvelope{Success: true, Data: []any{},
		Meta: envelope.ListMeta(ctx, int32(page), int32(size), 0)})
}

// fuzzLeaks are fragments of raw Go errors and library names that must never reach a
// client. (The wording "unexpected end" / "invalid character", which strictjson's own
// messages use, is pinned by internal/app/e2e TestBadInput instead, so that fuzzing can run
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
