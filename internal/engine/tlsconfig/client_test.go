package tlsconfig_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
)

// upstream starts an httptest TLS server presenting a certificate of serverCA; with
// clientCA set it demands a client certificate signed by it (tls.RequireAndVerifyClientCert).
func upstream(t *testing.T, serverCA, clientCA *ca, edit func(*tls.Config)) *httptest.Server {
	t.Helper()
	l := serverCA.issue(t, "upstream", false)
	pair, err := tls.X509KeyPair(l.certPEM, l.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "anonymous"
		if len(r.TLS.PeerCertificates) > 0 {
			name = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		_, _ = io.WriteString(w, name)
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	if clientCA != nil {
		ts.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		ts.TLS.ClientCAs = pool(clientCA)
	}
	if edit != nil {
		edit(ts.TLS)
	}
	ts.Config.ErrorLog = slog.NewLogLogger(discard().Handler(), slog.LevelError)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

func TestClient(t *testing.T) {
	t.Parallel()
	serverCA, clientCA, rogueCA := newCA(t, "upstream CA"), newCA(t, "client CA"), newCA(t, "rogue CA")
	dir := t.TempDir()
	caFile := write(t, dir, "ca.pem", serverCA.pem)
	rogueCAFile := write(t, dir, "rogue.pem", rogueCA.pem)
	good := clientCA.issue(t, "gateway-client", true)
	certFile, keyFile := write(t, dir, "client.crt", good.certPEM), write(t, dir, "client.key", good.keyPEM)
	rogue := rogueCA.issue(t, "mallory", true)
	rogueCert, rogueKey := write(t, dir, "rogue.crt", rogue.certPEM), write(t, dir, "rogue.key", rogue.keyPEM)

	mtls := upstream(t, serverCA, clientCA, nil)
	plain := upstream(t, serverCA, nil, nil)
	old := upstream(t, serverCA, nil, func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 })

	tests := []struct {
		desc    string
		cfg     tlsconfig.ClientConfig
		url     string
		want    string // body on success
		wantErr string // part of the error otherwise
	}{
		{desc: "right CA and client certificate", cfg: tlsconfig.ClientConfig{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}, url: mtls.URL, want: "gateway-client"},
		{desc: "server name override", cfg: tlsconfig.ClientConfig{CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "localhost"}, url: mtls.URL, want: "gateway-client"},
		{desc: "TLS 1.3 only", cfg: tlsconfig.ClientConfig{CAFile: caFile, MinVersion: "1.3"}, url: plain.URL, want: "anonymous"},
		{desc: "no client certificate", cfg: tlsconfig.ClientConfig{CAFile: caFile}, url: mtls.URL, wantErr: "certificate required"},
		// Go's client offers no certificate the server's acceptable CAs do not cover.
		{desc: "client certificate from an untrusted CA", cfg: tlsconfig.ClientConfig{CAFile: caFile, CertFile: rogueCert, KeyFile: rogueKey}, url: mtls.URL, wantErr: "certificate required"},
		{desc: "untrusted server certificate (system roots)", cfg: tlsconfig.ClientConfig{}, url: plain.URL, wantErr: "certificate signed by unknown authority"},
		{desc: "untrusted server certificate (other CA)", cfg: tlsconfig.ClientConfig{CAFile: rogueCAFile, CertFile: certFile, KeyFile: keyFile}, url: mtls.URL, wantErr: "certificate signed by unknown authority"},
		{desc: "wrong server name", cfg: tlsconfig.ClientConfig{CAFile: caFile, ServerName: "orders.internal"}, url: plain.URL, wantErr: "not orders.internal"},
		{desc: "server below TLS 1.2", cfg: tlsconfig.ClientConfig{CAFile: caFile}, url: old.URL, wantErr: "protocol version"},
		{desc: "insecureSkipVerify, explicitly set", cfg: tlsconfig.ClientConfig{InsecureSkipVerify: true}, url: plain.URL, want: "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg, err := tlsconfig.NewClient(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion < tls.VersionTLS12 {
				t.Fatalf("MinVersion %x", cfg.MinVersion)
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			defer client.CloseIdleConnections()
			res, err := client.Get(tt.url)
			if tt.wantErr != "" {
				if err == nil {
					res.Body.Close()
					t.Fatalf("request succeeded (%d), want an error containing %q", res.StatusCode, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil || string(body) != tt.want {
				t.Fatalf("body %q (%v), want %q", body, err, tt.want)
			}
		})
	}
}

func TestNewClientErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := write(t, dir, "ca.pem", []byte("hello"))
	tests := []struct {
		desc string
		cfg  tlsconfig.ClientConfig
		want string
	}{
		{"certificate without key", tlsconfig.ClientConfig{CertFile: "c"}, "certFile: certFile and keyFile must be set together"},
		{"insecure with a CA", tlsconfig.ClientConfig{CAFile: notPEM, InsecureSkipVerify: true}, "insecureSkipVerify: contradicts caFile"},
		{"bad version", tlsconfig.ClientConfig{MinVersion: "1.0"}, `minVersion: must be "1.2" or "1.3"`},
		{"CA file without certificates", tlsconfig.ClientConfig{CAFile: notPEM}, "no PEM certificate found"},
		{"missing CA file", tlsconfig.ClientConfig{CAFile: notPEM + ".missing"}, "no such file"},
		{"missing client certificate", tlsconfig.ClientConfig{CertFile: notPEM + ".missing", KeyFile: notPEM}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if _, err := tlsconfig.NewClient(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewClient = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestClientValidateProduction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cfg        tlsconfig.ClientConfig
		production bool
		want       []string
	}{
		{"default", tlsconfig.ClientConfig{}, true, nil},
		{"insecure in development", tlsconfig.ClientConfig{InsecureSkipVerify: true}, false, nil},
		{"insecure in production", tlsconfig.ClientConfig{InsecureSkipVerify: true}, true, []string{"insecureSkipVerify: must be false when env is production"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := tt.cfg
			c.SetDefaults()
			fes := tlsconfig.FieldErrors(c.Validate(tt.production))
			if len(fes) != len(tt.want) {
				t.Fatalf("errors %v, want %v", fes, tt.want)
			}
			for i, fe := range fes {
				if fe.Error() != tt.want[i] {
					t.Errorf("error %q, want %q", fe.Error(), tt.want[i])
				}
			}
		})
	}
}
