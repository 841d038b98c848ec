// Package codegen generates the Go code that follows from an app's contracts: one client
// package per upstream contract, the typed clients of all upstreams built from an
// upstream.Registry, and the glue of every public operation bound to an upstream operation
// with x-upstream (DESIGN 9).
//
// For a Target {API: "api", Gen: "gen", ImportPath: "github.com/contractgate/contractgate/gen"}
// it reads
//
//	api/openapi.yaml            the public contract (operations carrying x-upstream are bound)
//	api/upstreams/<name>.yaml   one file per upstream: the registry (no names listed in Go)
//	api/codegen/gateway.yaml    optional: the oapi-codegen configuration of the gateway package,
//	                            so that bound methods use its exact Go names (default: echo-server,
//	                            strict-server, models, skip-prune)
//
// and writes
//
//	gen/<name>/<name>.gen.go      client, echo server, strict server, models and embedded spec of
//	                              api/upstreams/<name>.yaml, package <name> (the pinned
//	                              oapi-codegen, `go tool oapi-codegen`, so byte for byte its output,
//	                              but for the client's template: templates/client.tmpl, the same
//	                              API with requests built cheaply; its header says what differs)
//	gen/upstreams/upstreams.gen.go  type Clients (one typed client per upstream, sorted) and
//	                              New(*upstream.Registry) (*Clients, error)
//	gen/bindings/bindings.gen.go  type Bound: one method per bound operation with the gateway's
//	                              strict-server signature, and New(*upstreams.Clients, *binding.Set)
//	gen/gateway/gateway.gen.go    only with Target.Gateway (fixture apps; the storefront generates
//	                              its gateway package with go generate)
//
// A directory gen/<name> whose upstream file is gone is removed, if the generator owns it: its
// name is not reserved and it holds only <name>.gen.go files starting with a "Code generated"
// line. An upstream name must be a lower-case Go package identifier ([a-z][a-z0-9]*) and not one
// of the Reserved names (gateway, sdk, upstreams, bindings, typescript, fixture, the packages
// the generated code imports and its local names).
//
// Nothing is written when a binding is wrong: every error names the operation and the field of
// its x-upstream extension (e.g. `getProduct: x-upstream.operation: catalog has no operation
// "getProdcut"`), and Run returns them all.
//
// The command (internal/tooling/codegen/cmd/codegen, run by `make generate` from the module root):
//
//	go run ./internal/tooling/codegen/cmd/codegen [-gateway] API_DIR:GEN_DIR[:IMPORT_PATH] ...
//
// Each argument is one target; IMPORT_PATH defaults to ModulePath joined with GEN_DIR (a
// directory of this module, relative to its root). -gateway also generates GEN_DIR/gateway for every target. For example the storefront
// and an engine test fixture app:
//
//	go run ./internal/tooling/codegen/cmd/codegen api:gen
//	go run ./internal/tooling/codegen/cmd/codegen -gateway internal/engine/testdata/fixture/api:gen/fixture
package codegen

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Target is one app's contracts and where their code goes.
type Target struct {
	// API is the directory holding openapi.yaml, upstreams/*.yaml and (optionally)
	// codegen/gateway.yaml.
	API string
	// Gen is the directory the code is written to.
	Gen string
	// ImportPath is the Go import path of Gen (e.g. github.com/contractgate/contractgate/gen).
	ImportPath string
	// Gateway also generates Gen/gateway/gateway.gen.go from API/openapi.yaml.
	Gateway bool
}

// ModulePath is this module's path: the default root of a target's import path, and of the
// engine packages (binding, identity, upstream) the generated glue imports.
const ModulePath = "github.com/contractgate/contractgate"

const engineImport = ModulePath + "/internal/engine"

// Reserved lists the names an upstream cannot take: the generator's own packages under gen/,
// the other generated directories, the packages the generated code imports, and its local
// names (an upstream's package name would be shadowed by them).
var Reserved = []string{
	"a", "b", "binding", "bindings", "body", "bytes", "c", "context", "cs", "ctx", "deref",
	"err", "fixture", "fmt", "gateway", "http", "id", "identity", "io", "json", "params", "r",
	"reg", "request", "resp", "sdk", "set", "typescript", "up", "upstream", "upstreams", "v", "w",
}

var upstreamName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

var goKeywords = []string{
	"break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough",
	"for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range",
	"return", "select", "struct", "switch", "type", "var",
}

