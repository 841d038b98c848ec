// Package tlsconfig builds the gateway's TLS configurations: the public listener's, with its
// certificate reloaded on SIGHUP or file change, and the upstream clients', with a custom CA
// and an optional client certificate (mTLS).
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"os"
)

// Versions accepted by minVersion.
const (
	Version12 = "1.2"
	Version13 = "1.3"
)

// FieldError is a configuration problem at a key path relative to this package's Config.
type FieldError = configerr.FieldError

// FieldErrors returns every *FieldError in err (as joined by Validate), in order.
func FieldErrors(err error) []*FieldError { return configerr.List(err) }

func parseVersion(v string) (uint16, bool) {
	switch v {
	case Version12:
		return tls.VersionTLS12, true
	case Version13:
		return tls.VersionTLS13, true
	}
	return 0, false
}

func badVersion(v string) *FieldError {
	return &FieldError{Path: "minVersion", Problem: fmt.Sprintf("must be %q or %q, got %q", Version12, Version13, v)}
}

// ClientConfig configures TLS for calls to an upstream service.
type ClientConfig struct {
	// CAFile is a PEM bundle of the CAs that sign the upstream's certificate. When set, only
	// these CAs are trusted; when empty, the system roots are.
	CAFile string `yaml:"caFile"`
	// CertFile and KeyFile are the PEM client certificate and key presented to an upstream
	// that demands one (mTLS). Both or neither. Read once, at start-up.
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
	// ServerName overrides the name the upstream's certificate is verified against (and sent
	// in SNI). Default: the host of the upstream's URL.
	ServerName string `yaml:"serverName"`
	// MinVersion is the lowest TLS version offered: "1.2" (default) or "1.3".
	MinVersion string `yaml:"minVersion"`
	// InsecureSkipVerify turns off verification of the upstream's certificate. Default
	// false; it is honoured only when explicitly set, never with caFile, and refused in
	// production. For local experiments only.
	InsecureSkipVerify bool `yaml:"insecureSkipVerify"`
}

// SetDefaults fills every unset field with its documented default.
func (c *ClientConfig) SetDefaults() {
	if c.MinVersion == "" {
		c.MinVersion = Version12
	}
}

// Validate checks the configuration (after SetDefaults) and returns every problem, each a
// *FieldError. With production true, insecureSkipVerify is refused.
func (c ClientConfig) Validate(production bool) error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	if _, ok := parseVersion(c.MinVersion); !ok {
		errs = append(errs, badVersion(c.MinVersion))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("certFile", "certFile and keyFile must be set together")
	}
	if c.InsecureSkipVerify {
		if production {
			bad("insecureSkipVerify", "must be false when env is production")
		}
		if c.CAFile != "" {
			bad("insecureSkipVerify", "contradicts caFile: a CA is only useful when verifying")
		}
	}
	return errors.Join(errs...)
}

// NewClient returns the TLS configuration for an upstream client (http.Transport's
// TLSClientConfig): TLS 1.2 or later, the configured CAs (else the system roots), the client
// certificate when configured. cfg is defaulted and validated (as not production: the
// config package validates the production rules). The result is safe for concurrent use.
func NewClient(cfg ClientConfig) (*tls.Config, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(false); err != nil {
		return nil, fmt.Errorf("tlsconfig: %w", err)
	}
	minVersion, _ := parseVersion(cfg.MinVersion)
	out := &tls.Config{
		MinVersion:         minVersion,
		ServerName:         cfg.ServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // only when explicitly configured, never in production
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tlsconfig: caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsconfig: caFile %s: no PEM certificate found", cfg.CAFile)
		}
		out.RootCAs = pool
	}
	if cfg.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tlsconfig: certFile/keyFile: %w", err)
		}
		out.Certificates = []tls.Certificate{pair}
	}
	return out, nil
}
