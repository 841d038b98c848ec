package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// Hostile bodies of issue 13 (items 1 and 3): each is a create-order request of about 1 MiB
// (under the default body limit) shaped to make validation work or allocate as much as
// possible.

// attackBodyLimit is the size the hostile bodies fill, a little under the 1 MiB body limit.
const attackBodyLimit = 1<<20 - 64

// fill returns head + as many copies of elem (separated by sep) as fit, + tail, within
// attackBodyLimit bytes.
func fill(head, elem, sep, tail string) string {
	var b strings.Builder
	b.Grow(attackBodyLimit)
	b.WriteString(head)
	for i := 0; b.Len()+len(sep)+len(elem)+len(tail) <= attackBodyLimit; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(elem)
	}
	b.WriteString(tail)
	return b.String()
}

// unknownKeys returns a create-order body with as many distinct unknown members as fit.
func unknownKeys() string {
	return keysIn(`{"items":[`+validItem+`],"payment":`+validPayment, "}")
}

// keysIn returns head + as many distinct members ,"k<n>":0 as fit + tail.
func keysIn(head, tail string) string {
	var b strings.Builder
	b.Grow(attackBodyLimit)
	b.WriteString(head)
	for i := 0; b.Len()+16+len(tail) < attackBodyLimit; i++ {
		b.WriteString(`,"k`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`":0`)
	}
	b.WriteString(tail)
	return b.String()
}

// hostileBodies are the shapes the benchmarks and the bound test send.
var hostileBodies = []struct {
	name string
	body func() string
}{
	{"ZerosArray", func() string { return fill(`{"items":[`, "0", ",", `],"payment":`+validPayment+`}`) }},
	{"UnknownKeys", unknownKeys},
	{"EmptyObjects", func() string { return fill(`{"items":[`, "{}", ",", `],"payment":`+validPayment+`}`) }},
	{"EmptyArrays", func() string { return fill(`{"items":[`, "[]", ",", `],"payment":`+validPayment+`}`) }},
	{"ShortStrings", func() string { return fill(`{"items":[`, `"a"`, ",", `],"payment":`+validPayment+`}`) }},
	{"TwoDigitNumbers", func() string { return fill(`{"items":[`, "10", ",", `],"payment":`+validPayment+`}`) }},
	{"BadItems", func() string {
		return fill(`{"items":[`, `{"productId":"X","quantity":0,"x":1}`, ",", `],"payment":`+validPayment+`}`)
	}},
	{"NestedArrays", func() string {
		return fill(`{"items":[`, strings.Repeat("[", 60)+strings.Repeat("]", 60), ",", `],"payment":`+validPayment+`}`)
	}},
	{"LongString", func() string {
		return fill(`{"items":[`+validItem+`],"payment":`+validPayment+`,"note":"`, "a", "", `"}`)
	}},
	{"MillionDigitNumber", func() string {
		return orderWith(`{"productId":"prd_0001","quantity":1`+strings.Repeat("0", 1_000_000)+`}`, validPayment, "")
	}},
	{"HugeExponents", func() string {
		return fill(`{"items":[`, `{"productId":"prd_0001","quantity":1e999999}`, ",", `],"payment":`+validPayment+`}`)
	}},
	{"SmallObjects", func() string { // just under validation.maxContainers
		return orderWith(strings.TrimSuffix(strings.Repeat(`{"productId":"prd_0001","quantity":1},`, 9990), ","), validPayment, "")
	}},
	{"ManyMembersPerItem", func() string {
		return keysIn(`{"items":[{"productId":"prd_0001","quantity":1`, `}],"payment":`+validPayment+`}`)
	}},
	{"UnknownKeysInOneOf", func() string { // payment is a oneOf: the full engine judges it
		return keysIn(`{"items":[`+validItem+`],"payment":{"method":"card","cardToken":"tok_visa_4242"`, `}}`)
	}},
	{"ItemsInOneOf", func() string {
		return fill(`{"items":[`+validItem+`],"payment":{"method":"card","cardToken":"tok_visa_4242","x":[`, "0", ",", `]}}`)
	}},
	{"LongMemberName", func() string { // one unknown name of ~1 MiB: echoed in details' field
		return `{"` + strings.Repeat("k", attackBodyLimit-8) + `":1}`
	}},
	{"LongMemberNameInOneOf", func() string {
		return `{"items":[` + validItem + `],"payment":{"method":"card","cardToken":"tok_visa_4242","` + strings.Repeat("k", attackBodyLimit-140) + `":1}}`
	}},
	{"EscapedString", func() string {
		return fill(`{"items":[`+validItem+`],"payment":`+validPayment+`,"note":"`, `\u00e9`, "", `"}`)
	}},
}

