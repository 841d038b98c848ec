package e2e_test

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/labstack/echo/v4"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	"github.com/contractgate/contractgate/internal/app/demo"
	catalogdemo "github.com/contractgate/contractgate/internal/app/demo/catalog"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// TestHTTPSUpstream: an https upstream is reached when its CA is configured, and refused
// (502, nothing of the TLS error shown) when its certificate is not trusted.
func TestHTTPSUpstream(t *testing.T) {
	t.Parallel()
	tlsCatalog := httptest.NewTLSServer(demo.NewEcho(demo.NewFaults(), func(e *echo.Echo) {
		catalogapi.RegisterHandlers(e, catalogapi.NewStrictHandler(catalogdemo.New(), nil))
	}))
	t.Cleanup(tlsCatalog.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsCatalog.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc   string
		caFile string
		status int
		code   string
	}{
		{"trusted through upstreams.catalog.tls.caFile", caFile, http.StatusOK, ""},
		{"untrusted certificate", "", http.StatusBadGateway, "UPSTREAM_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			env := testenv.Start(t, func(c *config.Config) {
				u := c.Upstreams["catalog"]
				u.BaseURL = tlsCatalog.URL
				u.TLS.CAFile = tt.caFile
				c.Upstreams["catalog"] = u
			})
			res := env.Do(t, http.MethodGet, "/v1/products/prd_0005", "")
			body := assertEnvelope(t, res, tt.status, tt.code == "")
			if tt.code != "" {
				if code := errorCode(t, body); code != tt.code {
					t.Fatalf("code %q, want %q", code, tt.code)
				}
			}
		})
	}
}
