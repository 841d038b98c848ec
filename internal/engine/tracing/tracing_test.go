package tracing

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestBoundedTraceContextExtract(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	var big []string
	for i := range 10 {
		big = append(big, "k"+string(rune('a'+i))+"="+strings.Repeat("v", 97))
	}
	tests := []struct {
		desc  string
		lines []string
		want  string
	}{
		{"valid kept", []string{"a=1"}, "a=1"},
		{"lines combined", []string{"a=1", "b=2"}, "a=1,b=2"},
		{"invalid dropped", []string{"x=" + strings.Repeat("A", 20000) + `,"evil"=<script>`}, ""},
		{"oversized truncated", []string{strings.Join(big, ",")}, strings.Join(big[:5], ",")},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			h.Set("Traceparent", tp)
			for _, l := range tt.lines {
				h.Add("Tracestate", l)
			}
			ctx := boundedTraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(h))
			sc := trace.SpanContextFromContext(ctx)
			if !sc.IsValid() || sc.TraceID().String() != tp[3:35] {
				t.Fatalf("span context %v: want the client's trace continued", sc)
			}
			if got := sc.TraceState().String(); got != tt.want {
				t.Fatalf("tracestate = %.80q, want %.80q", got, tt.want)
			}
		})
	}
}
