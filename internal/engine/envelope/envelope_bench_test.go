package envelope_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/contractgate/contractgate/gen/gateway"
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

// BenchmarkProductEnvelope measures building and writing the envelope of GET
// /v1/products/{productId} as the generated strict handler does (meta, then
// GetProduct200JSONResponse's visitor: encoding/json into a buffer, then the writer).
func BenchmarkProductEnvelope(b *testing.B) {
	ctx := benchContext()
	tags := []string{"camping", "mug", "outdoor-kitchen", "enamel", "gift"}
	data := gateway.Product{
		Id:   "prd_0001",
		Name: "Enamel camping mug, edition 1",
		Description: "A 350 ml enamel mug that survives the campfire: powder-coated steel, a rolled stainless rim " +
			"that will not burn your lips, and a handle wide enough for gloved fingers. Stacks with the rest of the " +
			"camp kitchen set, dishwasher safe, and sold with a lifetime warranty against chipping. Made in Portugal.",
		Category:   gateway.Category("kitchen"),
		PriceCents: 1599,
		Currency:   gateway.Currency("USD"),
		InStock:    true,
		Tags:       &tags,
	}
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		res := gateway.GetProduct200JSONResponse{Success: true, Data: data, Meta: envelope.Meta(ctx)}
		if err := res.VisitGetProductResponse(w); err != nil {
			b.Fatal(err)
		}
	}
}
