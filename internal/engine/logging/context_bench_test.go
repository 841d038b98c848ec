package logging

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// BenchmarkLogCall measures one log call through the JSON handler: bare (the ids added by hand
// at the call site, as before the context handler) and wrapped (the ids taken from the
// context), each with and without a request context, for a short error line and for a line
// the size of the access log; fast is wrapped over NewJSONHandler instead of slog's, and
// LogAttrs the access log's own call.
func BenchmarkLogCall(b *testing.B) {
	info := &correlation.Info{RequestID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}
	reqCtx := correlation.NewContext(context.Background(), info)
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	bare := slog.New(slog.NewJSONHandler(io.Discard, opts))
	wrapped := slog.New(NewContextHandler(slog.NewJSONHandler(io.Discard, opts)))
	fast := slog.New(NewContextHandler(NewJSONHandler(io.Discard, opts)))
	accessAttrs := func(ids bool) []slog.Attr {
		attrs := make([]slog.Attr, 0, 16)
		if ids {
			attrs = append(attrs, slog.String("requestId", info.RequestID),
				slog.String("traceId", info.TraceID), slog.String("spanId", info.SpanID))
		}
		return append(attrs, slog.Int("upstreamAttempts", 1), slog.String("operation", "getProduct"),
			slog.String("method", "GET"), slog.String("route", "/v1/products/:productId"),
			slog.Int("status", 200), slog.Float64("durationMs", 1.234), slog.Int64("bytesIn", 0),
			slog.Int64("bytesOut", 512))
	}
	for _, bc := range []struct {
		desc string
		run  func(b *testing.B)
	}{
		{"error/bare/no-request", func(b *testing.B) {
			for b.Loop() {
				bare.ErrorContext(context.Background(), "request failed", "status", 502, "error", "boom")
			}
		}},
		{"error/bare/request-by-hand", func(b *testing.B) {
			for b.Loop() {
				bare.ErrorContext(reqCtx, "request failed", "requestId", correlation.RequestID(reqCtx), "status", 502, "error", "boom")
			}
		}},
		{"error/wrapped/no-request", func(b *testing.B) {
			for b.Loop() {
				wrapped.ErrorContext(context.Background(), "request failed", "status", 502, "error", "boom")
			}
		}},
		{"error/wrapped/request", func(b *testing.B) {
			for b.Loop() {
				wrapped.ErrorContext(reqCtx, "request failed", "status", 502, "error", "boom")
			}
		}},
		{"access/bare/request-by-hand", func(b *testing.B) {
			for b.Loop() {
				bare.LogAttrs(reqCtx, slog.LevelInfo, "request", accessAttrs(true)...)
			}
		}},
		{"access/wrapped/request", func(b *testing.B) {
			for b.Loop() {
				wrapped.LogAttrs(reqCtx, slog.LevelInfo, "request", accessAttrs(false)...)
			}
		}},
		{"access/fast/request", func(b *testing.B) {
			for b.Loop() {
				fast.LogAttrs(reqCtx, slog.LevelInfo, "request", accessAttrs(false)...)
			}
		}},
		{"access/fast/LogAttrs", func(b *testing.B) {
			for b.Loop() {
				LogAttrs(reqCtx, fast, slog.LevelInfo, "request", accessAttrs(false))
			}
		}},
		{"access/wrapped/LogAttrs", func(b *testing.B) {
			for b.Loop() {
				LogAttrs(reqCtx, wrapped, slog.LevelInfo, "request", accessAttrs(false))
			}
		}},
	} {
		b.Run(bc.desc, func(b *testing.B) {
			b.ReportAllocs()
			bc.run(b)
		})
	}
}
