// Package logging builds the process logger (log/slog) from configuration.
package logging

import (
	"io"
	"log/slog"

	"github.com/contractgate/contractgate/internal/engine/config"
)

// New returns a logger writing to w in cfg's format (json or text) at cfg's level. Its lines
// logged with a request's context carry requestId, traceId and spanId (NewContextHandler).
func New(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated by config; unknown stays info
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(NewContextHandler(slog.NewTextHandler(w, opts)))
	}
	return slog.New(NewContextHandler(slog.NewJSONHandler(w, opts)))
}
