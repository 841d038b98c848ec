package initapp_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/tooling/initapp"
)

// storefront lays out the demo app's files that init removes, and a file it keeps.
func storefront(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{
		"api/openapi.yaml", "api/components.yaml", "api/upstreams/catalog.yaml", "api/released/openapi.yaml",
		"internal/app/storefront.go", "internal/app/demo/demo.go", "cmd/demo-catalog/main.go",
		"internal/engine/server/server.go", "gen/sdk/example_test.go",
	} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("storefront"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestRunReplacesTheStorefront(t *testing.T) {
	root := storefront(t)
	if err := initapp.Run(initapp.Options{Root: root, Name: "acme-shop"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"api/upstreams/catalog.yaml", "api/released", "internal/app/storefront.go", "internal/app/demo", "cmd/demo-catalog", "gen/sdk/example_test.go"} {
		if _, err := os.Stat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s survived init (err %v)", gone, err)
		}
	}
	for _, kept := range []string{"api/components.yaml", "internal/engine/server/server.go"} {
		if _, err := os.Stat(filepath.Join(root, kept)); err != nil {
			t.Errorf("%s: %v (the engine and the shared components stay)", kept, err)
		}
	}
	contract, err := os.ReadFile(filepath.Join(root, "api/openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"title: Acme Shop API", "x-upstream:", "./components.yaml#/components/schemas/ErrorEnvelope"} {
		if !strings.Contains(string(contract), want) {
			t.Errorf("api/openapi.yaml lacks %q", want)
		}
	}
	for _, f := range []string{"api/upstreams/example.yaml", "internal/app/app.go", "internal/app/app_test.go", "internal/app/config.yaml", "internal/app/run.txt"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "{{") {
			t.Errorf("%s has an unexpanded template action", f)
		}
	}
}

func TestRunRefuses(t *testing.T) {
	tests := []struct {
		name, app string
		force     bool
		want      string
	}{
		{name: "no name", app: "", want: "NAME must be"},
		{name: "upper case", app: "Acme", want: "NAME must be"},
		{name: "path", app: "../acme", want: "NAME must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := initapp.Run(initapp.Options{Root: storefront(t), Name: tt.app, Force: tt.force}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Init ran once: the app is no longer the storefront, and init refuses to replace it
	// unless forced.
	root := storefront(t)
	if err := initapp.Run(initapp.Options{Root: root, Name: "acme"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := initapp.Run(initapp.Options{Root: root, Name: "other"}, io.Discard); err == nil || !strings.Contains(err.Error(), "not the storefront") {
		t.Fatalf("second init: err = %v", err)
	}
	if err := initapp.Run(initapp.Options{Root: root, Name: "other", Force: true}, io.Discard); err != nil {
		t.Fatalf("forced second init: %v", err)
	}
}
