package e2e_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/app/testenv"
)

// detail is one expected (field, constraint) pair of a VALIDATION_FAILED error.
type detail struct{ field, constraint string }

// badCase is one hostile request sent byte for byte over TCP, so that the request target,
// the headers and the framing reach the gateway exactly as written.
type badCase struct {
	desc    string
	method  string
	path    string   // raw request target, sent unmodified
	headers []string // name, value pairs, in order
	body    string
	chunked bool // send the body with Transfer-Encoding: chunked, without Content-Length
	problem bool // the answer is a problem document, checked by check

	status  int
	code    string   // error.code; "" for a success
	details []detail // for VALIDATION_FAILED: every (field, constraint), nothing extra
	check   func(t *testing.T, tc *badCase, res *testenv.Response)
}

// autoKey is replaced by a per-case unique Idempotency-Key.
const autoKey = "\x00auto"

// leaks are fragments of Go errors, library names and internal addresses that must never
// reach a client.
var leaks = []string{"json:", "strconv", "runtime", "goroutine", "invalid character", "unexpected end",
	"reflect", "kin-openapi", "jsonschema", "127.0.0.1", "panic"}

const (
	validItem    = `{"productId":"prd_0001","quantity":1}`
	validPayment = `{"method":"card","cardToken":"tok_visa_4242"}`
	validOrder   = `{"items":[` + validItem + `],"payment":` + validPayment + `}`
	validTrace   = "4bf92f3577b34da6a3ce929d0e0e4736"
	orderUUID    = "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90"
)

// jsonPost is the headers of a well-formed create-order request.
var jsonPost = []string{"Content-Type", "application/json", "Idempotency-Key", autoKey}

func orderWith(items, payment, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"items":[` + items + `],"payment":` + payment + extra + `}`
}

func itemWith(members string) string { return `{` + members + `}` }

// nested is a create-order body whose note is arrays nested n deep (n+1 levels in all).
func nested(n int) string {
	return orderWith(validItem, validPayment, `"note":`+strings.Repeat("[", n)+strings.Repeat("]", n))
}

// exactly is a create-order body of exactly size bytes (a long note).
func exactly(size int) string {
	b := orderWith(validItem, validPayment, `"note":""`)
	return b[:len(b)-2] + strings.Repeat("x", size-len(b)) + `"}`
}

func badOrder(desc, body string, details ...detail) badCase {
	return badCase{desc: desc, method: http.MethodPost, path: "/v1/orders", headers: jsonPost, body: body,
		status: http.StatusUnprocessableEntity, code: "VALIDATION_FAILED", details: details}
}

func malformed(desc, body string) badCase {
	return badCase{desc: desc, method: http.MethodPost, path: "/v1/orders", headers: jsonPost, body: body,
		status: http.StatusBadRequest, code: "MALFORMED_JSON"}
}

func mediaType(desc, contentType string, status int, code string) badCase {
	h := []string{"Idempotency-Key", autoKey}
	if contentType != "" {
		h = append(h, "Content-Type", contentType)
	}
	return badCase{desc: desc, method: http.MethodPost, path: "/v1/orders", headers: h, body: validOrder, status: status, code: code}
}

func accept(desc, value string, status int, code string) badCase {
	return badCase{desc: desc, method: http.MethodGet, path: "/v1/products?pageSize=1", headers: []string{"Accept", value}, status: status, code: code}
}

func badParam(desc, path string, details ...detail) badCase {
	return badCase{desc: desc, method: http.MethodGet, path: path, status: http.StatusUnprocessableEntity, code: "VALIDATION_FAILED", details: details}
}

func badKey(desc, path, key string, code string) badCase {
	h := []string{"Content-Type", "application/json"}
	if key != "\x00missing" {
		h = append(h, "Idempotency-Key", key)
	}
	body := validOrder
	if strings.HasSuffix(path, "/cancel") {
		body = ""
		h = h[2:]
	}
	return badCase{desc: desc, method: http.MethodPost, path: path, headers: h, body: body, status: http.StatusBadRequest, code: code}
}

