package tracing

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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

// TestTransportOwnsTraceParent: with tracing on, the transport writes traceparent on a
// recorded (sampled) attempt, the client span's, over whatever the request carried; an
// unsampled attempt keeps what correlation.Propagate wrote.
func TestTransportOwnsTraceParent(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	tr := New(tp)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	for _, sampled := range []bool{false, true} {
		var flags trace.TraceFlags
		if sampled {
			flags = trace.FlagsSampled
		}
		ctx := trace.ContextWithSpanContext(context.Background(),
			trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags}))
		var got string
		rt := tr.Transport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.Header.Get("Traceparent")
			return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
		}))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream.test/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Traceparent", "00-11111111111111111111111111111111-2222222222222222-01")
		res, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		const want = "00-11111111111111111111111111111111-2222222222222222-01" // as sent
		if sampled && (!strings.HasPrefix(got, "00-"+tid.String()+"-") || strings.Contains(got, sid.String()) || !strings.HasSuffix(got, "-01")) {
			t.Fatalf("sampled: traceparent %q, want the attempt's client span in trace %s", got, tid)
		}
		if !sampled && got != want {
			t.Fatalf("unsampled: traceparent %q, want it untouched %q", got, want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
