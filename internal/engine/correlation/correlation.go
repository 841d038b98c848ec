// Package correlation gives every request an id and a W3C trace context, returns them in
// X-Request-Id and X-Trace-Id, and carries them on the request context for logs, envelopes
// and upstream calls.
package correlation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Header names.
const (
	HeaderRequestID   = "X-Request-Id"
	HeaderTraceID     = "X-Trace-Id"
	HeaderTraceParent = "Traceparent" // canonical form: Header.Get does not allocate a copy
	HeaderTraceState  = "Tracestate"
)

// MaxRequestIDLength is the longest client-supplied request id that is kept.
const MaxRequestIDLength = 128

// MaxTraceStateLength is the longest tracestate passed on upstream (bytes, members joined by
// ","). W3C Trace Context asks vendors to propagate at least 512 characters and lets them
// truncate beyond that; see SanitizeTraceState.
const MaxTraceStateLength = 512

// maxTraceStateMember is the size above which a tracestate member is dropped first when the
// list must be truncated (W3C Trace Context, "Tracestate Limits").
const maxTraceStateMember = 128

// maxTraceStateInput is the longest tracestate that can be valid (32 members of a 256-byte
// key and a 256-byte value, 31 commas) plus some optional whitespace; longer input is
// dropped without being parsed.
const maxTraceStateInput = 32*(256+1+256) + 31 + 512

// Info is what the gateway knows about the request's identity in logs and traces.
type Info struct {
	// RequestID is the client's sane X-Request-Id, or a generated UUIDv7.
	RequestID string
	// TraceID is the W3C trace id (32 lowercase hex digits), continued or started.
	TraceID string
	// SpanID is the gateway's own span id for this request (16 hex digits).
	SpanID string
	// TraceState is the client's tracestate when the trace was continued, validated and
	// bounded by SanitizeTraceState (empty when invalid); passed on upstream.
	TraceState string
	// Sampled is the W3C sampled flag passed on upstream: the OpenTelemetry decision when
	// tracing is on, else the caller's flag (set for traces the gateway starts).
	Sampled bool
	// OTel is true when OpenTelemetry (package tracing, on) continued or started the trace.
	// When it also samples it (Sampled), every upstream attempt is recorded and
	// tracing.Transport writes traceparent and tracestate (its client span is the parent), so
	// Propagate leaves them alone; otherwise Propagate writes them. Exactly one of the two
	// ever writes them on an attempt.
	OTel bool
	// Operation is the contract operation routes.Match resolved for the request (a
	// *routes.Operation), once, after routing; nil outside the contract. Read it with
	// routes.Current. Written and read on the request's goroutine only.
	Operation any
	// Start is when the gateway began handling the request.
	Start time.Time
	// UpstreamAttempts counts the attempts made to upstreams for this request (retries
	// included); the upstream transport adds to it, the access log reports it.
	UpstreamAttempts atomic.Int32
	// ErrorCode is the code of the error this request was answered with, or "" when the
	// answer is not an error. The one error handler (apierror.Handler) sets it when it renders
	// an error, and the idempotency middleware when it replays a stored one; the observation
	// step reads it, once the chain has returned, for the access log and the error metric.
	// It is written and read on the request's goroutine only.
	ErrorCode string
}

type ctxKey struct{}

// FromContext returns the request's Info, or nil outside a request.
func FromContext(ctx context.Context) *Info {
	info, _ := ctx.Value(ctxKey{}).(*Info)
	return info
}

// NewContext returns ctx carrying info.
func NewContext(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, ctxKey{}, info)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	if info := FromContext(ctx); info != nil {
		return info.RequestID
	}
	return ""
}

// TraceParent returns the traceparent header value to send upstream for ctx, or "".
func TraceParent(ctx context.Context) string {
	info := FromContext(ctx)
	if info == nil || info.TraceID == "" {
		return ""
	}
	flags := "-00"
	if info.Sampled {
		flags = "-01"
	}
	return "00-" + info.TraceID + "-" + info.SpanID + flags
}

// Correlation is the first step of the chain. It has nothing to configure and cannot fail to
// build, so New takes no Config and returns no error; otherwise it has the shape of every
// middleware of the chain (New, then Middleware). Safe for concurrent use.
type Correlation struct{}

// New returns the correlation step.
func New() *Correlation { return &Correlation{} }

// Middleware assigns the request id and trace context, sets X-Request-Id and X-Trace-Id on
// the response, and stores Info on the request context. It never fails. A request
// WithUnsampledTrace returned is not begun again.
func (*Correlation) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			rec, ok := req.Context().(*record)
			if !ok || rec.begun != req {
				rec = new(record)
				rec.begin(req, trace.SpanContextFromContext(req.Context()))
				c.SetRequest(req.WithContext(rec))
			}
			// Header.Set's work (both names are canonical), with the values' slices in rec.
			h := c.Response().Header()
			h[HeaderRequestID] = rec.values[0:1:1]
			h[HeaderTraceID] = rec.values[1:2:2]
			return next(c)
		}
	}
}