func badPath(desc, path string) badCase {
	return badCase{desc: desc, method: http.MethodGet, path: path, status: http.StatusBadRequest, code: "INVALID_PATH"}
}

// newRequestID checks that the gateway replaced an insane X-Request-Id with its own.
func newRequestID(t *testing.T, tc *badCase, res *testenv.Response) {
	t.Helper()
	sent := headerValue(tc.headers, "X-Request-Id")
	got := res.Header.Get("X-Request-Id")
	if got == sent || got == "" || len(got) > 128 || strings.ContainsAny(got, " %\r\n") {
		t.Errorf("X-Request-Id %q: want a fresh generated id, not the sent %q", got, sent)
	}
}

// freshTrace checks that an invalid traceparent started a new trace.
func freshTrace(t *testing.T, tc *badCase, res *testenv.Response) {
	t.Helper()
	got := res.Header.Get("X-Trace-Id")
	if got == validTrace || strings.EqualFold(got, validTrace) || !isLowerHex32(got) || got == strings.Repeat("0", 32) {
		t.Errorf("X-Trace-Id %q: want a fresh trace id (sent traceparent %q)", got, headerValue(tc.headers, "traceparent"))
	}
}

func isLowerHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func headerValue(h []string, name string) string {
	for i := 0; i+1 < len(h); i += 2 {
		if strings.EqualFold(h[i], name) {
			return h[i+1]
		}
	}
	return ""
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)

	deep := `{"items":[` + validItem + `],"payment":` + validPayment + `,"note":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`
	var items51 []string
	for range 51 {
		items51 = append(items51, validItem)
	}
	// 1 MiB of valid JSON string content, so that only the size is wrong.
	huge := `{"items":[` + validItem + `],"payment":` + validPayment + `,"note":"` + strings.Repeat("a", 1<<20+100*1024) + `"}`

	cases := []badCase{
		// ---- malformed JSON -> 400 MALFORMED_JSON
		malformed("truncated", `{"items":[{"productId":"prd_0001","quantity":2}`),
		malformed("trailing data", validOrder+` x`),
		malformed("two concatenated objects", validOrder+validOrder),
		malformed("duplicate top-level key", orderWith(validItem, validPayment, `"note":"a","note":"b"`)),
		malformed("duplicate nested key", orderWith(`{"productId":"prd_0001","quantity":1,"quantity":2}`, validPayment, "")),
		malformed("invalid UTF-8 bytes", orderWith(validItem, validPayment, "\"note\":\"caf\xe9 \xff\xfe\"")),
		malformed("lone surrogate escape", orderWith(validItem, validPayment, `"note":"\ud800"`)),
		malformed("UTF-8 BOM prefix", "\xef\xbb\xbf"+validOrder),
		malformed("NaN", orderWith(`{"productId":"prd_0001","quantity":NaN}`, validPayment, "")),
		malformed("Infinity", orderWith(`{"productId":"prd_0001","quantity":Infinity}`, validPayment, "")),
		malformed("nesting deeper than 64", deep),
		{desc: "empty body", method: http.MethodPost, path: "/v1/orders", headers: append([]string{"Content-Length", "0"}, jsonPost...), status: 400, code: "MALFORMED_JSON"},
		{desc: "empty body without Content-Type", method: http.MethodPost, path: "/v1/orders", headers: []string{"Content-Length", "0", "Idempotency-Key", autoKey}, status: 400, code: "MALFORMED_JSON"},
		malformed("whitespace-only body", " \r\n\t  \n"),
		malformed("single quotes", `{'items':[{'productId':'prd_0001','quantity':1}],'payment':{'method':'card','cardToken':'tok_visa_4242'}}`),
		malformed("comments", `{/* c */"items":[`+validItem+`], // line comment`+"\n"+`"payment":`+validPayment+`}`),
		malformed("trailing comma", `{"items":[`+validItem+`,],"payment":`+validPayment+`}`),
		malformed("unescaped control character in a string", orderWith(validItem, validPayment, "\"note\":\"a\x01b\"")),

		// ---- oversize bodies -> 413 PAYLOAD_TOO_LARGE
		{desc: "over 1 MiB announced by Content-Length", method: http.MethodPost, path: "/v1/orders",
			headers: append([]string{"Content-Length", "2097152"}, jsonPost...), status: 413, code: "PAYLOAD_TOO_LARGE"},
		{desc: "over 1 MiB chunked without Content-Length", method: http.MethodPost, path: "/v1/orders",
			headers: jsonPost, body: huge, chunked: true, status: 413, code: "PAYLOAD_TOO_LARGE"},

		// ---- content types -> 415 UNSUPPORTED_MEDIA_TYPE
		mediaType("text/plain", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("application/xml", "application/xml", 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("form-urlencoded", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("missing Content-Type with a body", "", 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("charset=latin1", "application/json; charset=latin1", 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("charset=utf-16", "application/json; charset=utf-16", 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("a +json type the operation does not declare", "application/merge-patch+json", 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("application/jsonx", "application/jsonx", 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("quoted charset=\"utf-8\" is accepted", `application/json; charset="utf-8"`, 201, ""),
		mediaType("charset=UTF-8 is accepted", "application/json; charset=UTF-8", 201, ""),

		// ---- Accept -> 406 NOT_ACCEPTABLE
		accept("Accept text/html only", "text/html", 406, "NOT_ACCEPTABLE"),
		accept("Accept application/xml", "application/xml", 406, "NOT_ACCEPTABLE"),
		accept("Accept application/json;q=0", "application/json;q=0", 406, "NOT_ACCEPTABLE"),
		accept("Accept */*;q=0 besides text/html", "text/html, */*;q=0", 406, "NOT_ACCEPTABLE"),
		accept("Accept application/json;q=0 overrides */*", "application/json;q=0, */*", 406, "NOT_ACCEPTABLE"),
		accept("Accept with a weighted JSON is accepted", "text/html, application/json;q=0.1", 200, ""),
		accept("Accept */* is accepted", "*/*", 200, ""),
		accept("Accept application/problem+json is accepted", "application/problem+json", 200, ""),

		// ---- listProducts parameters -> 422
		badParam("page 0", "/v1/products?page=0", detail{"query.page", "minimum"}),
		badParam("page -1", "/v1/products?page=-1", detail{"query.page", "minimum"}),
		badParam("page 100001", "/v1/products?page=100001", detail{"query.page", "maximum"}),
		badParam("page abc", "/v1/products?page=abc", detail{"query.page", "type"}),
		badParam("page 1.5", "/v1/products?page=1.5", detail{"query.page", "type"}),
		badParam("page beyond int64", "/v1/products?page=99999999999999999999", detail{"query.page", "maximum"}, detail{"query.page", "format"}),
		badParam("page empty", "/v1/products?page=", detail{"query.page", "type"}),
		badParam("page given twice", "/v1/products?page=1&page=2", detail{"query.page", "type"}),
		badParam("pageSize 0", "/v1/products?pageSize=0", detail{"query.pageSize", "minimum"}),
		badParam("pageSize 101", "/v1/products?pageSize=101", detail{"query.pageSize", "maximum"}),
		badParam("category not in enum", "/v1/products?category=toys", detail{"query.category", "enum"}),
		badParam("q too long", "/v1/products?q="+strings.Repeat("m", 101), detail{"query.q", "maxLength"}),
		badParam("q empty", "/v1/products?q=", detail{"query.q", "minLength"}),
		badParam("maxPriceCents negative", "/v1/products?maxPriceCents=-1", detail{"query.maxPriceCents", "minimum"}),
		badParam("maxPriceCents too big", "/v1/products?maxPriceCents=100000001", detail{"query.maxPriceCents", "maximum"}),
		badParam("maxPriceCents not an integer", "/v1/products?maxPriceCents=12.5", detail{"query.maxPriceCents", "type"}),
		badParam("maxPriceCents a 400-digit integer", "/v1/products?maxPriceCents=1"+strings.Repeat("0", 400),
			detail{"query.maxPriceCents", "maximum"}, detail{"query.maxPriceCents", "format"}),
		badParam("several query violations at once", "/v1/products?page=0&pageSize=101&category=toys",
			detail{"query.page", "minimum"}, detail{"query.pageSize", "maximum"}, detail{"query.category", "enum"}),
		badParam("productId upper case", "/v1/products/PRD_1", detail{"path.productId", "pattern"}),
		badParam("productId without digits", "/v1/products/prd_", detail{"path.productId", "pattern"}),
		badParam("orderId not a uuid", "/v1/orders/not-a-uuid", detail{"path.orderId", "format"}, detail{"path.orderId", "pattern"}),
		badParam("listOrders status not in enum", "/v1/orders?status=lost", detail{"query.status", "enum"}),

		// ---- createOrder body -> 422 VALIDATION_FAILED
		badOrder("quantity 0", orderWith(`{"productId":"prd_0001","quantity":0}`, validPayment, ""), detail{"body.items[0].quantity", "minimum"}),
		badOrder("quantity 101", orderWith(`{"productId":"prd_0001","quantity":101}`, validPayment, ""), detail{"body.items[0].quantity", "maximum"}),
		badOrder("quantity a string", orderWith(`{"productId":"prd_0001","quantity":"2"}`, validPayment, ""), detail{"body.items[0].quantity", "type"}),
		badOrder("quantity a fraction", orderWith(`{"productId":"prd_0001","quantity":2.5}`, validPayment, ""), detail{"body.items[0].quantity", "type"}),
		badOrder("quantity beyond int32", orderWith(`{"productId":"prd_0001","quantity":2147483648}`, validPayment, ""),
			detail{"body.items[0].quantity", "maximum"}, detail{"body.items[0].quantity", "format"}),
		badOrder("items empty", orderWith("", validPayment, ""), detail{"body.items", "minItems"}),
		badOrder("51 items", orderWith(strings.Join(items51, ","), validPayment, ""), detail{"body.items", "maxItems"}),
		badOrder("items missing", `{"payment":`+validPayment+`}`, detail{"body.items", "required"}),
		badOrder("payment missing", `{"items":[`+validItem+`]}`, detail{"body.payment", "required"}),
		badOrder("unknown top-level field", orderWith(validItem, validPayment, `"coupon":"FREE"`), detail{"body.coupon", "additionalProperties"}),
		badOrder("unknown field in an item", orderWith(`{"productId":"prd_0001","quantity":1,"color":"red"}`, validPayment, ""), detail{"body.items[0].color", "additionalProperties"}),
		badOrder("case-variant duplicate NOTE", orderWith(validItem, validPayment, `"note":"a","NOTE":"b"`), detail{"body.NOTE", "additionalProperties"}),
		{desc: "note null is allowed", method: http.MethodPost, path: "/v1/orders", headers: jsonPost,
			body: orderWith(validItem, validPayment, `"note":null`), status: 201},
		badOrder("note 501 characters", orderWith(validItem, validPayment, `"note":"`+strings.Repeat("n", 501)+`"`), detail{"body.note", "maxLength"}),
		badOrder("note a number", orderWith(validItem, validPayment, `"note":42`), detail{"body.note", "type"}),
		badOrder("currency EUR", orderWith(validItem, validPayment, `"currency":"EUR"`), detail{"body.currency", "const"}),
		badOrder("payment method cash", orderWith(validItem, `{"method":"cash"}`, ""), detail{"body.payment", "oneOf"}),
		badOrder("card payment without cardToken", orderWith(validItem, `{"method":"card"}`, ""), detail{"body.payment.cardToken", "required"}),
		badOrder("invoice payment with cardToken", orderWith(validItem, `{"method":"invoice","purchaseOrder":"PO-1","cardToken":"tok_visa_4242"}`, ""),
			detail{"body.payment.cardToken", "additionalProperties"}),
		badOrder("cardToken not matching its pattern", orderWith(validItem, `{"method":"card","cardToken":"visa-4242"}`, ""), detail{"body.payment.cardToken", "pattern"}),
		badOrder("productId bad pattern", orderWith(`{"productId":"PRD-1","quantity":1}`, validPayment, ""), detail{"body.items[0].productId", "pattern"}),
		badOrder("item missing both members", orderWith(itemWith(""), validPayment, ""), detail{"body.items[0].productId", "required"}, detail{"body.items[0].quantity", "required"}),
		badOrder("quantity a 400-digit integer", orderWith(`{"productId":"prd_0001","quantity":1`+strings.Repeat("0", 400)+`}`, validPayment, ""),
			detail{"body.items[0].quantity", "maximum"}, detail{"body.items[0].quantity", "format"}),
		badOrder("nesting of exactly 64 passes the JSON gate", nested(63), detail{"body.note", "type"}),
		malformed("nesting of 65", nested(64)),
		badOrder("body of exactly 1 MiB is read", exactly(1<<20), detail{"body.note", "maxLength"}),
		{desc: "body of 1 MiB + 1 byte", method: http.MethodPost, path: "/v1/orders", headers: jsonPost,
			body: exactly(1<<20 + 1), status: 413, code: "PAYLOAD_TOO_LARGE"},
		badOrder("body is null", `null`, detail{"body", "type"}),
		badOrder("body is an empty object", `{}`, detail{"body.items", "required"}, detail{"body.payment", "required"}),
		badOrder("quantity beyond float64 range", orderWith(`{"productId":"prd_0001","quantity":1e400}`, validPayment, ""),
			detail{"body.items[0].quantity", "maximum"}, detail{"body.items[0].quantity", "format"}),
		{desc: "quantity 1.0 is an integer", method: http.MethodPost, path: "/v1/orders", headers: jsonPost,
			body: orderWith(`{"productId":"prd_0001","quantity":1.0}`, validPayment, ""), status: 201},
		{desc: "quantity 1e0 is an integer", method: http.MethodPost, path: "/v1/orders", headers: jsonPost,
			body: orderWith(`{"productId":"prd_0001","quantity":1e0}`, validPayment, ""), status: 201},
		badOrder("body is an array", `[`+validOrder+`]`, detail{"body", "type"}),
		badOrder("body is a string", `"order"`, detail{"body", "type"}),
		badOrder("several violations at once",
			`{"items":[{"productId":"PRD-1","quantity":0},{"productId":"prd_0002","quantity":"x","gift":true}],"currency":"EUR","note":7,"extra":1,"payment":{"method":"card","cardToken":"bad"}}`,
			detail{"body.items[0].productId", "pattern"}, detail{"body.items[0].quantity", "minimum"},
			detail{"body.items[1].quantity", "type"}, detail{"body.items[1].gift", "additionalProperties"},
			detail{"body.currency", "const"}, detail{"body.note", "type"}, detail{"body.extra", "additionalProperties"},
			detail{"body.payment.cardToken", "pattern"}),

		// ---- Idempotency-Key -> 400
		badKey("create without Idempotency-Key", "/v1/orders", "\x00missing", "IDEMPOTENCY_KEY_MISSING"),
		badKey("cancel without Idempotency-Key", "/v1/orders/"+orderUUID+"/cancel", "\x00missing", "IDEMPOTENCY_KEY_MISSING"),
		badKey("key of 256 characters", "/v1/orders", strings.Repeat("k", 256), "IDEMPOTENCY_KEY_INVALID"),
		badKey("cancel key of 256 characters", "/v1/orders/"+orderUUID+"/cancel", strings.Repeat("k", 256), "IDEMPOTENCY_KEY_INVALID"),
		badKey("key with a control character", "/v1/orders", "abc\tdef", "IDEMPOTENCY_KEY_INVALID"),
		badKey("key with non-ASCII", "/v1/orders", "cl\xc3\xa9-1", "IDEMPOTENCY_KEY_INVALID"),
		badKey("key empty quoted", "/v1/orders", `""`, "IDEMPOTENCY_KEY_INVALID"),
		badKey("key empty", "/v1/orders", "", "IDEMPOTENCY_KEY_INVALID"),
		{desc: "key sent twice", method: http.MethodPost, path: "/v1/orders",
			headers: []string{"Content-Type", "application/json", "Idempotency-Key", "twice-1", "Idempotency-Key", "twice-2"}, body: validOrder, status: 400, code: "IDEMPOTENCY_KEY_INVALID"},
		badKey("quoted key of 256 characters", "/v1/orders", `"`+strings.Repeat("q", 256)+`"`, "IDEMPOTENCY_KEY_INVALID"),
		{desc: "quoted key of 255 characters is accepted", method: http.MethodPost, path: "/v1/orders/00000000-0000-4000-8000-000000000000/cancel",
			headers: []string{"Idempotency-Key", `"` + strings.Repeat("q", 255) + `"`}, status: 404, code: "RESOURCE_NOT_FOUND"},
		{desc: "quoted structured-field key is accepted", method: http.MethodPost, path: "/v1/orders",
			headers: []string{"Content-Type", "application/json", "Idempotency-Key", `"badinput-quoted-abc"`}, body: validOrder, status: 201},
		{desc: "quoted key on cancel is accepted", method: http.MethodPost, path: "/v1/orders/00000000-0000-4000-8000-000000000000/cancel",
			headers: []string{"Idempotency-Key", `"abc"`}, status: 404, code: "RESOURCE_NOT_FOUND"},

		// ---- path hardening -> 400 INVALID_PATH
		badPath("encoded dot-dot", "/v1/products/%2e%2e"),
		badPath("encoded upper-case dot-dot then segment", "/v1/products/%2E%2E/x"),
		badPath("double-encoded dots", "/v1/products/%252e%252e"),
		badPath("encoded slash", "/v1/products/a%2fb"),
		badPath("encoded backslash", "/v1/products/a%5cb"),
		badPath("encoded NUL", "/v1/products/prd_0001%00"),
		badPath("raw backslash", `/v1/products/a\b`),
		badPath("trailing dot segment", "/v1/products/."),
		badPath("dot segment", "/v1/./products"),
		badPath("dot-dot segment", "/v1/products/../orders"),

		// ---- correlation headers
		{desc: "X-Request-Id of 200 characters", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"X-Request-Id", strings.Repeat("r", 200)}, status: 200, check: newRequestID},
		{desc: "X-Request-Id of 129 characters", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"X-Request-Id", strings.Repeat("r", 129)}, status: 200, check: newRequestID},
		{desc: "X-Request-Id with spaces", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"X-Request-Id", "abc def ghi"}, status: 200, check: newRequestID},
		{desc: "X-Request-Id with CRLF-like garbage", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"X-Request-Id", `abc%0D%0ASet-Cookie:\r\nx=1`}, status: 200, check: newRequestID},
		{desc: "X-Request-Id insane on an error", method: http.MethodGet, path: "/v1/products?page=0",
			headers: []string{"X-Request-Id", "<script>"}, status: 422, code: "VALIDATION_FAILED",
			details: []detail{{"query.page", "minimum"}}, check: newRequestID},
		{desc: "sane X-Request-Id is kept", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"X-Request-Id", "client-req.42:A_b"}, status: 200,
			check: func(t *testing.T, _ *badCase, res *testenv.Response) {
				if got := res.Header.Get("X-Request-Id"); got != "client-req.42:A_b" {
					t.Errorf("X-Request-Id %q, want the sent sane id", got)
				}
			}},
		{desc: "traceparent version ff", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"traceparent", "ff-" + validTrace + "-00f067aa0ba902b7-01"}, status: 200, check: freshTrace},
		{desc: "traceparent short", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"traceparent", "00-" + validTrace + "-00f067aa0ba9-01"}, status: 200, check: freshTrace},
		{desc: "traceparent upper case", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"traceparent", "00-" + strings.ToUpper(validTrace) + "-00F067AA0BA902B7-01"}, status: 200, check: freshTrace},
		{desc: "traceparent all-zero trace id", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"traceparent", "00-" + strings.Repeat("0", 32) + "-00f067aa0ba902b7-01"}, status: 200, check: freshTrace},
		{desc: "valid traceparent is continued", method: http.MethodGet, path: "/v1/products?pageSize=1",
			headers: []string{"traceparent", "00-" + validTrace + "-00f067aa0ba902b7-01"}, status: 200,
			check: func(t *testing.T, _ *badCase, res *testenv.Response) {
				if got := res.Header.Get("X-Trace-Id"); got != validTrace {
					t.Errorf("X-Trace-Id %q, want the sent trace id %s", got, validTrace)
				}
			}},

		// ---- request target and routing
		{desc: "request target over 8 KiB", method: http.MethodGet, path: "/v1/products?q=" + strings.Repeat("a", 9000), status: 414, code: "URI_TOO_LONG"},
		{desc: "trailing slash", method: http.MethodGet, path: "/v1/products/prd_0001/", status: 404, code: "ROUTE_NOT_FOUND"},
		{desc: "unknown route", method: http.MethodGet, path: "/v1/widgets", status: 404, code: "ROUTE_NOT_FOUND"},
		{desc: "wrong method", method: http.MethodDelete, path: "/v1/products", status: 405, code: "METHOD_NOT_ALLOWED",
			check: func(t *testing.T, _ *badCase, res *testenv.Response) {
				if allow := res.Header.Get("Allow"); !strings.Contains(allow, "GET") || strings.Contains(allow, "DELETE") {
					t.Errorf("Allow %q, want GET and not DELETE", allow)
				}
			}},
		{desc: "wrong method on create", method: http.MethodPut, path: "/v1/orders", headers: jsonPost, body: validOrder, status: 405, code: "METHOD_NOT_ALLOWED",
			check: func(t *testing.T, _ *badCase, res *testenv.Response) {
				if allow := res.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
					t.Errorf("Allow %q, want GET and POST", allow)
				}
			}},

		// ---- problem+json
		{desc: "problem+json on a 422", method: http.MethodPost, path: "/v1/orders",
			headers: append([]string{"Accept", "application/problem+json"}, jsonPost...),
			body:    orderWith(`{"productId":"prd_0001","quantity":0}`, validPayment, ""), status: 422, problem: true, check: checkProblem},
	}

	for i := range cases {
		tc := &cases[i]
		tc.headers = slices.Clone(tc.headers)
		for j := 1; j < len(tc.headers); j += 2 {
			if tc.headers[j] == autoKey {
				tc.headers[j] = fmt.Sprintf("badinput-%03d", i)
			}
		}
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			res := rawDo(t, env, tc)
			checkResponse(t, tc, res)
		})
	}
	if len(cases) < 70 {
		t.Fatalf("only %d cases", len(cases))
	}
}

