package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/configwatch"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"github.com/contractgate/contractgate/internal/engine/metrics"
)

// Reload results, the values of contractgate_config_reloads_total{result}.
const (
	// ReloadSuccess: the new configuration serves every request from now on (or it equals
	// the running one).
	ReloadSuccess = "success"
	// ReloadError: the configuration could not be read, validated or built; the running one
	// stays, untouched.
	ReloadError = "error"
	// ReloadRestartRequired: the reloadable settings were applied, but keys that only a
	// restart applies changed (ReloadOutcome.Pending); they keep their running values.
	ReloadRestartRequired = "restart_required"
)

// ReloadOutcome is what one reload did (see WithReloadHook).
type ReloadOutcome struct {
	// Result is ReloadSuccess, ReloadError or ReloadRestartRequired.
	Result string
	// Generation is the serving configuration generation after the reload (1: the one New
	// built).
	Generation uint64
	// Changed lists the top-level keys whose settings changed and were applied.
	Changed []string
	// Pending lists the keys that changed but need a restart (not applied).
	Pending []string
	// Err is why the reload failed (Result ReloadError).
	Err error
}

// WithConfigFile makes Reload read the configuration as the process did at start-up:
// config.Load(path, environ, fallback) (path empty: the embedded fallback and the
// environment). Without it, Reload fails. Serve watches path, when set, unless
// server.watchConfig is false, and reloads when its content changes.
func WithConfigFile(path string, environ []string, fallback []byte) Option {
	return func(o *options) {
		o.load = func() (*config.Config, error) { return config.Load(path, environ, fallback) }
		o.path = path
	}
}

// WithLogLevel lets a reload change the logger's level (log.level): level is the logger's
// (logging.NewLeveled).
func WithLogLevel(level *slog.LevelVar) Option { return func(o *options) { o.level = level } }

// WithReloadHook calls hook after every reload attempt, once the outcome is known (the new
// generation serving, or the old one kept).
func WithReloadHook(hook func(ReloadOutcome)) Option { return func(o *options) { o.onReload = hook } }

// reloadMetrics are the reload's metrics, on the gateway's registry.
type reloadMetrics struct {
	total      *prometheus.CounterVec
	generation prometheus.Gauge
}

func newReloadMetrics(m *metrics.Metrics) *reloadMetrics {
	rm := &reloadMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Name: "config_reloads_total",
			Help: "Configuration reloads by result: success, error (the running configuration stays), restart_required (applied but for keys that need a restart).",
		}, []string{"result"}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metrics.Namespace, Name: "config_generation",
			Help: "The serving configuration generation: 1 at start-up, one more per reload that changed something.",
		}),
	}
	for _, r := range []string{ReloadSuccess, ReloadError, ReloadRestartRequired} {
		rm.total.WithLabelValues(r)
	}
	m.Registry().MustRegister(rm.total, rm.generation)
	return rm
}

// Reload reads the configuration again (WithConfigFile), validates it completely and builds
// the next generation beside the running one; only then does the new generation take the
// requests that arrive from now on, while those in flight finish on the old one, which is
// then closed (after at most server.shutdownGrace). When anything fails, the running
// configuration stays untouched, the reason is logged once and Reload returns it. Keys only a
// restart applies (restartOnly) keep their running values and are reported. Reloads are
// serialised; safe to call from any goroutine.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	out := s.reload()
	if out.Err != nil {
		s.logger.Error("config reload failed: the running configuration stays", "generation", out.Generation, "error", out.Err.Error())
	}
	s.reloads.total.WithLabelValues(out.Result).Inc()
	s.reloads.generation.Set(float64(out.Generation))
	if s.onReload != nil {
		s.onReload(out)
	}
	return out.Err
}

