// Package logging builds the process logger (log/slog) from configuration.
package logging

import (
	"io"
	"log/slog"

	"github.com/contractgate/contractgate/internal/engine/config"
)

// New returns a logger writing to w in cfg's format (json: NewJSONHandler, the lines of
// slog's JSON handler; text: slog's text handler) at cfg's level. Its lines
// logged with a request's context carry requestId, traceId and spanId (NewContextHandler).
func New(cfg config.Log, w io.Writer) *slog.Logger {
	l, _ := NewLeveled(cfg, w)
	return l
}

// NewLeveled is New with the logger's level in a LevelVar, which a configuration reload
// changes (SetLevel) while the logger is in use.
func NewLeveled(cfg config.Log, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	SetLevel(level, cfg.Level)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(NewContextHandler(slog.NewTextHandler(w, opts))), level
	}
	return slog.New(NewContextHandler(NewJSONHandler(w, opts))), level
}

// SetLevel sets v to the level named name (debug, info, warn, error; validated by config:
// an unknown name is info).
func SetLevel(v *slog.LevelVar, name string) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(name))
	v.Set(level)
}
