package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

// sameAsSlog logs r through NewJSONHandler and slog.NewJSONHandler, both shaped by shape
// (WithAttrs, WithGroup), and fails unless the lines are byte for byte the same.
func sameAsSlog(t testing.TB, opts *slog.HandlerOptions, shape func(slog.Handler) slog.Handler, r slog.Record) string {
	t.Helper()
	var ours, theirs bytes.Buffer
	h, stock := NewJSONHandler(&ours, opts), slog.Handler(slog.NewJSONHandler(&theirs, opts))
	if shape != nil {
		h, stock = shape(h), shape(stock)
	}
	ctx := context.Background()
	if h.Enabled(ctx, r.Level) != stock.Enabled(ctx, r.Level) {
		t.Fatalf("Enabled(%v): %v, slog %v", r.Level, h.Enabled(ctx, r.Level), stock.Enabled(ctx, r.Level))
	}
	if err := h.Handle(ctx, r.Clone()); err != nil {
		t.Fatal(err)
	}
	if err := stock.Handle(ctx, r.Clone()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours.Bytes(), theirs.Bytes()) {
		t.Fatalf("line differs from slog's\nours: %q\nslog: %q", ours.Bytes(), theirs.Bytes())
	}
	return ours.String()
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved") }

func TestJSONHandlerMatchesSlog(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 10, 15, 2, 288456561, time.UTC)
	record := func(attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
		r.AddAttrs(attrs...)
		return r
	}
	access := record(slog.Int("upstreamAttempts", 1), slog.String("operation", "getProduct"),
		slog.String("method", "GET"), slog.String("route", "/v1/products/:productId"), slog.Int("status", 200),
		slog.Float64("durationMs", 1.362), slog.Int64("bytesIn", 0), slog.Int64("bytesOut", 736),
		slog.String("requestId", "01a24ad9-918f-716c-8761-0bb5773eebf2"))
	zeroTime := slog.NewRecord(time.Time{}, slog.LevelWarn+2, "no time", 0)
	zeroTime.AddAttrs(slog.Bool("b", true))
	for _, tc := range []struct {
		desc  string
		opts  *slog.HandlerOptions
		shape func(slog.Handler) slog.Handler
		r     slog.Record
	}{
		{"access log line", nil, nil, access},
		{"no attributes", nil, nil, record()},
		{"zero time, odd level", nil, nil, zeroTime},
		{"every kind encoded here", nil, nil, record(slog.String("s", "x"), slog.Int64("i", -7), slog.Uint64("u", math.MaxUint64),
			slog.Bool("f", false), slog.Duration("d", 1500*time.Millisecond), slog.Time("t", at.Add(time.Hour)),
			slog.Time("local", time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", -3*3600))))},
		{"floats", nil, nil, record(slog.Float64("a", 0), slog.Float64("b", math.Copysign(0, -1)), slog.Float64("c", 1e-7), slog.Float64("d", 1e21),
			slog.Float64("e", 123456789.125), slog.Float64("f", 1e-6), slog.Float64("g", 9.99e20), slog.Float64("h", -2.5e-9),
			slog.Float64("i", math.SmallestNonzeroFloat64), slog.Float64("j", math.MaxFloat64), slog.Float64("k", 0.1))},
		{"escapes", nil, nil, record(slog.String("q\"k\\", "a\"b\\c\n\r\t\x00\x1f\x7f<>&"), slog.String("u", "é€😀\u2028\u2029"),
			slog.String("bad", "a\xffb\xc3"), slog.String("", "empty key"))},
		{"message escapes", nil, nil, slog.NewRecord(at, slog.LevelError, "line\nbreak \"quoted\" \xfe", 0)},
		{"NaN goes to slog", nil, nil, record(slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(-1)))},
		{"year out of range goes to slog", nil, nil, record(slog.Time("t", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)))},
		{"record time out of range goes to slog", nil, nil, slog.NewRecord(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", 0)},
		{"any, error, group and valuer go to slog", nil, nil, record(slog.Any("err", errors.New("boom")), slog.Any("m", map[string]int{"b": 2, "a": 1}),
			slog.Group("g", slog.Int("x", 1)), slog.Any("v", valuer{}), slog.Attr{}, slog.Group("", slog.String("inline", "y")))},
		{"with attrs", nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("component", "auth"), slog.Int("n", 3)}).WithAttrs(nil).WithAttrs([]slog.Attr{slog.Bool("more", true)})
		}, access},
		{"with attrs slog must encode", nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("component", "auth"), slog.Any("err", errors.New("x"))})
		}, access},
		{"with group", nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("c", "d")}).WithGroup("g").WithAttrs([]slog.Attr{slog.Int("n", 1)})
		}, access},
		{"with empty group name", nil, func(h slog.Handler) slog.Handler { return h.WithGroup("") }, access},
		{"level option", &slog.HandlerOptions{Level: slog.LevelDebug}, nil, slog.NewRecord(at, slog.LevelDebug, "debug", 0)},
		{"replace attr is slog's", &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == "status" {
				return slog.String("status", "changed")
			}
			return a
		}}, nil, access},
		{"add source is slog's", &slog.HandlerOptions{AddSource: true}, nil, access},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			sameAsSlog(t, tc.opts, tc.shape, tc.r)
		})
	}
}

