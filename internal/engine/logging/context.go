package logging

import (
	"context"
	"log/slog"
	"time"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// Keys of the attributes the context handler adds: the same keys the access log has always
// carried, so that dashboards and log queries keep working.
const (
	KeyRequestID = "requestId"
	KeyTraceID   = "traceId"
	KeySpanID    = "spanId"
)

// contextHandler adds the request's requestId, traceId and spanId (correlation.Info on the
// record's context) to every record it handles. See NewContextHandler.
type contextHandler struct {
	next slog.Handler
}

// NewContextHandler returns a handler that passes records to next after adding requestId,
// traceId and spanId from the correlation.Info on the record's context, so that any log call
// made with a request's context (InfoContext, ErrorContext, LogAttrs(ctx, …)) carries them
// without the caller adding them. A record logged without a request context passes through
// unchanged and without allocating. WithAttrs and WithGroup return wrapped handlers; under
// an open group the ids land inside the group, like any attribute of the record. Wrapping a
// handler that NewContextHandler already returned gives it back unchanged. Safe for
// concurrent use when next is.
func NewContextHandler(next slog.Handler) slog.Handler {
	if _, ok := next.(*contextHandler); ok {
		return next
	}
	return &contextHandler{next: next}
}

// Enabled reports whether next handles level.
func (h *contextHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the request's ids to r, when ctx carries them, and passes r to next.
func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if info := correlation.FromContext(ctx); info != nil {
		var ids [3]slog.Attr
		r.AddAttrs(appendIDs(ids[:0], info)...)
	}
	return h.next.Handle(ctx, r)
}

// appendIDs appends the ids of info that are set.
func appendIDs(attrs []slog.Attr, info *correlation.Info) []slog.Attr {
	if info.RequestID != "" {
		attrs = append(attrs, slog.String(KeyRequestID, info.RequestID))
	}
	if info.TraceID != "" {
		attrs = append(attrs, slog.String(KeyTraceID, info.TraceID))
	}
	if info.SpanID != "" {
		attrs = append(attrs, slog.String(KeySpanID, info.SpanID))
	}
	return attrs
}

// LogAttrs is l.LogAttrs(ctx, level, msg, attrs...), the same line, for a hot path: when l's
// handler is a context handler, the request's ids are appended to attrs (give it 3 spare
// capacity) and the record goes straight to the wrapped handler, so that the attributes are
// added to the record once (one growth of its attribute list instead of two); over
// NewJSONHandler the line is encoded from attrs without a record at all. The record carries
// no program counter (the source of a line is never logged: New's handlers do not add it),
// which saves the stack walk slog.Logger makes for every line.
func LogAttrs(ctx context.Context, l *slog.Logger, level slog.Level, msg string, attrs []slog.Attr) {
	h, ok := l.Handler().(*contextHandler)
	if !ok {
		l.LogAttrs(ctx, level, msg, attrs...)
		return
	}
	if !h.next.Enabled(ctx, level) {
		return
	}
	if info := correlation.FromContext(ctx); info != nil {
		attrs = appendIDs(attrs, info)
	}
	if j, ok := h.next.(*jsonHandler); ok {
		_ = j.handleAttrs(ctx, time.Now(), level, msg, attrs)
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.next.Handle(ctx, r)
}

// WithAttrs returns a context handler over next.WithAttrs(attrs).
func (h *contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &contextHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a context handler over next.WithGroup(name).
func (h *contextHandler) WithGroup(name string) slog.Handler {
	return &contextHandler{next: h.next.WithGroup(name)}
}

// Correlated returns l when its handler is a context handler already, else a logger over
// NewContextHandler(l.Handler()). Constructors that take a logger call it once, so that their
// lines carry the request's ids whatever handler the caller built l on.
func Correlated(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(*contextHandler); ok {
		return l
	}
	return slog.New(&contextHandler{next: l.Handler()})
}
