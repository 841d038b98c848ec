package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/correlation"
)

func TestContextHandler(t *testing.T) {
	t.Parallel()
	info := &correlation.Info{RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}
	reqCtx := correlation.NewContext(context.Background(), info)
	tests := []struct {
		desc   string
		format string
		ctx    context.Context
		log    func(ctx context.Context, l *slog.Logger)
		want   []string // substrings of the line
		absent []string
	}{
		{
			desc: "json with request context", format: "json", ctx: reqCtx,
			log:  func(ctx context.Context, l *slog.Logger) { l.ErrorContext(ctx, "failed", "status", 502) },
			want: []string{`"requestId":"req-1"`, `"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"`, `"spanId":"00f067aa0ba902b7"`, `"status":502`},
		},
		{
			desc: "json without request context", format: "json", ctx: context.Background(),
			log:    func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "listening") },
			want:   []string{`"msg":"listening"`},
			absent: []string{"requestId", "traceId", "spanId"},
		},
		{
			desc: "json LogAttrs with request context", format: "json", ctx: reqCtx,
			log: func(ctx context.Context, l *slog.Logger) {
				l.LogAttrs(ctx, slog.LevelInfo, "request", slog.Int("a", 1), slog.Int("b", 2), slog.Int("c", 3),
					slog.Int("d", 4), slog.Int("e", 5), slog.Int("f", 6))
			},
			want: []string{`"f":6`, `"requestId":"req-1"`, `"spanId":"00f067aa0ba902b7"`},
		},
		{
			desc: "json WithAttrs keeps adding", format: "json", ctx: reqCtx,
			log:  func(ctx context.Context, l *slog.Logger) { l.With("component", "auth").WarnContext(ctx, "slow") },
			want: []string{`"component":"auth"`, `"requestId":"req-1"`},
		},
		{
			desc: "json WithGroup keeps adding, inside the group", format: "json", ctx: reqCtx,
			log:  func(ctx context.Context, l *slog.Logger) { l.WithGroup("g").WarnContext(ctx, "slow", "k", "v") },
			want: []string{`"g":{"k":"v","requestId":"req-1"`},
		},
		{
			desc: "json without a trace", format: "json", ctx: correlation.NewContext(context.Background(), &correlation.Info{RequestID: "req-2"}),
			log:    func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "x") },
			want:   []string{`"requestId":"req-2"`},
			absent: []string{"traceId", "spanId"},
		},
		{
			desc: "text with request context", format: "text", ctx: reqCtx,
			log:  func(ctx context.Context, l *slog.Logger) { l.ErrorContext(ctx, "failed") },
			want: []string{"requestId=req-1", "traceId=4bf92f3577b34da6a3ce929d0e0e4736", "spanId=00f067aa0ba902b7"},
		},
		{
			desc: "text without request context", format: "text", ctx: context.Background(),
			log:    func(ctx context.Context, l *slog.Logger) { l.ErrorContext(ctx, "failed") },
			absent: []string{"requestId", "traceId", "spanId"},
		},
		{
			desc: "text WithAttrs and WithGroup", format: "text", ctx: reqCtx,
			log:  func(ctx context.Context, l *slog.Logger) { l.With("c", "x").WithGroup("g").InfoContext(ctx, "m") },
			want: []string{"c=x", "g.requestId=req-1"},
		},
		{
			desc: "below the level nothing is written", format: "json", ctx: reqCtx,
			log:    func(ctx context.Context, l *slog.Logger) { l.DebugContext(ctx, "hidden") },
			absent: []string{"hidden", "requestId"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l := New(config.Log{Format: tt.format, Level: "info"}, &buf)
			tt.log(tt.ctx, l)
			line := buf.String()
			if tt.format == "json" && line != "" && !json.Valid([]byte(line)) {
				t.Fatalf("not JSON: %s", line)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("line lacks %s: %s", w, line)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(line, a) {
					t.Errorf("line has %s: %s", a, line)
				}
			}
			if n := strings.Count(line, "requestId"); n > 1 {
				t.Errorf("requestId %d times: %s", n, line)
			}
		})
	}
}

