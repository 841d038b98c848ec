package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/engine/tracing"
)

// TestDashboardSpanTree: one server span named by the operation id, continuing the client's
// trace, with one client span per upstream call beneath it.
func TestDashboardSpanTree(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	env := testenv.StartWith(t, []server.Option{server.WithTracing(tracing.New(tp))})

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	res := env.Do(t, http.MethodGet, "/v1/me/dashboard", "", "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	assertEnvelope(t, res, http.StatusOK, true)
	if res.Header.Get("X-Trace-Id") != traceID {
		t.Fatalf("X-Trace-Id %q, want the client's trace %s", res.Header.Get("X-Trace-Id"), traceID)
	}
	if err := tp.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	var serverSpan *tracetest.SpanStub
	var clients []tracetest.SpanStub
	for i, s := range spans {
		if s.SpanContext.TraceID().String() != traceID {
			t.Errorf("span %q in trace %s, want %s", s.Name, s.SpanContext.TraceID(), traceID)
		}
		switch s.SpanKind {
		case trace.SpanKindServer:
			serverSpan = &spans[i]
		case trace.SpanKindClient:
			clients = append(clients, s)
		}
	}
	if serverSpan == nil || serverSpan.Name != "getDashboard" {
		t.Fatalf("server span %+v, want one named getDashboard (spans: %d)", serverSpan, len(spans))
	}
	if serverSpan.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("server span parent %s, want the client's span", serverSpan.Parent.SpanID())
	}
	if len(clients) != 3 {
		t.Fatalf("%d client spans, want 3 (users, orders, catalog)", len(clients))
	}
	seen := map[string]bool{}
	for _, c := range clients {
		if c.Parent.SpanID() != serverSpan.SpanContext.SpanID() {
			t.Errorf("client span %q has parent %s, want the server span", c.Name, c.Parent.SpanID())
		}
		for _, a := range c.Attributes {
			if a.Key == "url.full" || a.Key == "http.url" {
				for _, p := range []string{"/users/", "/orders", "/recommendations"} {
					if strings.Contains(a.Value.AsString(), p) {
						seen[p] = true
					}
				}
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("client spans cover %v, want users, orders and recommendations", seen)
	}
}

// TestDroppedTraceIsPropagatedUnsampled: with tracing on, a request the sampler drops is
// passed on upstream with the sampled flag off, in the trace the decision was made on (the
// client's, with its tracestate, or the one the gateway started and answers in X-Trace-Id),
// so that an upstream sampling by its parent records nothing either. Before, a root the ratio
// sampler dropped went upstream as sampled (flag 01): every upstream of a gateway sampling
// 1% recorded all of its traces, under a parent span that was never exported.
func TestDroppedTraceIsPropagatedUnsampled(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	exp := tracetest.NewInMemoryExporter()
	drop := sdktrace.TraceIDRatioBased(0) // not parent-based: a sampled parent is dropped too
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(drop), sdktrace.WithIDGenerator(tracing.IDGenerator()))
	rec := &headerRecorder{}
	env := testenv.StartWith(t, []server.Option{server.WithTracing(tracing.New(tp, tracing.WithSampler(drop)))},
		func(c *config.Config) { rec.wrap(t, c) })
	for _, tc := range []struct {
		desc    string
		headers []string
		state   string // the tracestate upstreams get
	}{
		{"root", nil, ""},
		{"sampled parent", []string{"traceparent", "00-" + traceID + "-00f067aa0ba902b7-01", "tracestate", "rojo=00f067aa0ba902b7"}, "rojo=00f067aa0ba902b7"},
		{"unsampled parent", []string{"traceparent", "00-" + traceID + "-00f067aa0ba902b7-00"}, ""},
	} {
		res := env.Do(t, http.MethodGet, "/v1/me/dashboard", "", tc.headers...)
		assertEnvelope(t, res, http.StatusOK, true)
		want := res.Header.Get("X-Trace-Id")
		if tc.headers != nil && want != traceID {
			t.Fatalf("%s: X-Trace-Id %q, want the client's trace", tc.desc, want)
		}
		calls := rec.take()
		if len(calls) != 3 {
			t.Fatalf("%s: %d upstream calls, want 3", tc.desc, len(calls))
		}
		for _, h := range calls {
			tp := h.Get("Traceparent")
			if len(tp) != 55 || tp[3:35] != want || !strings.HasSuffix(tp, "-00") || tp[36:52] == "00f067aa0ba902b7" {
				t.Errorf("%s: upstream traceparent %q, want trace %s, a span of the gateway's, flag 00", tc.desc, tp, want)
			}
			if got := h.Get("Tracestate"); got != tc.state {
				t.Errorf("%s: upstream tracestate %q, want %q", tc.desc, got, tc.state)
			}
		}
	}
	if err := tp.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans recorded, want none", n)
	}
}