func checkResponse(t *testing.T, tc *badCase, res *testenv.Response) {
	t.Helper()
	if res.Status >= 500 {
		t.Fatalf("status %d (want %d): %s", res.Status, tc.status, res.Body)
	}
	for _, leak := range leaks {
		if bytes.Contains(res.Body, []byte(leak)) {
			t.Errorf("response leaks %q: %s", leak, clipBody(res.Body))
		}
	}
	if tc.check != nil {
		defer tc.check(t, tc, res)
	}
	if tc.problem {
		if res.Status != tc.status {
			t.Errorf("status %d, want %d: %s", res.Status, tc.status, clipBody(res.Body))
		}
		return
	}
	body := assertEnvelope(t, res, tc.status, tc.code == "")
	if tc.code == "" {
		return
	}
	if code := errorCode(t, body); code != tc.code {
		t.Errorf("error.code %q, want %q: %s", code, tc.code, clipBody(res.Body))
	}
	if tc.code == "VALIDATION_FAILED" {
		compareDetails(t, body, tc.details)
	}
}

func compareDetails(t *testing.T, body map[string]any, want []detail) {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	raw, _ := e["details"].([]any)
	var got []detail
	for _, d := range raw {
		m, _ := d.(map[string]any)
		f, _ := m["field"].(string)
		c, _ := m["constraint"].(string)
		if msg, _ := m["message"].(string); msg == "" {
			t.Errorf("detail %v has no message", m)
		}
		got = append(got, detail{f, c})
	}
	if !sameDetails(got, want) {
		t.Errorf("details\n got  %v\n want %v", got, want)
	}
}