func (s *Server) reload() ReloadOutcome {
	cur := s.gen.Load()
	fail := func(err error) ReloadOutcome {
		return ReloadOutcome{Result: ReloadError, Generation: cur.id, Err: err}
	}
	if s.stopped {
		return fail(errors.New("config reload: the server has stopped"))
	}
	if s.load == nil {
		return fail(errors.New("config reload: the server was not given its configuration file (server.WithConfigFile)"))
	}
	next, err := s.load()
	if err != nil {
		return fail(err)
	}
	pending := keepRestartOnly(next, cur.cfg)
	if err := next.Validate(); err != nil { // the running values of restart-only keys with the new rest
		return fail(fmt.Errorf("config: %w", err))
	}
	changed := changedKeys(cur.cfg, next)
	out := ReloadOutcome{Result: ReloadSuccess, Generation: cur.id, Changed: changed, Pending: pending}
	if len(pending) > 0 {
		out.Result = ReloadRestartRequired
		s.logger.Warn("config reload: these keys changed and need a restart; they keep their running values", "keys", pending)
	}
	if len(changed) == 0 {
		s.logger.Info("config reload: nothing to apply", "generation", cur.id)
		return out
	}
	g, err := s.build(next, cur)
	if err != nil {
		return fail(err)
	}
	if s.level != nil {
		logging.SetLevel(s.level, next.Log.Level)
	}
	s.gen.Store(g)
	cur.retire()
	s.retiring.Add(1)
	go s.closeWhenDrained(cur, g)
	out.Generation = g.id
	s.logger.Info("config reloaded", "generation", g.id, "changed", changed, "hash", configHash(next))
	return out
}

// closeWhenDrained closes old once its last request has finished, or after the grace period
// (a request still running then keeps what it holds: the shared state stays open).
func (s *Server) closeWhenDrained(old, next *generation) {
	defer s.retiring.Done()
	t := time.NewTimer(s.cfg.Server.ShutdownGrace)
	defer t.Stop()
	select {
	case <-old.drained:
	case <-t.C:
		s.logger.Warn("config reload: requests of the replaced configuration still run after the grace period; closing it", "generation", old.id, "requests", old.active.Load())
	}
	if err := old.close(next); err != nil {
		s.logger.Warn("config reload: closing the replaced configuration", "generation", old.id, "error", err.Error())
	}
}

// restartOnly are the settings a reload cannot apply: the listeners and their limits, the
// environment, the log format, the stores' connections and bounds (rate-limit buckets and
// idempotency records live in them). Each is a key path and its value in a configuration.
var restartOnly = []struct {
	key   string
	field func(c *config.Config) any // a pointer to the setting
}{
	{"env", func(c *config.Config) any { return &c.Env }},
	{"server", func(c *config.Config) any { return &c.Server }},
	{"admin", func(c *config.Config) any { return &c.Admin }},
	{"log.format", func(c *config.Config) any { return &c.Log.Format }},
	{"rateLimit.maxKeys", func(c *config.Config) any { return &c.RateLimit.MaxKeys }},
	{"redis", func(c *config.Config) any { return &c.Redis }},
	{"rateLimit.store", func(c *config.Config) any { return &c.RateLimit.Store }},
	{"rateLimit.redis", func(c *config.Config) any { return &c.RateLimit.Redis }},
	{"idempotency", func(c *config.Config) any { return &c.Idempotency }},
}

// keepRestartOnly sets next's restart-only settings to running's and returns the keys whose
// value differed.
func keepRestartOnly(next, running *config.Config) []string {
	var pending []string
	for _, k := range restartOnly {
		n, r := reflect.ValueOf(k.field(next)).Elem(), reflect.ValueOf(k.field(running)).Elem()
		if !reflect.DeepEqual(n.Interface(), r.Interface()) {
			pending = append(pending, k.key)
			n.Set(r)
		}
	}
	return pending
}

// changedKeys lists the top-level keys (their YAML names) whose settings differ.
func changedKeys(a, b *config.Config) []string {
	var out []string
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("yaml"), ",")
			out = append(out, name)
		}
	}
	return out
}

// configHash identifies a configuration in the logs: the first 12 hex digits of the SHA-256
// of its YAML (secrets never leave it in clear).
func configHash(c *config.Config) string {
	b, err := yaml.Marshal(c)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// configWatchDebounce gathers a burst of file events (an editor's write and rename, a
// ConfigMap's symlink swap) into one reload.
const configWatchDebounce = 200 * time.Millisecond

// watchConfig starts watching the configuration file (before Serve accepts its first
// connection) and reloads on every change of its content until ctx is done.
func (s *Server) watchConfig(ctx context.Context) {
	w, err := configwatch.New(s.path, configWatchDebounce)
	if err != nil {
		s.logger.Error("config watch: not watching the configuration file; SIGHUP still reloads it", "path", s.path, "error", err.Error())
		return
	}
	s.logger.Info("config watch: reloading when the file changes", "path", s.path)
	go func() {
		defer func() { _ = w.Close() }()
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-w.Errors():
				s.logger.Warn("config watch", "path", s.path, "error", err.Error())
			case <-w.Changes():
				_ = s.Reload() // logged and counted there
			}
		}
	}()
}
