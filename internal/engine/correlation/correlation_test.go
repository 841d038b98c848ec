package correlation

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"
)

func TestSaneRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		id   string
		want bool
	}{
		{"uuid", "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90", true},
		{"all allowed characters", "Az09._:-", true},
		{"max length", strings.Repeat("a", 128), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", 129), false},
		{"space", "a b", false},
		{"crlf injection", "abc\r\nSet-Cookie: x=1", false},
		{"slash", "a/b", false},
		{"non ascii", "ä", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := SaneRequestID(tt.id); got != tt.want {
				t.Fatalf("SaneRequestID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestParseTraceParent(t *testing.T) {
	t.Parallel()
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		desc string
		tp   string
		ok   bool
	}{
		{"valid", valid, true},
		{"future version with more fields", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", true},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"version 00 with trailing data", valid + "-x", false},
		{"uppercase hex", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
		{"zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
		{"short", "00-4bf92f35-00f067aa0ba902b7-01", false},
		{"garbage", "hello", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			id, ok := ParseTraceParent(tt.tp)
			if ok != tt.ok {
				t.Fatalf("ParseTraceParent(%q) ok = %v, want %v", tt.tp, ok, tt.ok)
			}
			if ok && id != tt.tp[3:35] {
				t.Fatalf("trace id = %q", id)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc        string
		requestID   string
		traceparent string
		keepID      bool
		keepTrace   bool
	}{
		{desc: "sane id and valid trace kept", requestID: "req-1", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", keepID: true, keepTrace: true},
		{desc: "nothing sent", keepID: false, keepTrace: false},
		{desc: "oversized id replaced", requestID: strings.Repeat("x", 200), keepID: false},
		{desc: "invalid trace restarted", requestID: "r", traceparent: "00-zz-00-01", keepID: true, keepTrace: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			e := echo.New()
			var seen *Info
			h := New().Middleware()(func(c echo.Context) error {
				seen = FromContext(c.Request().Context())
				out := http.Header{}
				Propagate(c.Request().Context(), out)
				if out.Get(HeaderRequestID) != seen.RequestID || !strings.Contains(out.Get(HeaderTraceParent), seen.TraceID) {
					t.Errorf("Propagate set %v for %+v", out, seen)
				}
				return nil
			})
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.requestID != "" {
				req.Header.Set(HeaderRequestID, tt.requestID)
			}
			if tt.traceparent != "" {
				req.Header.Set(HeaderTraceParent, tt.traceparent)
			}
			rec := httptest.NewRecorder()
			if err := h(e.NewContext(req, rec)); err != nil {
				t.Fatal(err)
			}
			if seen == nil || rec.Header().Get(HeaderRequestID) != seen.RequestID || rec.Header().Get(HeaderTraceID) != seen.TraceID {
				t.Fatalf("headers %v do not match context %+v", rec.Header(), seen)
			}
			if got := seen.RequestID == tt.requestID; got != tt.keepID {
				t.Errorf("request id kept = %v, want %v (got %q)", got, tt.keepID, seen.RequestID)
			}
			if !SaneRequestID(seen.RequestID) {
				t.Errorf("request id %q is not sane", seen.RequestID)
			}
			if _, ok := ParseTraceParent(TraceParent(req.Context())); ok {
				t.Error("original request context should carry no Info")
			}
			if tt.keepTrace != (tt.traceparent != "" && strings.Contains(tt.traceparent, seen.TraceID)) {
				t.Errorf("trace continued = %v, want %v", !tt.keepTrace, tt.keepTrace)
			}
			if len(seen.TraceID) != 32 || len(seen.SpanID) != 16 {
				t.Errorf("trace/span ids malformed: %+v", seen)
			}
		})
	}
}

func TestSampledFlagPropagates(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		flags string
		want  string
	}{{"01", "-01"}, {"00", "-00"}, {"03", "-01"}, {"0b", "-01"}, {"0a", "-00"}} {
		e := echo.New()
		var got string
		h := New().Middleware()(func(c echo.Context) error {
			got = TraceParent(c.Request().Context())
			return nil
		})
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(HeaderTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-"+tt.flags)
		if err := h(e.NewContext(req, httptest.NewRecorder())); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(got, tt.want) {
			t.Errorf("flags %s: propagated %q, want suffix %s", tt.flags, got, tt.want)
		}
	}
}

func TestSanitizeTraceState(t *testing.T) {
	t.Parallel()
	member := func(i, n int) string { // a valid member of exactly n bytes
		key := fmt.Sprintf("k%02d", i)
		return key + "=" + strings.Repeat("v", n-len(key)-1)
	}
	var many, big []string
	for i := range 33 {
		many = append(many, member(i, 8))
	}
	for i := range 10 {
		big = append(big, member(i, 100))
	}
	long := member(99, 200)
	tests := []struct {
		desc, raw, want string
	}{
		{"empty", "", ""},
		{"valid", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
		{"multi-tenant key", "t@sys=1", "t@sys=1"},
		{"whitespace normalized", " a=1 , b=2 ", "a=1,b=2"},
		{"quoted key", `x=1,"evil"=<script>`, ""},
		{"value too long (over 256)", "x=" + strings.Repeat("A", 20000), ""},
		{"uppercase key", "Abc=1", ""},
		{"no equals", "abc", ""},
		{"duplicate key", "a=1,a=2", ""},
		{"control character", "a=1\x00", ""},
		{"longer than any valid list", strings.Repeat("a=1,", 4300), ""},
		{"32 members kept", strings.Join(many[:32], ","), strings.Join(many[:32], ",")},
		{"33 members dropped", strings.Join(many, ","), ""},
		{"oversized: trailing members removed", strings.Join(big, ","), strings.Join(big[:5], ",")},
		{"oversized: long members removed first", long + "," + strings.Join(big[:5], ","), strings.Join(big[:5], ",")},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := SanitizeTraceState(tt.raw)
			if got != tt.want {
				t.Fatalf("SanitizeTraceState(%.60q...) = %.80q, want %.80q", tt.raw, got, tt.want)
			}
			if len(got) > MaxTraceStateLength {
				t.Fatalf("len = %d > %d", len(got), MaxTraceStateLength)
			}
		})
	}
}

func TestPropagateBoundsTraceState(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		desc  string
		lines []string
		want  string
	}{
		{"valid passed on", []string{"a=1"}, "a=1"},
		{"lines combined", []string{"a=1", "b=2"}, "a=1,b=2"},
		{"invalid dropped", []string{"x=" + strings.Repeat("A", 20000) + `,"evil"=<script>`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			e := echo.New()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set(HeaderTraceParent, tp)
			for _, l := range tt.lines {
				req.Header.Add(HeaderTraceState, l)
			}
			out := http.Header{}
			h := New().Middleware()(func(c echo.Context) error {
				Propagate(c.Request().Context(), out)
				return nil
			})
			if err := h(e.NewContext(req, httptest.NewRecorder())); err != nil {
				t.Fatal(err)
			}
			if out.Get(HeaderTraceParent) == "" || out.Get(HeaderTraceParent)[3:35] != tp[3:35] {
				t.Fatalf("traceparent = %q, want the client's trace continued", out.Get(HeaderTraceParent))
			}
			if got := out.Values(HeaderTraceState); strings.Join(got, ",") != tt.want || len(got) > 1 {
				t.Fatalf("tracestate = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPropagateLeavesRecordedAttemptsToOpenTelemetry: when OpenTelemetry holds and samples
// the request's trace (tracing on), Propagate sets X-Request-Id only: tracing's transport
// writes traceparent and tracestate (the attempt's client span). Otherwise (tracing off, or
// an unsampled trace) Propagate writes them.
func TestPropagateLeavesRecordedAttemptsToOpenTelemetry(t *testing.T) {
	t.Parallel()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	for _, tt := range []struct {
		desc          string
		otel, sampled bool
		wantTP        string
	}{
		{"tracing off", false, false, "00-"},
		{"tracing on, unsampled", true, false, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
		{"tracing on, sampled", true, true, ""},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if tt.otel {
			var flags trace.TraceFlags
			if tt.sampled {
				flags = trace.FlagsSampled
			}
			sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags})
			req = req.WithContext(trace.ContextWithSpanContext(req.Context(), sc))
		}
		out := http.Header{}
		var info *Info
		h := New().Middleware()(func(c echo.Context) error {
			info = FromContext(c.Request().Context())
			Propagate(c.Request().Context(), out)
			return nil
		})
		if err := h(echo.New().NewContext(req, httptest.NewRecorder())); err != nil {
			t.Fatal(err)
		}
		tp := out.Get(HeaderTraceParent)
		if info.OTel != tt.otel || out.Get(HeaderRequestID) == "" || !strings.HasPrefix(tp, tt.wantTP) || (tt.wantTP == "") != (tp == "") {
			t.Fatalf("%s: Info.OTel %v, propagated %v, want traceparent %q", tt.desc, info.OTel, out, tt.wantTP)
		}
	}
}

// TestGeneratedIDs: a generated request id is a UUIDv7 (RFC 9562 version and variant) in
// its 36-character lowercase form, ids increase within the process, and the trace and span
// ids the gateway starts are lowercase hex of the right length; the ids on the context and
// in the response headers stay as they were once the next request's are made.
func TestGeneratedIDs(t *testing.T) {
	t.Parallel()
	e := echo.New()
	var seen []*Info
	h := New().Middleware()(func(c echo.Context) error {
		seen = append(seen, FromContext(c.Request().Context()))
		return nil
	})
	var headers []http.Header
	for range 200 {
		rec := httptest.NewRecorder()
		if err := h(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)); err != nil {
			t.Fatal(err)
		}
		headers = append(headers, rec.Header())
	}
	prev := ""
	for i, info := range seen {
		id := info.RequestID
		u, err := uuid.Parse(id)
		if err != nil || len(id) != 36 || strings.ToLower(id) != id || u.Version() != 7 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("request id %q: not a lowercase UUIDv7 (%v)", id, err)
		}
		if id <= prev {
			t.Fatalf("request id %q after %q: not increasing", id, prev)
		}
		prev = id
		if len(info.TraceID) != 32 || !lowerHex(info.TraceID) || len(info.SpanID) != 16 || !lowerHex(info.SpanID) || !info.Sampled {
			t.Fatalf("started trace malformed: %+v", info)
		}
		if headers[i].Get(HeaderRequestID) != id || headers[i].Get(HeaderTraceID) != info.TraceID {
			t.Fatalf("headers %v do not match %+v", headers[i], info)
		}
	}
	if seen[0].TraceID == seen[1].TraceID || seen[0].SpanID == seen[1].SpanID {
		t.Fatal("two requests share a trace or span id")
	}
}

// TestMiddlewareContinuesOpenTelemetrysTrace: with a span context on the request (tracing
// on), the ids are the span context's, in hex.
func TestMiddlewareContinuesOpenTelemetrysTrace(t *testing.T) {
	t.Parallel()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(trace.ContextWithSpanContext(req.Context(), sc))
	req.Header.Set(HeaderRequestID, "req-1")
	var seen *Info
	h := New().Middleware()(func(c echo.Context) error {
		seen = FromContext(c.Request().Context())
		return nil
	})
	if err := h(echo.New().NewContext(req, httptest.NewRecorder())); err != nil {
		t.Fatal(err)
	}
	if seen.RequestID != "req-1" || seen.TraceID != tid.String() || seen.SpanID != sid.String() || !seen.OTel || !seen.Sampled {
		t.Fatalf("info %+v", seen)
	}
}

// TestPropagateWritesTraceParent: Propagate's traceparent is TraceParent's, with the sampled
// flag, and tracestate follows it; no trace, no traceparent.
func TestPropagateWritesTraceParent(t *testing.T) {
	t.Parallel()
	for _, info := range []*Info{
		{RequestID: "r1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true, TraceState: "a=1"},
		{RequestID: "r2", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"},
		{RequestID: "r3"},
	} {
		ctx := NewContext(t.Context(), info)
		out := http.Header{}
		Propagate(ctx, out)
		want := http.Header{HeaderRequestID: {info.RequestID}}
		if info.TraceID != "" {
			want[HeaderTraceParent] = []string{TraceParent(ctx)}
		}
		if info.TraceState != "" {
			want[HeaderTraceState] = []string{info.TraceState}
		}
		if fmt.Sprint(out) != fmt.Sprint(want) {
			t.Errorf("Propagate wrote %v, want %v", out, want)
		}
	}
	if got := TraceParent(NewContext(t.Context(), &Info{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true})); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("TraceParent %q", got)
	}
}

// TestWithUnsampledTrace: a request begun on a dropped span context carries it as a
// non-recording current span and as its Info (OTel, not sampled, the parent's tracestate);
// the correlation step keeps that begun request (the same Info, the request not replaced)
// and still answers the ids.
func TestWithUnsampledTrace(t *testing.T) {
	t.Parallel()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, err := trace.ParseTraceState("vendor=a1")
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceState: ts})
	for _, id := range []string{"req-1", ""} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(HeaderRequestID, id)
		begun := WithUnsampledTrace(req, sc)
		ctx := begun.Context()
		if got := trace.SpanContextFromContext(ctx); !got.Equal(sc) {
			t.Fatalf("span context %v, want %v", got, sc)
		}
		if trace.SpanFromContext(ctx).IsRecording() {
			t.Fatal("the span of a dropped trace records")
		}
		info := FromContext(ctx)
		if info == nil || info.TraceID != tid.String() || info.SpanID != sid.String() || info.TraceState != "vendor=a1" ||
			!info.OTel || info.Sampled || !SaneRequestID(info.RequestID) || (id != "" && info.RequestID != id) {
			t.Fatalf("info %+v", info)
		}
		var seen *http.Request
		h := New().Middleware()(func(c echo.Context) error {
			seen = c.Request()
			return nil
		})
		rec := httptest.NewRecorder()
		if err := h(echo.New().NewContext(begun, rec)); err != nil {
			t.Fatal(err)
		}
		if seen != begun || FromContext(seen.Context()) != info {
			t.Fatal("the correlation step began the request again")
		}
		if rec.Header().Get(HeaderRequestID) != info.RequestID || rec.Header().Get(HeaderTraceID) != tid.String() {
			t.Fatalf("response headers %v", rec.Header())
		}
		// Another request made with the begun request's context is a request of its own.
		sub := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
		if err := h(echo.New().NewContext(sub, httptest.NewRecorder())); err != nil {
			t.Fatal(err)
		}
		if sub := FromContext(seen.Context()); seen == begun || sub == info || sub.TraceID != tid.String() || !sub.OTel || sub.Sampled {
			t.Fatalf("a request sharing the begun request's context: info %+v", sub)
		}
		out := http.Header{}
		Propagate(ctx, out)
		if got, want := out.Get(HeaderTraceParent), "00-"+tid.String()+"-"+sid.String()+"-00"; got != want || out.Get(HeaderTraceState) != "vendor=a1" {
			t.Fatalf("propagated %v, want traceparent %s", out, want)
		}
	}
}
