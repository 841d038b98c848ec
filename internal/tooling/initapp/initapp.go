// Package initapp replaces the demo app (the storefront) with a minimal app of a team's own
// (`make init NAME=<name>`, `contractgate init -name <name>`): a public contract that $refs the
// shared components and has one bound operation, one example upstream contract, a default
// configuration, and the app package that mounts them. The engine, the shared components
// (api/components.yaml) and the codegen configurations stay; `make generate` then writes gen/
// for the new app.
package initapp

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

//go:embed all:skeleton
var skeleton embed.FS

// demoApp are the storefront's own files and folders (relative to the repository root):
// its contracts, the last released contract, its handlers, demo services, tests and load-test
// origin, and the examples written against it.
var demoApp = []string{
	"api/openapi.yaml",
	"api/upstreams",
	"api/released",
	"internal/app",
	"cmd/benchorigin",
	"gen/sdk/example_test.go",
	"sdk/typescript/examples/storefront.ts",
}

// demoGlobs are the storefront's demo upstream commands.
var demoGlobs = []string{"cmd/demo-*"}

var validName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// Options are init's inputs.
type Options struct {
	// Root is the repository's root directory.
	Root string
	// Name is the app's name: lower-case letters, digits and dashes (e.g. acme).
	Name string
	// Force replaces an app that is not the storefront (a team's own app, edited).
	Force bool
}

// Run replaces the app under o.Root with the skeleton named o.Name, reporting what it did on out.
func Run(o Options, out io.Writer) error {
	if !validName.MatchString(o.Name) {
		return fmt.Errorf("init: NAME must be lower-case letters, digits and dashes, starting with a letter (at most 40), got %q", o.Name)
	}
	if _, err := os.Stat(filepath.Join(o.Root, "internal", "app", "demo")); err != nil && !o.Force {
		return fmt.Errorf("init: the app under %s is not the storefront demo (no internal/app/demo); FORCE=1 replaces it anyway", o.Root)
	}
	removed := 0
	paths := append([]string(nil), demoApp...)
	for _, g := range demoGlobs {
		m, err := filepath.Glob(filepath.Join(o.Root, g))
		if err != nil {
			return err
		}
		for _, p := range m {
			rel, _ := filepath.Rel(o.Root, p)
			paths = append(paths, rel)
		}
	}
	for _, p := range paths {
		full := filepath.Join(o.Root, p)
		if _, err := os.Lstat(full); err != nil {
			continue
		}
		if err := os.RemoveAll(full); err != nil {
			return fmt.Errorf("init: removing %s: %w", p, err)
		}
		_, _ = fmt.Fprintf(out, "removed  %s\n", p)
		removed++
	}
	data := struct{ Name, Title string }{Name: o.Name, Title: title(o.Name)}
	err := fs.WalkDir(skeleton, "skeleton", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, "skeleton/")
		content, err := skeleton.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".tmpl") {
			rel = strings.TrimSuffix(rel, ".tmpl")
			t, err := template.New(rel).Option("missingkey=error").Parse(string(content))
			if err != nil {
				return fmt.Errorf("init: template %s: %w", rel, err)
			}
			var b bytes.Buffer
			if err := t.Execute(&b, data); err != nil {
				return fmt.Errorf("init: template %s: %w", rel, err)
			}
			content = b.Bytes()
		}
		full := filepath.Join(o.Root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, content, 0o644); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(out, "wrote    %s\n", rel)
		return nil
	})
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(out, "\n%s replaces the storefront (%d paths removed; the storefront stays in git history: commit this app on a branch of its own, or `git stash -u` to bring the storefront back).\n", data.Title, removed)
	return nil
}

// title is name as a title: acme-shop -> Acme Shop.
func title(name string) string {
	words := strings.Split(name, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}
