// Package tracing sets up OpenTelemetry tracing from the standard OTEL_* environment
// variables. Tracing is off unless an OTLP exporter is asked for; when off, nothing is
// wrapped and requests pay nothing.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Tracing is the process's tracer provider, or the disabled state (all methods are then
// pass-throughs). Safe for concurrent use.
type Tracing struct {
	tp         trace.TracerProvider
	shutdown   func(context.Context) error
	propagator propagation.TextMapPropagator
}

// Disabled returns a Tracing that traces nothing.
func Disabled() *Tracing { return &Tracing{} }

// FromEnv enables tracing when OTEL_TRACES_EXPORTER is "otlp" or an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, unless
// OTEL_SDK_DISABLED is true. The protocol is OTEL_EXPORTER_OTLP_PROTOCOL (grpc or
// http/protobuf, default http/protobuf); the sampler OTEL_TRACES_SAMPLER(_ARG) (default
// parentbased_always_on); the service name OTEL_SERVICE_NAME (default contractgate).
func FromEnv(ctx context.Context, getenv func(string) string) (*Tracing, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	exporter := getenv("OTEL_TRACES_EXPORTER")
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") + getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || exporter == "none" || (exporter != "otlp" && endpoint == "") {
		return Disabled(), nil
	}
	if getenv("OTEL_TRACES_SAMPLER") == "always_off" {
		// Nothing would ever be recorded: pay nothing. W3C trace context is still continued
		// and propagated by package correlation.
		return Disabled(), nil
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch p := getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); p {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("tracing: OTEL_EXPORTER_OTLP_PROTOCOL %q is not supported (grpc, http/protobuf)", p)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: creating the OTLP exporter: %w", err)
	}
	name := getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "contractgate"
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(name)))
	if err != nil {
		res = resource.Default()
	}
	// Span attributes may carry raw request input (otelhttp's http.request.method_original,
	// user_agent.original, url.path): cap their length unless the environment says otherwise.
	limits := sdktrace.NewSpanLimits() // reads OTEL_SPAN_* and OTEL_ATTRIBUTE_* of the process
	if getenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") == "" && getenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT") == "" {
		limits.AttributeValueLengthLimit = DefaultAttributeValueLengthLimit
	}
	return New(sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithRawSpanLimits(limits))), nil
}

// DefaultAttributeValueLengthLimit caps every span attribute value (bytes), unless
// OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT or OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT is set.
const DefaultAttributeValueLengthLimit = 1024

// New wraps a tracer provider (tests pass one with an in-memory exporter).
func New(tp *sdktrace.TracerProvider) *Tracing {
	return &Tracing{
		tp:         tp,
		shutdown:   tp.Shutdown,
		propagator: propagation.NewCompositeTextMapPropagator(boundedTraceContext{}, propagation.Baggage{}),
	}
}

// boundedTraceContext is W3C trace context whose incoming tracestate is validated and bounded
// by correlation.SanitizeTraceState before OpenTelemetry parses it, so that the server span
// (and every upstream call it propagates to) never carries an oversized tracestate.
type boundedTraceContext struct{ propagation.TraceContext }

// Extract reads traceparent and the bounded tracestate from carrier.
func (b boundedTraceContext) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return b.TraceContext.Extract(ctx, boundedCarrier{carrier})
}

// boundedCarrier answers Get("tracestate") with the carrier's tracestate lines joined and
// sanitized; every other key is the carrier's.
type boundedCarrier struct{ propagation.TextMapCarrier }

func (c boundedCarrier) Get(key string) string {
	if !strings.EqualFold(key, "tracestate") {
		return c.TextMapCarrier.Get(key)
	}
	raw := c.TextMapCarrier.Get(key)
	if vg, ok := c.TextMapCarrier.(propagation.ValuesGetter); ok {
		raw = strings.Join(vg.Values(key), ",")
	}
	return correlation.SanitizeTraceState(raw)
}

// Enabled reports whether spans are recorded.
func (t *Tracing) Enabled() bool { return t.tp != nil }

// Handler wraps the gateway's handler in a server span per request (W3C trace context
// continued when valid); the span is renamed to the operation id once routed.
func (t *Tracing) Handler(h http.Handler) http.Handler {
	if !t.Enabled() {
		return h
	}
	return otelhttp.NewHandler(h, "request",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.propagator),
		// A bounded name until observe renames the span to the operation: never the raw method.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return routes.Method(r.Method) }),
	)
}

// Transport wraps an upstream transport in a client span per attempt, propagating the trace.
//
// traceparent and tracestate on an upstream attempt have one writer: otelhttp, here, when
// the attempt is recorded (tracing on and the trace sampled: the client span is the parent);
// else correlation.Propagate (tracing off, or an unsampled trace: the server span's context,
// sampled flag off), which leaves recorded attempts alone (see correlation.Info.OTel). Attempts
// of requests whose trace is not sampled skip the instrumentation.
func (t *Tracing) Transport(rt http.RoundTripper) http.RoundTripper {
	if !t.Enabled() {
		return rt
	}
	return sampledOnly{
		plain:        rt,
		instrumented: otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(t.propagator)),
	}
}

type sampledOnly struct{ plain, instrumented http.RoundTripper }

func (s sampledOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if trace.SpanContextFromContext(req.Context()).IsSampled() {
		return s.instrumented.RoundTrip(req)
	}
	return s.plain.RoundTrip(req)
}

// Shutdown flushes and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	return errors.Join(t.shutdown(ctx))
}