// WithUnsampledTrace returns r begun on sc, the span context OpenTelemetry gives a request
// its sampler drops (the trace decided on, a span ID of its own, the sampled flag off): the
// request context carries sc as its current span, non-recording, as the SDK's would, and
// the request's Info, so that the chain's correlation step finds the request begun. It
// costs the allocations the correlation step would have made, and one for the span's
// context.
func WithUnsampledTrace(r *http.Request, sc trace.SpanContext) *http.Request {
	u := &unsampled{span: unsampledSpan{sc: sc}}
	u.rec.begin(r, sc)
	u.rec.Context = trace.ContextWithSpan(u.rec.Context, &u.span)
	begun := r.WithContext(&u.rec)
	u.rec.begun = begun
	return begun
}

// unsampled is the record of a request WithUnsampledTrace began, with its span, in one
// allocation.
type unsampled struct {
	rec  record
	span unsampledSpan
}

// unsampledSpan is the non-recording span of a trace OpenTelemetry does not record.
type unsampledSpan struct {
	noop.Span
	sc trace.SpanContext
}

// SpanContext returns the span's context.
func (s *unsampledSpan) SpanContext() trace.SpanContext { return s.sc }

// begin fills the request's record: the client's request id or a new one, and the trace
// context sc (valid when OpenTelemetry continued or started the trace), else the client's
// traceparent, else a new trace.
func (r *record) begin(req *http.Request, sc trace.SpanContext) {
	r.Context = req.Context()
	info := &r.info
	info.Start, info.RequestID = time.Now(), req.Header.Get(HeaderRequestID)
	_, _ = rand.Read(r.random[:]) // crypto/rand.Read never fails (Go 1.24+).
	text := r.text[:0]
	if !SaneRequestID(info.RequestID) {
		text = appendUUIDv7(text, r.random[:8])
		info.RequestID = r.string(0, len(text))
	}
	if sc.IsValid() {
		// OpenTelemetry is on and already continued or started the trace (its propagator
		// bounds tracestate with SanitizeTraceState, see package tracing).
		traceID, spanID := sc.TraceID(), sc.SpanID()
		info.TraceID, text = r.appendHex(text, traceID[:])
		info.SpanID, _ = r.appendHex(text, spanID[:])
		info.Sampled, info.OTel = sc.IsSampled(), true
		if sc.TraceState().Len() > 0 {
			info.TraceState = sc.TraceState().String()
		}
	} else {
		tp := req.Header.Get(HeaderTraceParent)
		if traceID, ok := ParseTraceParent(tp); ok {
			info.TraceID = traceID
			info.TraceState = SanitizeTraceState(TraceStateHeader(req.Header))
			info.Sampled = sampledFlag(tp[54]) // trace-flags' low hex digit, bit 0
		} else {
			info.TraceID, text = r.appendHex(text, r.random[8:24])
			info.Sampled = true
		}
		info.SpanID, _ = r.appendHex(text, r.random[24:32])
	}
	r.values = [2]string{info.RequestID, info.TraceID}
}

// record is one request's correlation state in a single allocation: the request context
// carrying Info (what NewContext would add), the text of the ids the gateway generates, and
// the response headers' value slices.
type record struct {
	context.Context
	info   Info
	random [8 + 16 + 8]byte   // rand_b of a generated request id, a trace id, a span id
	text   [36 + 32 + 16]byte // the generated ids' text; info's strings point into it
	values [2]string          // X-Request-Id and X-Trace-Id
	// begun is the request WithUnsampledTrace returned with this record, which the chain's
	// correlation step takes as begun; nil for the records that step makes. Any other
	// request carrying the record (one made with the same context) is begun anew.
	begun *http.Request
}

// Value returns the request's Info for the correlation key, else the parent's value.
func (r *record) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return &r.info
	}
	return r.Context.Value(key)
}

// string returns r.text[from:to] as a string without copying: the text is written once,
// before the string is handed out, and never changes after.
func (r *record) string(from, to int) string {
	return unsafe.String(&r.text[from], to-from)
}

// appendHex appends the hex digits of b to text (a prefix of r.text) and returns them as a
// string together with the longer text.
func (r *record) appendHex(text, b []byte) (string, []byte) {
	from := len(text)
	text = hex.AppendEncode(text, b)
	return r.string(from, len(text)), text
}

// v7 keeps generated request ids increasing within the process, as uuid.NewV7 does.
var v7 struct {
	sync.Mutex
	last int64
}