// The fast encoder writes the access log line itself: nothing of it reaches slog's encoder.
func TestJSONHandlerEncodesTheAccessLogLine(t *testing.T) {
	t.Parallel()
	h := NewJSONHandler(&bytes.Buffer{}, nil).(*jsonHandler)
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.Int("upstreamAttempts", 1), slog.String("operation", "getProduct"), slog.Int("status", 200),
		slog.Float64("durationMs", 1.362), slog.Int64("bytesOut", 736), slog.Bool("replayed", true))
	line, ok := h.appendRecord(nil, r)
	if !ok {
		t.Fatalf("left to slog: %s", line)
	}
	if !strings.HasSuffix(string(line), `"durationMs":1.362,"bytesOut":736,"replayed":true}`+"\n") {
		t.Fatalf("line %s", line)
	}
	if h.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("debug enabled at the default level")
	}
}

// Lines of the fast encoder and of slog's, logged concurrently, each reach the writer whole.
func TestJSONHandlerLinesStayWhole(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	h := NewJSONHandler(&out, nil)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)
				if (g+i)%2 == 0 {
					r.AddAttrs(slog.Any("err", errors.New(strings.Repeat("x", 300))))
				} else {
					r.AddAttrs(slog.String("s", strings.Repeat("y", 300)))
				}
				_ = h.Handle(context.Background(), r)
			}
		}()
	}
	for range 4 {
		<-done
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"time":"`) || !strings.HasSuffix(l, `"}`) || len(l) < 300 {
			t.Fatalf("torn line %q", l)
		}
	}
}

func FuzzJSONHandler(f *testing.F) {
	f.Add("request", "k", "v\n\"x\"", 1.362, int64(-3), uint64(7), int64(1500))
	f.Add("", "", "\xff\u2028", 1e-7, int64(0), uint64(0), int64(0))
	f.Add("m", "a\x00", "<&>", 1e21, int64(math.MinInt64), uint64(math.MaxUint64), int64(-1))
	f.Fuzz(func(t *testing.T, msg, key, s string, fl float64, i int64, u uint64, d int64) {
		r := slog.NewRecord(time.Unix(0, d).UTC(), slog.Level(i%16), msg, 0)
		r.AddAttrs(slog.String(key, s), slog.Float64(key+"f", fl), slog.Int64(s, i), slog.Uint64("u", u),
			slog.Duration("d", time.Duration(d)), slog.Time("t", time.Unix(i%1e11, d%1e9)), slog.Bool(s+key, d%2 == 0))
		sameAsSlog(t, &slog.HandlerOptions{Level: slog.LevelDebug - 8}, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String(s, key)})
		}, r)
	})
}
