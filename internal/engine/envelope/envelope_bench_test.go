package envelope_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/envelope"
)

// discardWriter is a reusable http.ResponseWriter that drops the body.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func benchContext() context.Context {
	return correlation.NewContext(context.Background(), &correlation.Info{
		RequestID: "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90",
		TraceID:   "4bf92f3577b34da6a3ce929d0e0e4736",
		SpanID:    "00f067aa0ba902b7",
		Start:     time.Now(),
	})
}

// BenchmarkMeta measures the meta block of every response.
func BenchmarkMeta(b *testing.B) {
	ctx := benchContext()
	b.ReportAllocs()
	for b.Loop() {
		m := envelope.Meta(ctx)
		if m.RequestId == "" {
			b.Fatal("no request id")
		}
	}
}

// BenchmarkListMeta measures the meta block of a list, pagination included.
func BenchmarkListMeta(b *testing.B) {
	ctx := benchContext()
	b.ReportAllocs()
	for b.Loop() {
		m := envelope.ListMeta(ctx, 2, 20, 57)
		if m.Pagination == nil {
			b.Fatal("no pagination")
		}
	}
}

// product and productEnvelope have the shape oapi-codegen generates for a product and its
// success envelope (a fixture: the engine knows no app's contract).
type product struct {
	Category    string    `json:"category"`
	Currency    string    `json:"currency"`
	Description string    `json:"description"`
	Id          string    `json:"id"`
	InStock     bool      `json:"inStock"`
	Name        string    `json:"name"`
	PriceCents  int64     `json:"priceCents"`
	Tags        *[]string `json:"tags,omitempty"`
}

type productEnvelope struct {
	Data    product         `json:"data"`
	Meta    components.Meta `json:"meta"`
	Success bool            `json:"success"`
}

// visit writes the envelope as a generated strict response visitor does: encoding/json
// into a buffer, then the header, status and body.
func (res productEnvelope) visit(w http.ResponseWriter) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(res); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := buf.WriteTo(w)
	return err
}

// BenchmarkProductEnvelope measures building and writing the envelope of a product as the
// generated strict handler does (meta, then the response visitor).
func BenchmarkProductEnvelope(b *testing.B) {
	ctx := benchContext()
	tags := []string{"camping", "mug", "outdoor-kitchen", "enamel", "gift"}
	data := product{
		Id:   "prd_0001",
		Name: "Enamel camping mug, edition 1",
		Description: "A 350 ml enamel mug that survives the campfire: powder-coated steel, a rolled stainless rim " +
			"that will not burn your lips, and a handle wide enough for gloved fingers. Stacks with the rest of the " +
			"camp kitchen set, dishwasher safe, and sold with a lifetime warranty against chipping. Made in Portugal.",
		Category:   "kitchen",
		PriceCents: 1599,
		Currency:   "USD",
		InStock:    true,
		Tags:       &tags,
	}
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		res := productEnvelope{Success: true, Data: data, Meta: envelope.Meta(ctx)}
		if err := res.visit(w); err != nil {
			b.Fatal(err)
		}
	}
}
