// Package tracing sets up OpenTelemetry tracing from the standard OTEL_* environment
// variables. Tracing is off unless an OTLP exporter is asked for; when off, nothing is
// wrapped and requests pay nothing.
package tracing

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
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
	// sampler is the sampler tp was built with, when known (FromEnv, WithSampler): a request
	// it drops is served without the server span's instrumentation. nil: every request is
	// instrumented (the provider decides).
	sampler sdktrace.Sampler
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
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithRawSpanLimits(limits)}
	sampler, err := samplerFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if sampler == nil {
		// A sampler only the SDK knows (jaeger_remote, xray...): it reads the environment
		// itself, and every request is instrumented.
		return New(sdktrace.NewTracerProvider(opts...)), nil
	}
	return New(sdktrace.NewTracerProvider(append(opts, sdktrace.WithSampler(sampler), sdktrace.WithIDGenerator(idGenerator{}))...),
		WithSampler(sampler)), nil
}

// samplerFromEnv builds the sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name,
// as the SDK would (default parentbased_always_on), or nil for a sampler it does not build
// itself (left to the SDK).
func samplerFromEnv(getenv func(string) string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		arg := getenv("OTEL_TRACES_SAMPLER_ARG")
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER_ARG %q is not a ratio between 0 and 1", arg)
		}
		return r, nil
	}
	switch name := getenv("OTEL_TRACES_SAMPLER"); name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, nil
}

// DefaultAttributeValueLengthLimit caps every span attribute value (bytes), unless
// OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT or OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT is set.
const DefaultAttributeValueLengthLimit = 1024

// Option configures New.
type Option func(*Tracing)

// WithSampler tells New the sampler tp was built with, and tp must have been built with
// sdktrace.WithIDGenerator(IDGenerator()) too: then a request the sampler drops is served
// without the server span's instrumentation (no span, no wrapped writer: the request pays
// what it pays with tracing off, and correlation continues and propagates its trace context),
// and a request it samples gets the span it would have got.
func WithSampler(s sdktrace.Sampler) Option { return func(t *Tracing) { t.sampler = s } }

// IDGenerator returns the trace and span ID generator a provider given to New with
// WithSampler must use: random IDs, except a root span's trace ID, which is the one the
// server handler decided the sampling on.
func IDGenerator() sdktrace.IDGenerator { return idGenerator{} }

// New wraps a tracer provider (tests pass one with an in-memory exporter).
func New(tp *sdktrace.TracerProvider, opts ...Option) *Tracing {
	t := &Tracing{
		tp:         tp,
		shutdown:   tp.Shutdown,
		propagator: propagation.NewCompositeTextMapPropagator(boundedTraceContext{}, propagation.Baggage{}),
	}
	for _, o := range opts {
		o(t)
	}
	return t
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
	instrumented := otelhttp.NewHandler(h, "request",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.propagator),
		// A bounded name until observe renames the span to the operation: never the raw method.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return routes.Method(r.Method) }),
	)
	if t.sampler == nil {
		return instrumented
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, dropped := t.decide(r)
		if dropped.IsValid() {
			h.ServeHTTP(w, correlation.WithUnsampledTrace(r, dropped))
			return
		}
		instrumented.ServeHTTP(w, r.WithContext(ctx))
	})
}

// decide runs the sampler as the provider will when the server span starts, on the parent
// the request carries or, for a root span, on a trace ID chosen here and handed to the
// provider's ID generator through the returned context, so that both decisions are one. For
// a request the sampler drops it returns the unsampled span context the provider would have
// given it (the trace decided on, a span ID of its own, the parent's tracestate, the sampled
// flag off), so that upstreams are told the trace is not recorded; else an invalid one.
func (t *Tracing) decide(r *http.Request) (context.Context, trace.SpanContext) {
	ctx := r.Context()
	params := sdktrace.SamplingParameters{ParentContext: ctx, Name: routes.Method(r.Method), Kind: trace.SpanKindServer}
	if _, ok := r.Header["Traceparent"]; ok {
		params.ParentContext = t.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	parent := trace.SpanContextFromContext(params.ParentContext)
	if parent.IsValid() {
		params.TraceID = parent.TraceID()
	} else {
		params.TraceID = randomTraceID()
	}
	if res := t.sampler.ShouldSample(params); res.Decision == sdktrace.Drop {
		return ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: params.TraceID, SpanID: randomSpanID(), TraceState: res.Tracestate,
		})
	}
	if !parent.IsValid() {
		ctx = context.WithValue(ctx, rootTraceIDKey{}, params.TraceID)
	}
	return ctx, trace.SpanContext{}
}

type rootTraceIDKey struct{}

// idGenerator makes random IDs (math/rand/v2's generator: OpenTelemetry asks for random, not
// secret, IDs), except a root span's trace ID decided on by Tracing.decide.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if id, ok := ctx.Value(rootTraceIDKey{}).(trace.TraceID); ok {
		return id, randomSpanID()
	}
	return randomTraceID(), randomSpanID()
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return randomSpanID() }

func randomTraceID() (id trace.TraceID) {
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:8], rand.Uint64())
		binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func randomSpanID() (id trace.SpanID) {
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
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
