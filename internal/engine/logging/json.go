package logging

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// NewJSONHandler returns a handler writing exactly the lines slog.NewJSONHandler(w, opts)
// writes, byte for byte, at a fraction of its cost for the lines a gateway logs on every
// request: flat records whose values are strings, numbers, booleans, durations and times
// (the access log). It encodes those itself, in one pass and without slog's per-attribute
// state machine or json.Marshal for floats; a record it does not encode alone (a value of
// kind Any, Group or LogValuer, a float that is NaN or infinite, a time whose year has not
// four digits) and every record under WithGroup go to the stock JSON handler, which shares
// the writer and its lock. With opts.ReplaceAttr or opts.AddSource set it is the stock
// handler. Safe for concurrent use.
func NewJSONHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	var o slog.HandlerOptions
	if opts != nil {
		o = *opts
	}
	if o.ReplaceAttr != nil || o.AddSource {
		return slog.NewJSONHandler(w, &o)
	}
	sw := &syncWriter{w: w}
	return &jsonHandler{level: o.Level, w: sw, stock: slog.NewJSONHandler(sw, &o)}
}

// jsonHandler is NewJSONHandler's handler.
type jsonHandler struct {
	level slog.Leveler // nil: slog.LevelInfo
	w     *syncWriter
	stock slog.Handler // the same handler chain (attributes, groups) in slog's encoder
	pre   []byte       // the attributes of WithAttrs, encoded, each after a comma
	// stockOnly: every record goes to stock (a group is open, or an attribute of WithAttrs
	// is one the fast encoder leaves to slog).
	stockOnly bool
}

// syncWriter serialises the lines of a handler and of its stock twin.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Enabled reports whether level is at least the handler's level.
func (h *jsonHandler) Enabled(_ context.Context, level slog.Level) bool {
	min := slog.LevelInfo
	if h.level != nil {
		min = h.level.Level()
	}
	return level >= min
}

// WithAttrs returns a handler whose lines carry attrs after the built-in keys.
func (h *jsonHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.stock = h.stock.WithAttrs(attrs)
	if !h.stockOnly {
		pre, ok := appendAttrs(append([]byte(nil), h.pre...), attrs)
		h2.pre, h2.stockOnly = pre, !ok
	}
	return &h2
}

// WithGroup returns a handler whose record attributes go in group name (slog's encoder,
// which opens a group even for an empty name; slog.Logger.WithGroup does not call it then).
func (h *jsonHandler) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.stock, h2.stockOnly = h.stock.WithGroup(name), true
	return &h2
}

// lineBuffers recycles the lines' buffers; one over maxPooledLine is left to the GC.
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledLine = 16 << 10

// Handle writes r as one JSON line.
func (h *jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.stockOnly {
		return h.stock.Handle(ctx, r)
	}
	bp := lineBuffers.Get().(*[]byte)
	defer putLine(bp)
	b, ok := h.appendRecord((*bp)[:0], r)
	*bp = b
	if !ok {
		return h.stock.Handle(ctx, r)
	}
	_, err := h.w.Write(b)
	return err
}

// handleAttrs is Handle for a record of t, level, msg and attrs, without building the record
// unless slog's encoder takes it (LogAttrs: a line of many attributes, whose record would
// copy most of them to a slice of its own).
func (h *jsonHandler) handleAttrs(ctx context.Context, t time.Time, level slog.Level, msg string, attrs []slog.Attr) error {
	if !h.stockOnly {
		bp := lineBuffers.Get().(*[]byte)
		defer putLine(bp)
		b, ok := h.appendHead((*bp)[:0], t, level, msg)
		if ok {
			b, ok = appendAttrs(b, attrs)
		}
		if ok {
			b = append(b, "}\n"...)
		}
		*bp = b
		if ok {
			_, err := h.w.Write(b)
			return err
		}
	}
	r := slog.NewRecord(t, level, msg, 0)
	r.AddAttrs(attrs...)
	return h.stock.Handle(ctx, r)
}

func putLine(bp *[]byte) {
	if cap(*bp) <= maxPooledLine {
		lineBuffers.Put(bp)
	}
}

// appendRecord appends r's line as slog's JSON handler writes it, or reports false when
// that takes slog's encoder.
func (h *jsonHandler) appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b, ok := h.appendHead(b, r.Time, r.Level, r.Message)
	if !ok {
		return b, false
	}
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	return append(b, "}\n"...), ok
}

// appendHead appends a line's opening: the built-in keys and the attributes of WithAttrs.
func (h *jsonHandler) appendHead(b []byte, t time.Time, level slog.Level, msg string) ([]byte, bool) {
	b = append(b, '{')
	if !t.IsZero() {
		t = t.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendString(b, level.String())
	b = append(b, `,"msg":`...)
	b = appendString(b, msg)
	return append(b, h.pre...), true
}

// appendAttrs appends attrs as appendAttr does, or reports false.
func appendAttrs(b []byte, attrs []slog.Attr) ([]byte, bool) {
	for _, a := range attrs {
		var ok bool
		if b, ok = appendAttr(b, a); !ok {
			return b, false
		}
	}
	return b, true
}

// appendAttr appends `,"key":value` for an attribute of a kind encoded here, or reports
// false (Any, Group, LogValuer, a NaN or infinite float).
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		b = appendKey(b, a.Key)
		return appendString(b, v.String()), true
	case slog.KindInt64:
		b = appendKey(b, a.Key)
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindUint64:
		b = appendKey(b, a.Key)
		return strconv.AppendUint(b, v.Uint64(), 10), true
	case slog.KindBool:
		b = appendKey(b, a.Key)
		return strconv.AppendBool(b, v.Bool()), true
	case slog.KindDuration:
		b = appendKey(b, a.Key)
		return strconv.AppendInt(b, int64(v.Duration()), 10), true
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, false
		}
		b = appendKey(b, a.Key)
		return appendFloat(b, f), true
	case slog.KindTime:
		t := v.Time()
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = appendKey(b, a.Key)
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), true
	}
	return b, false
}

func appendKey(b []byte, key string) []byte {
	b = append(b, ',')
	b = appendString(b, key)
	return append(b, ':')
}

// appendFloat appends f as encoding/json encodes a float64 (which slog's JSON handler calls):
// the shortest representation, in exponent form below 1e-6 and from 1e21 on, with a one-digit
// negative exponent written without its leading zero.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString appends s quoted and escaped as slog's JSON handler does: ", \ and control
// characters escaped (\n, \r, \t by name), invalid UTF-8 as \ufffd, U+2028 and U+2029
// escaped, nothing else (no HTML escaping).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(append(b, s[start:i]...), `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"
