package tlsconfig_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// serve runs an HTTPS server with cfg, as the gateway would (ServeTLS with empty file
// names), and returns its address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(discard().Handler(), slog.LevelError),
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// servedSerial connects to addr (trusting roots) and returns the serial of the certificate
// the server presents. It connects by IP, without SNI, as many clients do.
func servedSerial(t *testing.T, addr string, roots *x509.CertPool) *big.Int {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

func pool(c *ca) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// waitForSerial polls until addr serves want, calling poke before each try.
func waitForSerial(t *testing.T, addr string, roots *x509.CertPool, want *big.Int, poke func()) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		poke()
		if got := servedSerial(t, addr, roots); got.Cmp(want) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving the old certificate after 5s, want serial %s", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServerReloadsOnFileChange: rotated files are picked up without a restart, and a
// broken rotation keeps the previous certificate.
func TestServerReloadsOnFileChange(t *testing.T) {
	t.Parallel()
	authority := newCA(t, "test CA")
	dir := t.TempDir()
	first, second := authority.issue(t, "gateway-1", false), authority.issue(t, "gateway-2", false)
	certFile, keyFile := first.files(t, dir)

	cfg, reloader, err := tlsconfig.NewServer(tlsconfig.ServerConfig{CertFile: certFile, KeyFile: keyFile, ReloadInterval: 10 * time.Millisecond}, discard())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion %x, want TLS 1.2", cfg.MinVersion)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go reloader.Watch(ctx)
	addr := serve(t, cfg)
	roots := pool(authority)
	if got := servedSerial(t, addr, roots); got.Cmp(first.serial) != 0 {
		t.Fatalf("serving %s, want the first certificate %s", got, first.serial)
	}

	second.files(t, dir)
	future := time.Now().Add(time.Minute) // whatever the file system's mtime granularity
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, future, future); err != nil {
			t.Fatal(err)
		}
	}
	waitForSerial(t, addr, roots, second.serial, func() {})

	// A broken certificate file: the current pair stays in use.
	write(t, dir, "tls.crt", []byte("not a certificate"))
	if err := reloader.Reload(); err == nil {
		t.Fatal("Reload accepted a broken certificate")
	}
	if got := servedSerial(t, addr, roots); got.Cmp(second.serial) != 0 {
		t.Fatalf("serving %s after a failed reload, want %s", got, second.serial)
	}
}

// TestServerReloadsOnSIGHUP: with polling out of the picture, SIGHUP reloads.
func TestServerReloadsOnSIGHUP(t *testing.T) {
	// Not parallel: it signals the whole test process. Our own Notify, registered first and
	// kept until the process ends, makes sure SIGHUP never terminates the test binary.
	hup := make(chan os.Signal, 16)
	signal.Notify(hup, syscall.SIGHUP)

	authority := newCA(t, "test CA")
	dir := t.TempDir()
	first, second := authority.issue(t, "gateway-1", false), authority.issue(t, "gateway-2", false)
	certFile, keyFile := first.files(t, dir)
	cfg, reloader, err := tlsconfig.NewServer(tlsconfig.ServerConfig{CertFile: certFile, KeyFile: keyFile, ReloadInterval: time.Hour}, discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go reloader.Watch(ctx)
	addr := serve(t, cfg)
	roots := pool(authority)

	second.files(t, dir)
	if got := servedSerial(t, addr, roots); got.Cmp(first.serial) != 0 {
		t.Fatalf("reloaded before SIGHUP: serving %s", got)
	}
	waitForSerial(t, addr, roots, second.serial, func() {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewServerErrors(t *testing.T) {
	t.Parallel()
	authority := newCA(t, "test CA")
	dir := t.TempDir()
	certFile, keyFile := authority.issue(t, "gateway", false).files(t, dir)
	otherKey := write(t, dir, "other.key", authority.issue(t, "other", false).keyPEM)
	tests := []struct {
		desc string
		cfg  tlsconfig.ServerConfig
		want string
	}{
		{"disabled", tlsconfig.ServerConfig{}, "certFile and keyFile are required"},
		{"key without certificate", tlsconfig.ServerConfig{KeyFile: keyFile}, "certFile: is required with keyFile"},
		{"bad version", tlsconfig.ServerConfig{CertFile: certFile, KeyFile: keyFile, MinVersion: "1.1"}, `minVersion: must be "1.2" or "1.3", got "1.1"`},
		{"missing file", tlsconfig.ServerConfig{CertFile: certFile + ".missing", KeyFile: keyFile}, "no such file"},
		{"mismatched key", tlsconfig.ServerConfig{CertFile: certFile, KeyFile: otherKey}, "private key does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, _, err := tlsconfig.NewServer(tt.cfg, discard())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewServer = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	cfg, _, err := tlsconfig.NewServer(tlsconfig.ServerConfig{CertFile: certFile, KeyFile: keyFile, MinVersion: "1.3"}, discard())
	if err != nil || cfg.MinVersion != tls.VersionTLS13 {
		t.Fatalf("NewServer with 1.3 = %v, %v", cfg, err)
	}
}