// sameDetails compares two lists of details as multisets.
func sameDetails(got, want []detail) bool {
	if len(got) != len(want) {
		return false
	}
	count := map[detail]int{}
	for _, d := range want {
		count[d]++
	}
	for _, d := range got {
		count[d]--
		if count[d] < 0 {
			return false
		}
	}
	return true
}

func checkProblem(t *testing.T, _ *badCase, res *testenv.Response) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	if !slices.ContainsFunc(res.Header.Values("Vary"), func(v string) bool {
		return slices.ContainsFunc(strings.Split(v, ","), func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "Accept") })
	}) {
		t.Errorf("Vary %q does not name Accept", res.Header.Values("Vary"))
	}
	p := res.JSON(t)
	for _, k := range []string{"type", "title", "status", "detail", "instance", "code", "errors", "requestId"} {
		if _, ok := p[k]; !ok {
			t.Errorf("problem document lacks %q: %s", k, res.Body)
		}
	}
	if p["status"] != 422.0 || p["code"] != "VALIDATION_FAILED" || p["instance"] != "/v1/orders" {
		t.Errorf("status/code/instance %v/%v/%v", p["status"], p["code"], p["instance"])
	}
	if typ, _ := p["type"].(string); typ == "" || typ == "about:blank" {
		t.Errorf("type %q", typ)
	}
	if rid := res.Header.Get("X-Request-Id"); rid == "" || p["requestId"] != rid {
		t.Errorf("requestId %v != X-Request-Id %q", p["requestId"], rid)
	}
	compareDetails(t, map[string]any{"error": map[string]any{"details": p["errors"]}}, []detail{{"body.items[0].quantity", "minimum"}})
	if _, ok := p["success"]; ok {
		t.Errorf("problem document carries envelope fields: %s", res.Body)
	}
}