// BenchmarkAttackValidation sends each hostile body through the whole chain and reports the
// bytes allocated and the time per request, and the size of the answer (resp-B/op).
func BenchmarkAttackValidation(b *testing.B) {
	gw := newBenchGateway(b, noCache)
	for _, hb := range hostileBodies {
		body := []byte(hb.body())
		if len(body) > 1<<20 {
			b.Fatalf("%s: body of %d bytes is over the limit", hb.name, len(body))
		}
		b.Run(hb.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+gw.token)
			req.Header.Set("Idempotency-Key", "attack-bench")
			req.ContentLength = int64(len(body))
			w := newSink()
			r := bytes.NewReader(body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				r.Reset(body)
				req.Body = io.NopCloser(r)
				gw.handler.ServeHTTP(w, req)
				if w.code < 400 || w.code >= 500 {
					b.Fatalf("status %d, want 4xx", w.code)
				}
			}
			b.ReportMetric(float64(w.n), "resp-B/op")
		})
	}
}

// TestAttackValidationDetailsCapped: a body with hundreds of thousands of violations answers
// 422 with the first 50 details (validation.maxDetails) and a message saying more were found;
// the answer stays a few kilobytes (it was 47 MB for 500,000 zeros).
func TestAttackValidationDetailsCapped(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	for _, tc := range []struct {
		desc, body string
		field      string // every detail's field starts with it
		constraint string // and has this constraint
	}{
		{"500,000 zeros as items", fill(`{"items":[`, "0", ",", `],"payment":`+validPayment+`}`), "body.items", "type"},
		{"95,000 unknown members", unknownKeys(), "body.k", "additionalProperties"},
		{"unknown members in an item", keysIn(`{"items":[{"productId":"prd_0001","quantity":1`, `}],"payment":`+validPayment+`}`), "body.items[0].k", "additionalProperties"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			res := rawDo(t, env, &badCase{method: http.MethodPost, path: "/v1/orders", headers: []string{"Content-Type", "application/json", "Idempotency-Key", "attack-cap"}, body: tc.body})
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", res.Status, clipBody(res.Body))
			}
			if len(res.Body) > 32<<10 {
				t.Errorf("answer of %d bytes, want a few KB", len(res.Body))
			}
			body := assertEnvelope(t, res, http.StatusUnprocessableEntity, false)
			e, _ := body["error"].(map[string]any)
			details, _ := e["details"].([]any)
			if len(details) != 50 {
				t.Fatalf("%d details, want 50 (validation.maxDetails)", len(details))
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg, "more than 50 violations") {
				t.Errorf("message %q does not say that more violations were found", msg)
			}
			var fields []string
			for _, d := range details {
				m, _ := d.(map[string]any)
				f, _ := m["field"].(string)
				fields = append(fields, f)
				if !strings.HasPrefix(f, tc.field) || m["constraint"] != tc.constraint && m["constraint"] != "maxItems" {
					t.Errorf("detail %v, want field %s... and constraint %s", m, tc.field, tc.constraint)
				}
			}
			if !slices.IsSorted(fields) {
				t.Errorf("details not sorted by field: %v", fields)
			}
		})
	}
	t.Run("configurable", func(t *testing.T) {
		t.Parallel()
		small := testenv.Start(t, func(c *config.Config) { c.Validation.MaxDetails = 3 })
		res := rawDo(t, small, &badCase{method: http.MethodPost, path: "/v1/orders", headers: []string{"Content-Type", "application/json", "Idempotency-Key", "attack-cap3"},
			body: `{"items":[0,0,0,0,0],"payment":` + validPayment + `}`})
		body := assertEnvelope(t, res, http.StatusUnprocessableEntity, false)
		e, _ := body["error"].(map[string]any)
		if d, _ := e["details"].([]any); len(d) != 3 || !strings.Contains(e["message"].(string), "more than 3") {
			t.Errorf("with maxDetails 3: %s", res.Body)
		}
	})
	t.Run("exactly the cap is not truncated", func(t *testing.T) {
		t.Parallel()
		small := testenv.Start(t, func(c *config.Config) { c.Validation.MaxDetails = 5 })
		res := rawDo(t, small, &badCase{method: http.MethodPost, path: "/v1/orders", headers: []string{"Content-Type", "application/json", "Idempotency-Key", "attack-cap5"},
			body: `{"items":[0,0,0,0,0],"payment":` + validPayment + `}`})
		body := assertEnvelope(t, res, http.StatusUnprocessableEntity, false)
		e, _ := body["error"].(map[string]any)
		if d, _ := e["details"].([]any); len(d) != 5 || e["message"] != "Request validation failed" {
			t.Errorf("5 violations with maxDetails 5: %s", res.Body)
		}
	})
}

