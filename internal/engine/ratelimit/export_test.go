package ratelimit

import (
	"log/slog"
	"time"

	"github.com/contractgate/contractgate/internal/engine/routes"
)

// NewForTest is New with a manual clock (nanoseconds; nil for the real one) and a shorter
// Redis probe interval, so that tests neither sleep nor wait a second for recovery.
// cfg is defaulted first, as config.Load does.
func NewForTest(cfg Config, table *routes.Table, logger *slog.Logger, now func() int64, probe time.Duration, opts ...Option) (*Limiter, error) {
	cfg.SetDefaults()
	if now == nil {
		now = monotonic()
	}
	return newWithOptions(cfg, table, logger, applyOptions(options{now: now, probeInterval: probe}, opts))
}

// NewAuthGuardForTest is NewAuthGuard with a manual clock (nanoseconds); cfg is defaulted
// first, as config.Load does.
func NewAuthGuardForTest(cfg Config, logger *slog.Logger, now func() int64, opts ...Option) (*AuthGuard, error) {
	cfg.SetDefaults()
	return newAuthGuard(cfg, logger, applyOptions(options{now: now, probeInterval: 10 * time.Millisecond}, opts))
}