// appendUUIDv7 appends a UUIDv7 (RFC 9562: 48-bit Unix milliseconds, a 12-bit sub-millisecond
// sequence that keeps ids increasing, 62 random bits) in its 36-character text form; random
// gives the 8 bytes of rand_b. The layout and sequence are uuid.NewV7's, without its
// allocations.
func appendUUIDv7(text, random []byte) []byte {
	nano := time.Now().UnixNano()
	milli := nano / 1e6
	now := milli<<12 + (nano-milli*1e6)>>8
	v7.Lock()
	if now <= v7.last {
		now = v7.last + 1
	}
	v7.last = now
	v7.Unlock()
	milli, seq := now>>12, now&0xfff
	var u [16]byte
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(milli>>40), byte(milli>>32), byte(milli>>24), byte(milli>>16), byte(milli>>8), byte(milli)
	u[6], u[7] = 0x70|byte(seq>>8)&0x0f, byte(seq)
	copy(u[8:], random)
	u[8] = u[8]&0x3f | 0x80 // variant 10
	text = hex.AppendEncode(text, u[0:4])
	text = append(text, '-')
	text = hex.AppendEncode(text, u[4:6])
	text = append(text, '-')
	text = hex.AppendEncode(text, u[6:8])
	text = append(text, '-')
	text = hex.AppendEncode(text, u[8:10])
	text = append(text, '-')
	return hex.AppendEncode(text, u[10:16])
}

// Propagate sets the correlation headers of ctx on an outgoing (upstream) request:
// X-Request-Id always, and traceparent and tracestate unless OpenTelemetry records the
// attempts (Info.OTel and Info.Sampled: then tracing.Transport writes them).
func Propagate(ctx context.Context, header http.Header) {
	info := FromContext(ctx)
	if info == nil {
		return
	}
	// Header.Set's work (the names are canonical), the values' slices and the traceparent's
	// text in one allocation.
	out := new(outgoing)
	out.values[0] = info.RequestID
	header[HeaderRequestID] = out.values[0:1:1]
	if info.OTel && info.Sampled {
		return // tracing.Transport writes the attempt's client span
	}
	if info.TraceID == "" {
		return
	}
	flags := "-00"
	if info.Sampled {
		flags = "-01"
	}
	tp := append(append(append(append(append(out.text[:0], "00-"...), info.TraceID...), '-'), info.SpanID...), flags...)
	out.values[1] = unsafe.String(unsafe.SliceData(tp), len(tp)) // out.text never changes after
	header[HeaderTraceParent] = out.values[1:2:2]
	if info.TraceState != "" {
		out.values[2] = info.TraceState
		header[HeaderTraceState] = out.values[2:3:3]
	}
}

// outgoing holds the correlation headers' values of one upstream request.
type outgoing struct {
	values [3]string // X-Request-Id, traceparent, tracestate
	text   [55]byte  // traceparent: 00-<trace id>-<span id>-<flags>
}

// SaneRequestID reports whether id is 1..128 characters of [A-Za-z0-9._:-].
func SaneRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// TraceStateHeader returns the request's tracestate: its header lines joined by "," as W3C
// Trace Context says they combine, or "".
func TraceStateHeader(h http.Header) string {
	values := h.Values(HeaderTraceState)
	switch len(values) {
	case 0:
		return ""
	case 1:
		return values[0]
	}
	return strings.Join(values, ",")
}

// SanitizeTraceState validates a W3C tracestate (at most 32 list members, keys and values per
// the spec's grammar, no duplicate keys: trace.ParseTraceState) and returns it normalized, or
// "" when it is invalid. A valid list longer than MaxTraceStateLength is truncated as the
// spec recommends: members longer than 128 characters are removed first, then members from
// the end, until it fits. The client's traceparent is kept whatever its tracestate.
func SanitizeTraceState(raw string) string {
	if raw == "" || len(raw) > maxTraceStateInput {
		return ""
	}
	ts, err := trace.ParseTraceState(raw)
	if err != nil || ts.Len() == 0 {
		return ""
	}
	s := ts.String()
	if len(s) <= MaxTraceStateLength {
		return s
	}
	type member struct{ key, value string }
	members := make([]member, 0, ts.Len())
	total := -1 // n members need n-1 separators
	ts.Walk(func(key, value string) bool {
		if n := len(key) + 1 + len(value); n <= maxTraceStateMember {
			members = append(members, member{key, value})
			total += n + 1
		}
		return true
	})
	for len(members) > 0 && total > MaxTraceStateLength {
		last := members[len(members)-1]
		total -= len(last.key) + 1 + len(last.value) + 1
		members = members[:len(members)-1]
	}
	var b strings.Builder
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.key)
		b.WriteByte('=')
		b.WriteString(m.value)
	}
	return b.String()
}

// ParseTraceParent validates a W3C traceparent header (version 00 or a later version read as
// 00) and returns its trace id.
func ParseTraceParent(tp string) (traceID string, ok bool) {
	// version(2) - trace-id(32) - parent-id(16) - flags(2)
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' {
		return "", false
	}
	version, traceID, parentID, flags := tp[0:2], tp[3:35], tp[36:52], tp[53:55]
	if !lowerHex(version) || version == "ff" || (version == "00" && len(tp) != 55) ||
		(len(tp) > 55 && tp[55] != '-') {
		return "", false
	}
	if !lowerHex(traceID) || !lowerHex(parentID) || !lowerHex(flags) ||
		traceID == "00000000000000000000000000000000" || parentID == "0000000000000000" {
		return "", false
	}
	return traceID, true
}

// sampledFlag reads bit 0 of a lowercase hex digit.
func sampledFlag(c byte) bool {
	v := c - '0'
	if c >= 'a' {
		v = c - 'a' + 10
	}
	return v&1 == 1
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