func TestNewContextHandlerWrapsOnce(t *testing.T) {
	t.Parallel()
	h := NewContextHandler(slog.DiscardHandler)
	if NewContextHandler(h) != h {
		t.Fatal("wrapping a context handler again wrapped it twice")
	}
	l := slog.New(h)
	if Correlated(l) != l {
		t.Fatal("Correlated wrapped a correlated logger again")
	}
	if _, ok := Correlated(slog.New(slog.DiscardHandler)).Handler().(*contextHandler); !ok {
		t.Fatal("Correlated did not wrap a bare logger")
	}
}

// TestContextHandlerNoRequestDoesNotAllocate: without a request context the wrapper adds no
// allocation to the handler it wraps. The wrapped handler does nothing (a JSON handler's
// buffers come from a sync.Pool, which drops items at random under -race), so the count is
// exact and the same with and without the race detector.
func TestContextHandlerNoRequestDoesNotAllocate(t *testing.T) {
	bare := slog.New(nopHandler{})
	wrapped := slog.New(NewContextHandler(nopHandler{}))
	ctx := context.Background()
	want := testing.AllocsPerRun(100, func() { bare.InfoContext(ctx, "x", "k", 1) })
	if n := testing.AllocsPerRun(100, func() { wrapped.InfoContext(ctx, "x", "k", 1) }); n != want {
		t.Fatalf("%v allocations per log call without a request context, %v without the wrapper", n, want)
	}
}

// nopHandler handles every record by doing nothing.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

// TestLogAttrsWritesTheSameLine: LogAttrs writes what Logger.LogAttrs writes (time aside),
// with and without a request context, through a context handler and through a bare one, and
// nothing below the level.
func TestLogAttrsWritesTheSameLine(t *testing.T) {
	t.Parallel()
	info := &correlation.Info{RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}
	noTime := &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}}
	attrs := func() []slog.Attr {
		a := make([]slog.Attr, 0, 16)
		for i := range 9 {
			a = append(a, slog.Int(string(rune('a'+i)), i))
		}
		return a
	}
	for _, ctx := range []context.Context{correlation.NewContext(context.Background(), info), context.Background()} {
		for _, wrap := range []func(slog.Handler) slog.Handler{NewContextHandler, func(h slog.Handler) slog.Handler { return h }} {
			for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
				var want, got bytes.Buffer
				slog.New(wrap(slog.NewJSONHandler(&want, noTime))).LogAttrs(ctx, level, "request", attrs()...)
				LogAttrs(ctx, slog.New(wrap(slog.NewJSONHandler(&got, noTime))), level, "request", attrs())
				if got.String() != want.String() {
					t.Fatalf("LogAttrs wrote\n%s, Logger.LogAttrs\n%s", got.String(), want.String())
				}
				if level == slog.LevelInfo && !strings.Contains(got.String(), `"i":8`) {
					t.Fatalf("line lacks the attributes: %s", got.String())
				}
			}
		}
	}
}

// Over NewJSONHandler, LogAttrs encodes the line without a record: the same line as
// Logger.LogAttrs over slog's JSON handler (the time aside: each call reads the clock),
// also when an attribute takes slog's encoder.
func TestLogAttrsOverNewJSONHandler(t *testing.T) {
	t.Parallel()
	info := &correlation.Info{RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}
	timeField := regexp.MustCompile(`^\{"time":"[^"]+",`)
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	for _, extra := range []slog.Attr{slog.Float64("durationMs", 1.25), slog.Any("err", errors.New("boom"))} {
		for _, ctx := range []context.Context{correlation.NewContext(context.Background(), info), context.Background()} {
			attrs := func() []slog.Attr {
				return append(make([]slog.Attr, 0, 16), slog.String("operation", "getProduct"), slog.Int("status", 200), extra)
			}
			var want, got bytes.Buffer
			slog.New(NewContextHandler(slog.NewJSONHandler(&want, opts))).LogAttrs(ctx, slog.LevelInfo, "request", attrs()...)
			LogAttrs(ctx, slog.New(NewContextHandler(NewJSONHandler(&got, opts))), slog.LevelInfo, "request", attrs())
			g, w := timeField.ReplaceAllString(got.String(), "{"), timeField.ReplaceAllString(want.String(), "{")
			if g != w || g == got.String() {
				t.Fatalf("LogAttrs wrote\n%s, Logger.LogAttrs\n%s", got.String(), want.String())
			}
		}
	}
}
