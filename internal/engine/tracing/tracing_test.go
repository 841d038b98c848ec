package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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

// TestHandlerSamplerDecides: with the provider's sampler known (WithSampler), a request the
// sampler drops is served without the server span's instrumentation (with an unsampled span
// context in the trace decided on), and a request it samples gets a recorded span: the
// handler's decision and the provider's are one (a ratio sampler decides on the trace ID,
// which the handler chooses and the provider's ID generator uses).
func TestHandlerSamplerDecides(t *testing.T) {
	t.Parallel()
	const parent = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		desc        string
		sampler     sdktrace.Sampler
		traceparent string
		requests    int
		// wantAll: every request recorded (true) or none (false); nil: some but not all.
		wantAll *bool
	}{
		{"root dropped", sdktrace.ParentBased(sdktrace.NeverSample()), "", 20, ptr(false)},
		{"root sampled", sdktrace.ParentBased(sdktrace.AlwaysSample()), "", 20, ptr(true)},
		{"sampled parent continued", sdktrace.ParentBased(sdktrace.NeverSample()), "00-" + parent + "-00f067aa0ba902b7-01", 20, ptr(true)},
		{"unsampled parent dropped", sdktrace.ParentBased(sdktrace.AlwaysSample()), "00-" + parent + "-00f067aa0ba902b7-00", 20, ptr(false)},
		{"ratio: decisions agree", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.5)), "", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tt.sampler), sdktrace.WithIDGenerator(IDGenerator()),
				sdktrace.WithSpanProcessor(rec))
			var sampled, recording int
			h := New(tp, WithSampler(tt.sampler)).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				span := trace.SpanFromContext(r.Context())
				sc := span.SpanContext()
				if !sc.IsValid() {
					t.Error("no span context: upstreams would not be told the decision")
				}
				if tt.traceparent != "" && (sc.TraceID().String() != parent || sc.SpanID().String() == "00f067aa0ba902b7") {
					t.Errorf("trace %s span %s, want the parent's trace %s continued in a span of its own", sc.TraceID(), sc.SpanID(), parent)
				}
				if sc.IsSampled() {
					sampled++
				}
				if span.IsRecording() {
					recording++
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			for range tt.requests {
				req := httptest.NewRequest(http.MethodGet, "/x", nil)
				if tt.traceparent != "" {
					req.Header.Set("Traceparent", tt.traceparent)
				}
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
			ended := len(rec.Ended())
			if sampled != recording || recording != ended {
				t.Fatalf("%d requests sampled, %d with a recording span, %d spans ended: the handler and the provider disagree",
					sampled, recording, ended)
			}
			switch {
			case tt.wantAll == nil && (ended == 0 || ended == tt.requests):
				t.Fatalf("%d of %d requests recorded, want some but not all", ended, tt.requests)
			case tt.wantAll != nil && *tt.wantAll && ended != tt.requests:
				t.Fatalf("%d of %d requests recorded, want all", ended, tt.requests)
			case tt.wantAll != nil && !*tt.wantAll && ended != 0:
				t.Fatalf("%d of %d requests recorded, want none", ended, tt.requests)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestSamplerFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sampler, arg string
		want         string // the sampler's Description; "" for nil (left to the SDK)
		err          bool
	}{
		{"", "", sdktrace.ParentBased(sdktrace.AlwaysSample()).Description(), false},
		{"always_on", "", sdktrace.AlwaysSample().Description(), false},
		{"parentbased_always_off", "", sdktrace.ParentBased(sdktrace.NeverSample()).Description(), false},
		{"traceidratio", "0.25", sdktrace.TraceIDRatioBased(0.25).Description(), false},
		{"parentbased_traceidratio", "", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(1)).Description(), false},
		{"parentbased_traceidratio", "1.5", "", true},
		{"traceidratio", "half", "", true},
		{"jaeger_remote", "", "", false},
	}
	for _, tt := range tests {
		env := map[string]string{"OTEL_TRACES_SAMPLER": tt.sampler, "OTEL_TRACES_SAMPLER_ARG": tt.arg}
		s, err := samplerFromEnv(func(k string) string { return env[k] })
		if (err != nil) != tt.err {
			t.Fatalf("%s %q: err %v, want error %v", tt.sampler, tt.arg, err, tt.err)
		}
		got := ""
		if s != nil {
			got = s.Description()
		}
		if got != tt.want {
			t.Fatalf("%s %q: sampler %q, want %q", tt.sampler, tt.arg, got, tt.want)
		}
	}
}
