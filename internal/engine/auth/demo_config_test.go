package auth_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/contractgate/contractgate/internal/engine/auth"
)

// TestDemoConfig: the demo block proposed for the default configuration decodes strictly,
// is valid in development, lets the demo key and a dev token through, and is refused in
// production.
func TestDemoConfig(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg auth.Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(false); err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(true)
	for _, want := range []string{"jwt.hmacKeys[0].secret", "apiKeys[0].sha256", "devToken.enabled"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("production Validate = %v, want it to refuse %s", err, want)
		}
	}

	ts := gateway(t, cfg)
	got := do(t, ts, http.MethodGet, "/v1/me/dashboard", "X-API-Key", "demo-key-alice-0123456789abcdef").identityOf(t)
	if got.Subject != "alice" || got.KeyID != "demo-alice" {
		t.Fatalf("demo key: %+v", got)
	}
	tok, err := auth.IssueDevToken(cfg, "alice", strings.Fields("orders:read orders:write"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := do(t, ts, http.MethodPost, "/v1/orders", "Authorization", "Bearer "+tok).identityOf(t); got.Subject != "alice" {
		t.Fatalf("dev token: %+v", got)
	}
}