// TestAttackValidationMemoryBound sends each hostile body of about 1 MiB through the whole
// chain in process and checks that one request allocates less than 10 times the body (the
// bound of issue 13; 500,000 zeros allocated 830 MiB before), and a smaller body less than
// 10 times the 1 MiB body limit. Not parallel: it reads the process's allocation counter,
// so nothing else may run meanwhile.
func TestAttackValidationMemoryBound(t *testing.T) {
	gw := newBenchGateway(t, noCache)
	for _, hb := range hostileBodies {
		body := []byte(hb.body())
		req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+gw.token)
		req.Header.Set("Idempotency-Key", "attack-memory")
		req.ContentLength = int64(len(body))
		w := newSink()
		serve := func() {
			w.reset()
			req.Body = io.NopCloser(bytes.NewReader(body))
			gw.handler.ServeHTTP(w, req)
		}
		serve() // warm up: compiled schemas, pools
		const runs = 3
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		for range runs {
			serve()
		}
		elapsed := time.Since(start) / runs
		runtime.ReadMemStats(&after)
		perReq := (after.TotalAlloc - before.TotalAlloc) / runs
		t.Logf("%-20s %8d B body: %9d B allocated (%.1fx), %v, status %d, answer %d B", hb.name, len(body), perReq, float64(perReq)/float64(len(body)), elapsed, w.code, w.n)
		if w.code < 400 || w.code >= 500 {
			t.Errorf("%s: status %d, want 4xx", hb.name, w.code)
		}
		if limit := 10 * uint64(max(len(body), 1<<20)); perReq > limit {
			t.Errorf("%s: %d bytes allocated for a body of %d: over %d", hb.name, perReq, len(body), limit)
		}
		if w.n > 32<<10 {
			t.Errorf("%s: answer of %d bytes", hb.name, w.n)
		}
	}
}