// Upstreams lists the upstream names of the contracts in dir (api/upstreams), sorted; a file
// whose name is not a valid upstream name is an error naming it.
func Upstreams(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var names []string
	var errs []error
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		switch {
		case !upstreamName.MatchString(name) || slices.Contains(goKeywords, name):
			errs = append(errs, fmt.Errorf("%s: upstream name %q is not a lower-case Go package identifier ([a-z][a-z0-9]*)", f, name))
		case slices.Contains(Reserved, name):
			errs = append(errs, fmt.Errorf("%s: upstream name %q is reserved (%s)", f, name, strings.Join(Reserved, ", ")))
		default:
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, errors.Join(errs...)
}

// Run generates every file of t (see the package doc). Nothing is written when the contracts
// hold an error.
func Run(t Target) error {
	names, err := Upstreams(filepath.Join(t.API, "upstreams"))
	if err != nil {
		return err
	}
	gwCfg, err := gatewayConfig(t.API)
	if err != nil {
		return err
	}
	bound, err := resolveBindings(filepath.Join(t.API, "openapi.yaml"), gwCfg, filepath.Join(t.API, "upstreams"), names)
	if err != nil {
		return err
	}

	files := map[string][]byte{}
	for _, name := range names {
		cfg, err := upstreamConfig(name)
		if err != nil {
			return err
		}
		src, err := oapiCodegen(filepath.Join(t.API, "upstreams", name+".yaml"), cfg)
		if err != nil {
			return err
		}
		files[filepath.Join(t.Gen, name, name+".gen.go")] = src
	}
	if t.Gateway {
		src, err := oapiCodegen(filepath.Join(t.API, "openapi.yaml"), gwCfg.yaml)
		if err != nil {
			return err
		}
		files[filepath.Join(t.Gen, "gateway", "gateway.gen.go")] = src
	}
	src, err := upstreamsFile(t.ImportPath, names)
	if err != nil {
		return err
	}
	files[filepath.Join(t.Gen, "upstreams", "upstreams.gen.go")] = src
	src, err = bindingsFile(t.ImportPath, bound)
	if err != nil {
		return err
	}
	files[filepath.Join(t.Gen, "bindings", "bindings.gen.go")] = src

	if err := removeStale(t.Gen, names); err != nil {
		return err
	}
	for _, path := range sortedKeys(files) {
		if err := writeIfChanged(path, files[path]); err != nil {
			return err
		}
	}
	return nil
}

// clientTemplate is oapi-codegen's client template with cheaper request building, the same API
// (its header says what differs from the stock one).
//
//go:embed templates/client.tmpl
var clientTemplate string

// upstreamConfig is the one oapi-codegen configuration of every upstream package: the typed
// client the gateway calls (built from clientTemplate) and the strict server a demo service
// implements.
func upstreamConfig(name string) (string, error) {
	templates, err := yaml.Marshal(map[string]any{
		"output-options":     map[string]any{"user-templates": map[string]string{"client.tmpl": clientTemplate}},
		"additional-imports": []map[string]string{{"package": ModulePath + "/internal/engine/clienturl"}},
	})
	if err != nil {
		return "", err
	}
	return "package: " + name + `
generate:
  client: true
  echo-server: true
  strict-server: true
  models: true
  embedded-spec: true
` + string(templates), nil
}

// oapiCodegen runs the pinned oapi-codegen (go tool) on spec with the configuration cfg (YAML)
// and returns the generated source.
func oapiCodegen(spec, cfg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "codegen")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("go", "tool", "oapi-codegen", "-config", cfgPath, spec)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: oapi-codegen: %w\n%s", spec, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

var generatedLine = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

// owned reports whether the generator owns dir, gen/<name>: the name is not reserved and the
// directory holds only <name>.gen.go files marked as generated.
func owned(dir string) (bool, error) {
	name := filepath.Base(dir)
	if slices.Contains(Reserved, name) {
		return false, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() != name+".gen.go" {
			return false, nil
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return false, err
		}
		if !generated(src) {
			return false, nil
		}
	}
	return len(entries) > 0, nil
}

// generated reports whether src carries the standard "Code generated ... DO NOT EDIT." line
// before its package clause.
func generated(src []byte) bool {
	for line := range strings.Lines(string(src)) {
		line = strings.TrimRight(line, "\r\n")
		if generatedLine.MatchString(line) {
			return true
		}
		if strings.HasPrefix(line, "package ") {
			return false
		}
	}
	return false
}

// removeStale removes the directories of gen that the generator owns and whose upstream is gone.
func removeStale(gen string, names []string) error {
	entries, err := os.ReadDir(gen)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || slices.Contains(names, e.Name()) {
			continue
		}
		dir := filepath.Join(gen, e.Name())
		ok, err := owned(dir)
		if err != nil {
			return err
		}
		if ok {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeIfChanged(path string, src []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, src) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, src, 0o644)
}

// gofmt formats generated source; a failure is the generator's bug, reported with the source.
func gofmt(name string, src []byte) ([]byte, error) {
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("formatting %s: %w\n%s", name, err, src)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// exported is name with its first letter upper-cased (catalog -> Catalog).
func exported(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}
