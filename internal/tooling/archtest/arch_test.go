// Package archtest keeps the layout honest (DESIGN section 3): the engine never depends on an
// app, its contracts or its generated code, and the README's "Layout" and
// docs/ARCHITECTURE.md name every package.
package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/contractgate/contractgate"

// root is the repository's root (this package is internal/tooling/archtest).
var root = filepath.Join("..", "..", "..")

// TestEngineKnowsNoApp fails when a package under internal/engine (its tests included)
// depends, even indirectly, on the app (internal/app), the app's contracts (package api) or
// generated code (gen/...; the engine tests' own fixture app, gen/fixture/..., excepted).
func TestEngineKnowsNoApp(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./internal/engine/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var bad []string
	for _, p := range strings.Fields(string(out)) {
		p, _, _ = strings.Cut(p, " ") // "pkg [pkg.test]"
		if p == module+"/api" || (strings.HasPrefix(p, module+"/gen/") && !strings.HasPrefix(p, module+"/gen/fixture/")) || p == module+"/internal/app" || strings.HasPrefix(p, module+"/internal/app/") {
			bad = append(bad, p)
		}
	}
	slices.Sort(bad)
	if bad = slices.Compact(bad); len(bad) > 0 {
		t.Fatalf("the engine depends on the app or generated code:\n  %s\n(find the importer: go list -deps -test -f '{{.ImportPath}}: {{.Imports}}' ./internal/engine/... | grep ...)", strings.Join(bad, "\n  "))
	}
}

// TestEveryPackageIsDocumented fails when a directory with Go files under internal/ or cmd/
// is not named by its path (e.g. `internal/engine/routes`) in README.md's Layout section and
// in docs/ARCHITECTURE.md.
func TestEveryPackageIsDocumented(t *testing.T) {
	readme := section(t, read(t, "README.md"), "## Layout")
	arch := read(t, filepath.Join("docs", "ARCHITECTURE.md"))
	for _, dir := range packages(t) {
		for doc, text := range map[string]string{"README.md Layout": readme, "docs/ARCHITECTURE.md": arch} {
			if !mentions(text, dir) {
				t.Errorf("%s does not name %s", doc, dir)
			}
		}
	}
}

// mentions reports whether text names dir by its path (followed by "/", "`" or a space).
func mentions(text, dir string) bool {
	return strings.Contains(text, dir+"/") || strings.Contains(text, dir+"`") || strings.Contains(text, dir+" ")
}

func packages(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") {
				return nil
			}
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			dirs = append(dirs, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(dirs)
	return slices.Compact(dirs)
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns text from the heading to the next heading of the same level.
func section(t *testing.T, text, heading string) string {
	t.Helper()
	i := strings.Index(text, heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	rest := text[i+len(heading):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
