package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
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
	var b strings.Builder
	b.Grow(attackBodyLimit)
	b.WriteString(`{"items":[` + validItem + `],"payment":` + validPayment)
	for i := 0; b.Len()+16 < attackBodyLimit; i++ {
		b.WriteString(`,"k`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`":0`)
	}
	b.WriteString("}")
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