func clipBody(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// rawDo writes tc as HTTP/1.1 bytes on a fresh connection and reads the response, so that
// nothing (URL normalisation, header validation, framing) is changed by a client library.
func rawDo(t *testing.T, env *testenv.Env, tc *badCase) *testenv.Response {
	t.Helper()
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", tc.method, tc.path, u.Host)
	if headerValue(tc.headers, "Authorization") == "" && headerValue(tc.headers, "X-API-Key") == "" {
		fmt.Fprintf(&head, "X-API-Key: %s\r\n", testenv.AliceKey) // authenticated: bad input is judged after auth
	}
	for i := 0; i+1 < len(tc.headers); i += 2 {
		fmt.Fprintf(&head, "%s: %s\r\n", tc.headers[i], tc.headers[i+1])
	}
	switch {
	case tc.chunked:
		head.WriteString("Transfer-Encoding: chunked\r\n")
	case headerValue(tc.headers, "Content-Length") != "":
	case tc.body != "":
		fmt.Fprintf(&head, "Content-Length: %d\r\n", len(tc.body))
	}
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	// The body is written concurrently: the gateway may answer (413) before reading it all.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !tc.chunked {
			_, _ = io.WriteString(conn, tc.body)
			return
		}
		const chunk = 32 << 10
		for b := tc.body; b != ""; {
			n := min(chunk, len(b))
			if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", n, b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
		_, _ = io.WriteString(conn, "0\r\n\r\n")
	}()
	defer func() { _ = conn.Close(); <-done }()
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: tc.method})
	if err != nil {
		t.Fatalf("%s %.200s: reading response: %v", tc.method, tc.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading response body: %v", err)
	}
	return &testenv.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}
