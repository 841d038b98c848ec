package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/contractgate/contractgate/internal/app/testenv"
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