// TestAttackNumberLiterals: number literals too long or with too large an exponent are
// refused before any arithmetic on them (a million digits took 5-7 s in math/big), in a
// body (400 MALFORMED_JSON), in a parameter (422), and in an upstream answer (502).
func TestAttackNumberLiterals(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	quantity := func(q string) string {
		return orderWith(`{"productId":"prd_0001","quantity":`+q+`}`, validPayment, "")
	}
	cases := []badCase{
		malformed("a million digits", quantity("1"+strings.Repeat("0", 1_000_000))),
		malformed("1001 digits", quantity("1"+strings.Repeat("0", 1000))),
		malformed("a million-digit fraction", quantity("0."+strings.Repeat("3", 1_000_000))),
		malformed("exponent 999999999", quantity("1e999999999")),
		malformed("exponent -999999", quantity("1E-999999")),
		malformed("exponent 1001 in a note", orderWith(validItem, validPayment, `"note":1e1001`)),
		badOrder("1000 digits is judged by the schema", quantity("1"+strings.Repeat("0", 999)),
			detail{"body.items[0].quantity", "maximum"}, detail{"body.items[0].quantity", "format"}),
		badOrder("exponent 1000 is judged by the schema", quantity("1e1000"),
			detail{"body.items[0].quantity", "maximum"}, detail{"body.items[0].quantity", "format"}),
		badParam("a 1001-digit parameter", "/v1/products?maxPriceCents=1"+strings.Repeat("0", 1000), detail{"query.maxPriceCents", "format"}),
		badParam("a 5000-digit page", "/v1/products?page="+strings.Repeat("9", 5000), detail{"query.page", "format"}),
	}
	for i := range cases {
		tc := &cases[i]
		tc.headers = slices.Clone(tc.headers)
		for j := 1; j < len(tc.headers); j += 2 {
			if tc.headers[j] == autoKey {
				tc.headers[j] = "attack-number-" + strconv.Itoa(i)
			}
		}
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			res := rawDo(t, env, tc)
			checkResponse(t, tc, res)
			if d := time.Since(start); d > 5*time.Second { // linear: milliseconds, even under -race on a busy machine
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestAttackUpstreamNumbers: an upstream answer is decoded and checked by the same bounded
// code: a million-digit price, or an answer with 300,000 invalid items, is a contract
// violation found quickly, with a short log line.
func TestAttackUpstreamNumbers(t *testing.T) {
	t.Parallel()
	product := func(price string) string {
		return `{"id":"prd_0001","name":"Mug","description":"A mug","category":"kitchen","priceCents":` + price + `,"currency":"USD","stock":3}`
	}
	answers := map[string]string{
		"/products/prd_0001": product("1" + strings.Repeat("0", 1_000_000)),
		"/products/prd_0002": product("1e999999"),
		"/products":          fill(`{"total":1,"items":[`, "0", ",", "]}"),
	}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answers[r.URL.Path])
	}))
	t.Cleanup(fake.Close)
	env := testenv.Start(t, func(c *config.Config) {
		u := c.Upstreams["catalog"]
		u.BaseURL = fake.URL
		c.Upstreams["catalog"] = u
	})
	for _, path := range []string{"/v1/products/prd_0001", "/v1/products/prd_0002", "/v1/products"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			res := env.Do(t, http.MethodGet, path, "")
			if res.Status != http.StatusBadGateway {
				t.Fatalf("status %d, want 502: %s", res.Status, clipBody(res.Body))
			}
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal(res.Body, &body); err != nil || body.Error.Code != "UPSTREAM_CONTRACT_VIOLATION" {
				t.Errorf("answer %s, want UPSTREAM_CONTRACT_VIOLATION", clipBody(res.Body))
			}
			if d := time.Since(start); d > 5*time.Second { // linear: milliseconds, even under -race on a busy machine
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestAttackLooseInput: query strings Go would silently drop pairs of, or pass on broken,
// are refused in the envelope naming the parameter; request bodies in a content coding the
// gateway does not decode, or with a malformed Content-Type, are refused with 415.
func TestAttackLooseInput(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	query := func(desc, path, field string) badCase {
		return badParam(desc, path, detail{field, "encoding"})
	}
	encoded := func(desc, coding string, status int, code string) badCase {
		return badCase{desc: desc, method: http.MethodPost, path: "/v1/orders", body: validOrder, status: status, code: code,
			headers: []string{"Content-Type", "application/json", "Content-Encoding", coding, "Idempotency-Key", autoKey}}
	}
	cases := []badCase{
		query("bad percent-encoding", "/v1/products?q=%zz", "query.q"),
		query("semicolon separator", "/v1/products?pageSize=5;page=2", "query.pageSize"),
		query("invalid UTF-8", "/v1/products?q=%ff%fe", "query.q"),
		query("NUL", "/v1/products?q=a%00b", "query.q"),
		query("bad escape in a name", "/v1/products?%zz=1", "query"),
		query("on an operation without parameters", "/v1/me/dashboard?x=%zz", "query.x"),
		{desc: "well-formed query still served", method: http.MethodGet, path: "/v1/products?q=mug&pageSize=5", status: 200},
		encoded("Content-Encoding br on plain JSON", "br", 415, "UNSUPPORTED_MEDIA_TYPE"),
		encoded("Content-Encoding gzip", "gzip", 415, "UNSUPPORTED_MEDIA_TYPE"),
		encoded("Content-Encoding identity, gzip", "identity, gzip", 415, "UNSUPPORTED_MEDIA_TYPE"),
		encoded("Content-Encoding identity is fine", "identity", 201, ""),
		mediaType("malformed Content-Type parameters", `application/json; ;;; ="`, 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("Content-Type with an unterminated quote", `application/json; charset="utf-8`, 415, "UNSUPPORTED_MEDIA_TYPE"),
		mediaType("Content-Type with a duplicate charset", `application/json; charset=utf-8; charset=latin1`, 415, "UNSUPPORTED_MEDIA_TYPE"),
	}
	for i := range cases {
		tc := &cases[i]
		tc.headers = slices.Clone(tc.headers)
		for j := 1; j < len(tc.headers); j += 2 {
			if tc.headers[j] == autoKey {
				tc.headers[j] = "attack-loose-" + strconv.Itoa(i)
			}
		}
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			res := rawDo(t, env, tc)
			checkResponse(t, tc, res)
			if tc.code == "UNSUPPORTED_MEDIA_TYPE" && strings.HasPrefix(tc.desc, "Content-Encoding") && res.Header.Get("Accept-Encoding") != "identity" {
				t.Errorf("Accept-Encoding %q, want identity", res.Header.Get("Accept-Encoding"))
			}
		})
	}
}
