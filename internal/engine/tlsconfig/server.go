package tlsconfig

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ServerConfig configures TLS on the public listener. Empty certFile and keyFile mean plain
// HTTP (see Enabled).
type ServerConfig struct {
	// CertFile is the PEM certificate chain (leaf first). Required with keyFile.
	CertFile string `yaml:"certFile"`
	// KeyFile is the PEM private key of the leaf. Required with certFile.
	KeyFile string `yaml:"keyFile"`
	// MinVersion is the lowest TLS version accepted: "1.2" (default) or "1.3".
	MinVersion string `yaml:"minVersion"`
	// ReloadInterval is how often the files' modification time and size are checked; a
	// change reloads the pair. Default 5s. SIGHUP reloads at once.
	ReloadInterval time.Duration `yaml:"reloadInterval"`
}

// Enabled reports whether TLS is configured (certFile or keyFile set).
func (c ServerConfig) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

// SetDefaults fills every unset field with its documented default.
func (c *ServerConfig) SetDefaults() {
	if c.MinVersion == "" {
		c.MinVersion = Version12
	}
	if c.ReloadInterval == 0 {
		c.ReloadInterval = 5 * time.Second
	}
}

// Validate checks the configuration (after SetDefaults) and returns every problem, each a
// *FieldError. A disabled configuration is valid.
func (c ServerConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	if c.CertFile == "" {
		errs = append(errs, &FieldError{Path: "certFile", Problem: "is required with keyFile"})
	}
	if c.KeyFile == "" {
		errs = append(errs, &FieldError{Path: "keyFile", Problem: "is required with certFile"})
	}
	if _, ok := parseVersion(c.MinVersion); !ok {
		errs = append(errs, badVersion(c.MinVersion))
	}
	if c.ReloadInterval <= 0 {
		errs = append(errs, &FieldError{Path: "reloadInterval", Problem: fmt.Sprintf("must be a positive duration, got %s", c.ReloadInterval)})
	}
	return errors.Join(errs...)
}

// NewServer loads the certificate pair and returns the listener's TLS configuration (set it
// as http.Server.TLSConfig and call ServeTLS(ln, "", "")), whose GetCertificate serves the
// Reloader's current pair. Run Reloader.Watch in a goroutine to pick up rotated files. cfg is
// defaulted and validated; it must be enabled.
func NewServer(cfg ServerConfig, logger *slog.Logger) (*tls.Config, *Reloader, error) {
	cfg.SetDefaults()
	if !cfg.Enabled() {
		return nil, nil, errors.New("tlsconfig: certFile and keyFile are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("tlsconfig: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	r := &Reloader{certFile: cfg.CertFile, keyFile: cfg.KeyFile, interval: cfg.ReloadInterval, logger: logger}
	if err := r.Reload(); err != nil {
		return nil, nil, err
	}
	minVersion, _ := parseVersion(cfg.MinVersion)
	return &tls.Config{
		MinVersion:     minVersion,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.GetCertificate,
	}, r, nil
}

// Reloader holds the listener's current certificate pair and replaces it when the files
// change. Its methods are safe for concurrent use. A failed reload keeps the previous pair.
type Reloader struct {
	certFile, keyFile string
	interval          time.Duration
	logger            *slog.Logger

	cert  atomic.Pointer[tls.Certificate]
	mu    sync.Mutex // serializes reloads and guards stamp
	stamp stamp
}

// stamp is what tells that the files changed.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func (r *Reloader) currentStamp() (stamp, error) {
	ci, err := os.Stat(r.certFile)
	if err != nil {
		return stamp{}, err
	}
	ki, err := os.Stat(r.keyFile)
	if err != nil {
		return stamp{}, err
	}
	return stamp{certMod: ci.ModTime(), keyMod: ki.ModTime(), certSize: ci.Size(), keySize: ki.Size()}, nil
}

// GetCertificate returns the current pair (tls.Config.GetCertificate).
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// Reload reads the pair now. On error the previous pair stays in use.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, _ := r.currentStamp() // a stat error shows again in the load below
	return r.load(st)
}

// load reads the pair and records st as seen (even on failure, so that a broken pair is
// retried when the files change again, not logged at every tick). The caller holds mu.
func (r *Reloader) load(st stamp) error {
	r.stamp = st
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tlsconfig: loading %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&pair)
	if leaf := pair.Leaf; leaf != nil {
		r.logger.Info("TLS certificate loaded", "file", r.certFile, "subject", leaf.Subject.String(),
			"serial", leaf.SerialNumber.String(), "notAfter", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// reloadIfChanged reloads when the files' modification time or size changed.
func (r *Reloader) reloadIfChanged() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.currentStamp()
	if err != nil || st == r.stamp {
		return err
	}
	return r.load(st)
}

// Watch reloads the pair on SIGHUP and when the files change (checked every
// reloadInterval), until ctx is done. Errors are logged; the previous pair stays in use.
// Run it in its own goroutine; while it runs, SIGHUP no longer ends the process.
func (r *Reloader) Watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-hup:
			err = r.Reload()
		case <-tick.C:
			err = r.reloadIfChanged()
		}
		if err != nil {
			r.logger.Error("reloading the TLS certificate failed; the previous one stays in use", "error", err.Error())
		}
	}
}
