package binding

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// productAnswer is an upstream product of about 1 KB, with fields the public schema drops.
func productAnswer() []byte {
	var b strings.Builder
	b.WriteString(`{"id":"0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90","name":"Stoneware mug, 350 ml","priceCents":1290,`)
	b.WriteString(`"passwordHash":"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy","internalNotes":"restock from warehouse 7",`)
	b.WriteString(`"tags":["kitchen","mug","stoneware","gift"],"dimensions":{"width":9.5,"height":10.25,"depthInternal":8},`)
	b.WriteString(`"variants":[`)
	for i := range 4 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"MUG-350-%02d","cost":412,"price":{"amount":%d,"currency":"EUR","fx":1.0834},"supplier":"acme-%d"}`, i, 1290+i*100, i)
	}
	b.WriteString(`],"prices":{"de":{"amount":1290,"currency":"EUR"},"us":{"amount":1399,"currency":"USD","margin":0.31}},`)
	b.WriteString(`"category":{"name":"Kitchen","id":17,"parent":{"name":"Home","id":3}},`)
	b.WriteString(`"extra":{"material":"stoneware","dishwasherSafe":true,"origin":"PT"},`)
	b.WriteString(`"audit":{"createdBy":"svc-import","createdAt":"2026-11-26T17:05:07.123Z","updatedAt":"2026-11-27T08:00:00.000Z"}}`)
	return []byte(b.String())
}

func BenchmarkRespond(b *testing.B) {
	s := fixtureSet(b)
	o := mustOp(b, s, "getProduct")
	raw := productAnswer()
	ctx := correlation.NewContext(context.Background(), &correlation.Info{RequestID: "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90", Start: time.Now()})
	rd := bytes.NewReader(raw)
	resp := &http.Response{StatusCode: 200, Body: io.NopCloser(rd)}
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(raw)
		a, err := o.Respond(ctx, resp, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Write(w); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchAnswer keeps the benchmark's answer valid and its projection honest.
func TestBenchAnswer(t *testing.T) {
	t.Parallel()
	o := mustOp(t, fixtureSet(t), "getProduct")
	raw := productAnswer()
	if len(raw) < 900 || len(raw) > 1200 {
		t.Fatalf("answer is %d bytes, want about 1 KB", len(raw))
	}
	a, err := o.Respond(context.Background(), &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(raw))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := a.Write(rec); err != nil {
		t.Fatal(err)
	}
	for _, dropped := range []string{"passwordHash", "internalNotes", "depthInternal", "cost", "supplier", "fx", "margin", `"id":17`, "audit"} {
		if strings.Contains(rec.Body.String(), dropped) {
			t.Errorf("%s not dropped: %s", dropped, rec.Body)
		}
	}
	for _, kept := range []string{"dishwasherSafe", `"width":9.5`, `"MUG-350-03"`} {
		if !strings.Contains(rec.Body.String(), kept) {
			t.Errorf("%s dropped: %s", kept, rec.Body)
		}
	}
	// The fast path decides this answer in place: no tree is built for it.
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if !validation.ValidJSON(env.Data, o.c.schemas...) {
		t.Errorf("the fast path does not decide the projected answer: %s", env.Data)
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkValidateProjected is the check of the projected answer alone.
func BenchmarkValidateProjected(b *testing.B) {
	o := mustOp(b, fixtureSet(b), "getProduct")
	data, accepted, err := projectBoth(b, o, productAnswer())
	if err != nil || !accepted {
		b.Fatal(err, accepted)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := o.validate(data, true); err != nil {
			b.Fatal(err)
		}
	}
}
