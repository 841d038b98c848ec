// Package sdkpack builds the SDK packages client teams install (`make sdk`), versioned by the
// contract's info.version, under dist/sdk:
//
//   - go/: the Go SDK as a module of its own (client and models by oapi-codegen from the
//     bundled contract; it requires the oapi-codegen runtime and the standard library only),
//     its module zip (golang.org/x/mod/zip) and a file-based module proxy serving it
//     (GOPROXY=file://.../dist/sdk/go/proxy);
//   - typescript/: the TypeScript SDK as an npm tarball (`npm pack`): ES modules and .d.ts
//     compiled by the pinned TypeScript from gen/typescript, openapi-fetch its one dependency.
//
// Both carry a README (how to install, the operations) and the contract's changelog
// (api/released/CHANGELOG.md, plus a section for a version not yet released).
package sdkpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/util"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/contractgate/contractgate/internal/tooling/changelog"
)

// Config says what to build from where. Paths are relative to Root unless absolute.
type Config struct {
	// Root is the repository's root directory (its go.mod names the gateway module).
	Root string
	// Contract is the bundled contract the SDKs are generated from (default
	// gen/openapi.bundled.yaml, written by make generate).
	Contract string
	// TypeScript is the generated TypeScript sources, index.ts and schema.d.ts (default
	// gen/typescript).
	TypeScript string
	// Toolchain is the pinned npm project with TypeScript and openapi-fetch installed
	// (default sdk/typescript; `npm ci` there first).
	Toolchain string
	// Released is the last released contract (default api/released/openapi.yaml); when the
	// contract's version is newer, the packages' changelog gets a section for it.
	Released string
	// Changelog is the released contract's changelog (default api/released/CHANGELOG.md).
	Changelog string
	// Out is the output directory (default dist/sdk).
	Out string
	// GoModule is the Go SDK's module path (default <gateway module>/sdk/go/<name>, with the
	// /vN suffix Go requires from version 2 on, added when missing).
	GoModule string
	// GoPackage is the Go SDK's package name (default <name>: the contract's title in
	// lower-case letters and digits, without "API": storefront for "Storefront API").
	GoPackage string
	// NPMName is the npm package's name (default @contractgate/<name>-sdk, the name's words
	// joined by dashes).
	NPMName string
}

// SetDefaults fills the empty fields from the contract's title and the repository layout.
func (c *Config) SetDefaults() error {
	if c.Root == "" {
		c.Root = "."
	}
	root, err := filepath.Abs(c.Root)
	if err != nil {
		return err
	}
	c.Root = root
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(c.Root, *p)
		}
	}
	def(&c.Contract, filepath.Join("gen", "openapi.bundled.yaml"))
	def(&c.TypeScript, filepath.Join("gen", "typescript"))
	def(&c.Toolchain, filepath.Join("sdk", "typescript"))
	def(&c.Released, filepath.Join("api", "released", "openapi.yaml"))
	def(&c.Changelog, filepath.Join("api", "released", "CHANGELOG.md"))
	def(&c.Out, filepath.Join("dist", "sdk"))

	contract, err := os.ReadFile(c.Contract)
	if err != nil {
		return fmt.Errorf("sdk: the contract: %w (make generate writes it)", err)
	}
	info, err := changelog.ReadInfo(contract)
	if err != nil {
		return fmt.Errorf("sdk: %s: %w", c.Contract, err)
	}
	words := titleWords(info.Title)
	if c.GoPackage == "" {
		c.GoPackage = strings.Join(words, "")
	}
	if c.NPMName == "" {
		c.NPMName = "@contractgate/" + strings.Join(words, "-") + "-sdk"
	}
	if c.GoModule == "" {
		gomod, err := os.ReadFile(filepath.Join(c.Root, "go.mod"))
		if err != nil {
			return fmt.Errorf("sdk: the gateway's go.mod: %w", err)
		}
		c.GoModule = modfile.ModulePath(gomod) + "/sdk/go/" + c.GoPackage
	}
	if major := strings.SplitN(strings.TrimPrefix(info.Version, "v"), ".", 2)[0]; major != "0" && major != "1" {
		if _, suffix, ok := module.SplitPathVersion(c.GoModule); ok && suffix == "" {
			c.GoModule += "/v" + major
		}
	}
	return nil
}

var (
	goPackageName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	npmPackage    = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$`)
)

// Validate names the first field that cannot be used.
func (c *Config) Validate() error {
	switch {
	case !goPackageName.MatchString(c.GoPackage):
		return fmt.Errorf("sdk: GoPackage (SDK_GO_PACKAGE) %q is not a Go package name (lower-case letters and digits)", c.GoPackage)
	case module.CheckPath(c.GoModule) != nil:
		return fmt.Errorf("sdk: GoModule (SDK_GO_MODULE) %q: %w", c.GoModule, module.CheckPath(c.GoModule))
	case !npmPackage.MatchString(c.NPMName) || len(c.NPMName) > 214:
		return fmt.Errorf("sdk: NPMName (SDK_NPM_NAME) %q is not an npm package name", c.NPMName)
	}
	return nil
}

// titleWords are the contract title's words in lower case, letters and digits only, without
// a trailing "API": "Storefront API" -> [storefront]; "Acme Shop API" -> [acme shop].
func titleWords(title string) []string {
	words := strings.FieldsFunc(strings.ToLower(title), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	if n := len(words); n > 1 && words[n-1] == "api" {
		words = words[:n-1]
	}
	if len(words) == 0 || words[0][0] < 'a' {
		words = append([]string{"api"}, words...)
	}
	return words
}

// Result is what Build wrote.
type Result struct {
	// Version is the contract's info.version, the version of both packages.
	Version string
	// GoModule is the Go SDK's module path, GoVersion its module version (v + Version).
	GoModule, GoVersion string
	// GoDir is the Go module's directory (for a replace directive).
	GoDir string
	// GoZip is the module zip, inside GoProxy, a file-based module proxy
	// (GOPROXY=file://GoProxy).
	GoZip, GoProxy string
	// NPMName is the npm package's name; NPMTarball its `npm pack` tarball.
	NPMName, NPMTarball string
}

// Build writes both packages under cfg.Out (cfg defaulted and validated), logging each step
// on log.
func Build(cfg Config, log io.Writer) (*Result, error) {
	contract, err := os.ReadFile(cfg.Contract)
	if err != nil {
		return nil, err
	}
	info, err := changelog.ReadInfo(contract)
	if err != nil {
		return nil, err
	}
	spec, err := util.LoadSwagger(cfg.Contract)
	if err != nil {
		return nil, fmt.Errorf("sdk: loading %s: %w", cfg.Contract, err)
	}
	changes, err := changelogFor(cfg, contract, info)
	if err != nil {
		return nil, err
	}
	doc := docData{Info: info, Module: cfg.GoModule, Package: cfg.GoPackage, NPMName: cfg.NPMName, Operations: operations(spec)}
	r := &Result{Version: info.Version, GoModule: cfg.GoModule, GoVersion: "v" + strings.TrimPrefix(info.Version, "v"), NPMName: cfg.NPMName}
	if err := buildGo(cfg, spec, doc, changes, r, log); err != nil {
		return nil, err
	}
	if err := buildTypeScript(cfg, doc, changes, r, log); err != nil {
		return nil, err
	}
	return r, nil
}

// changelogFor is the released changelog, with a section for the contract's version when it
// is not released yet (compared with the last release, or the first one).
func changelogFor(cfg Config, contract []byte, info changelog.Info) ([]byte, error) {
	file, err := os.ReadFile(cfg.Changelog)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	released, err := os.ReadFile(cfg.Released)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s, err := changelog.First(contract, "unreleased")
		if err != nil {
			return nil, err
		}
		return changelog.Insert(file, info.Title, s), nil
	case err != nil:
		return nil, err
	}
	ri, err := changelog.ReadInfo(released)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Released, err)
	}
	if ri.Version == info.Version {
		// Released: its section is in the file (a file from before changelogs were
		// written gets the title only).
		if len(file) > 0 {
			return file, nil
		}
		return []byte("# Changelog of " + info.Title + "\n\n## " + info.Version + "\n\nReleased before this changelog was kept.\n"), nil
	}
	s, err := changelog.Compare(cfg.Released, released, cfg.Contract, contract, "unreleased")
	if err != nil {
		return nil, err
	}
	return changelog.Insert(file, info.Title, s), nil
}

// operation is one operation of the contract, for the READMEs.
type operation struct {
	Method, Path, ID, GoName, Summary string
}

// operations lists the contract's operations by path and method.
func operations(spec *openapi3.T) []operation {
	var ops []operation
	for _, path := range spec.Paths.InMatchingOrder() {
		for method, op := range spec.Paths.Value(path).Operations() {
			if op.OperationID == "" {
				continue
			}
			ops = append(ops, operation{Method: method, Path: path, ID: op.OperationID,
				GoName: codegen.ToCamelCase(op.OperationID), Summary: op.Summary})
		}
	}
	slices.SortFunc(ops, func(a, b operation) int {
		return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method)
	})
	return ops
}

// docData feeds the READMEs.
type docData struct {
	Info       changelog.Info
	Module     string
	Package    string
	NPMName    string
	Operations []operation
}

// writeFiles writes name -> content under dir.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// render executes a README template.
func render(t *template.Template, d docData) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// buildGo writes the Go module (Out/go/module), its zip and the module proxy (Out/go/proxy).
func buildGo(cfg Config, spec *openapi3.T, doc docData, changes []byte, r *Result, log io.Writer) error {
	code, err := codegen.Generate(spec, codegen.Configuration{
		PackageName:   cfg.GoPackage,
		Generate:      codegen.GenerateOptions{Client: true, Models: true},
		OutputOptions: codegen.OutputOptions{SkipPrune: true},
	})
	if err != nil {
		return fmt.Errorf("sdk: oapi-codegen: %w", err)
	}
	readme, err := render(goReadme, doc)
	if err != nil {
		return err
	}
	gomod, err := goMod(cfg.Root, cfg.GoModule)
	if err != nil {
		return err
	}
	goDir := filepath.Join(cfg.Out, "go")
	r.GoDir = filepath.Join(goDir, "module")
	if err := os.RemoveAll(r.GoDir); err != nil {
		return err
	}
	version := fmt.Sprintf("package %s\n\n// Version is the version of the contract (info.version of %q) this SDK was generated from.\nconst Version = %q\n",
		cfg.GoPackage, doc.Info.Title, r.Version)
	if err := writeFiles(r.GoDir, map[string][]byte{
		"go.mod":                  gomod,
		cfg.GoPackage + ".gen.go": []byte(code),
		"version.go":              []byte(version),
		"VERSION":                 []byte(r.Version + "\n"),
		"README.md":               readme,
		"CHANGELOG.md":            changes,
	}); err != nil {
		return err
	}
	// go mod tidy writes the requirements (the runtime's version is the gateway's, from its
	// go.mod) and go.sum.
	if out, err := goCmd(r.GoDir, "mod", "tidy"); err != nil {
		return fmt.Errorf("sdk: go mod tidy in %s: %w\n%s", r.GoDir, err, out)
	}
	if out, err := goCmd(r.GoDir, "vet", "./..."); err != nil {
		return fmt.Errorf("sdk: go vet of the Go SDK: %w\n%s", err, out)
	}

	r.GoProxy = filepath.Join(goDir, "proxy")
	esc, err := module.EscapePath(cfg.GoModule)
	if err != nil {
		return err
	}
	at := filepath.Join(r.GoProxy, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	r.GoZip = filepath.Join(at, r.GoVersion+".zip")
	zf, err := os.Create(r.GoZip)
	if err != nil {
		return err
	}
	if err := modzip.CreateFromDir(zf, module.Version{Path: cfg.GoModule, Version: r.GoVersion}, r.GoDir); err != nil {
		_ = zf.Close()
		return fmt.Errorf("sdk: module zip: %w", err)
	}
	if err := zf.Close(); err != nil {
		return err
	}
	if gomod, err = os.ReadFile(filepath.Join(r.GoDir, "go.mod")); err != nil {
		return err
	}
	infoJSON, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{r.GoVersion, time.Now().UTC().Truncate(time.Second)})
	if err := writeFiles(at, map[string][]byte{r.GoVersion + ".mod": gomod, r.GoVersion + ".info": infoJSON}); err != nil {
		return err
	}
	// list: every version the proxy holds (earlier builds of other versions stay).
	zips, err := filepath.Glob(filepath.Join(at, "v*.zip"))
	if err != nil {
		return err
	}
	var list bytes.Buffer
	for _, z := range zips {
		list.WriteString(strings.TrimSuffix(filepath.Base(z), ".zip") + "\n")
	}
	if err := os.WriteFile(filepath.Join(at, "list"), list.Bytes(), 0o644); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(log, "sdk: Go module %s %s in %s, served by GOPROXY=file://%s\n", cfg.GoModule, r.GoVersion, r.GoDir, r.GoProxy)
	return nil
}

// runtimeModule is the oapi-codegen runtime, the Go SDK's one requirement.
const runtimeModule = "github.com/oapi-codegen/runtime"

// goMod is the Go SDK's go.mod before tidy: its module path and the oapi-codegen runtime at
// the version the gateway's go.mod requires (the one gen/sdk is tested with).
func goMod(root, path string) ([]byte, error) {
	name := filepath.Join(root, "go.mod")
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	f, err := modfile.ParseLax(name, b, nil)
	if err != nil {
		return nil, err
	}
	for _, req := range f.Require {
		if req.Mod.Path == runtimeModule {
			return []byte("module " + path + "\n\ngo 1.22\n\nrequire " + runtimeModule + " " + req.Mod.Version + "\n"), nil
		}
	}
	return nil, fmt.Errorf("sdk: %s does not require %s", name, runtimeModule)
}

// goCmd runs the go command in dir, outside any workspace, resolving what go.mod lacks.
func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	return cmd.CombinedOutput()
}

// buildTypeScript compiles gen/typescript with the pinned TypeScript in a staging directory
// and packs it (Out/typescript/<name>-<version>.tgz).
func buildTypeScript(cfg Config, doc docData, changes []byte, r *Result, log io.Writer) error {
	tsc := filepath.Join(cfg.Toolchain, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		return fmt.Errorf("sdk: the pinned TypeScript is missing (%w): run `npm ci` in %s", err, cfg.Toolchain)
	}
	fetchVersion, err := dependencyVersion(filepath.Join(cfg.Toolchain, "package.json"), "openapi-fetch")
	if err != nil {
		return err
	}
	stage, err := os.MkdirTemp("", "sdk-typescript-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(stage) }()
	src := filepath.Join(stage, "src")
	files := map[string][]byte{}
	for _, name := range []string{"index.ts", "schema.d.ts"} {
		b, err := os.ReadFile(filepath.Join(cfg.TypeScript, name))
		if err != nil {
			return fmt.Errorf("sdk: %w (make generate writes it)", err)
		}
		files[name] = b
	}
	if err := writeFiles(src, files); err != nil {
		return err
	}
	readme, err := render(tsReadme, doc)
	if err != nil {
		return err
	}
	var pkg bytes.Buffer
	enc := json.NewEncoder(&pkg)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(packageJSON{
		Name:         cfg.NPMName,
		Version:      r.Version,
		Description:  "Typed client of " + doc.Info.Title + " " + r.Version + " (openapi-fetch, types generated from the contract by openapi-typescript).",
		Type:         "module",
		Main:         "./dist/index.js",
		Types:        "./dist/index.d.ts",
		Exports:      map[string]exportPaths{".": {Types: "./dist/index.d.ts", Import: "./dist/index.js", Default: "./dist/index.js"}},
		Files:        []string{"dist", "README.md", "CHANGELOG.md"},
		SideEffects:  false,
		Engines:      map[string]string{"node": ">=20"},
		Dependencies: map[string]string{"openapi-fetch": fetchVersion},
	}); err != nil {
		return err
	}
	if err := writeFiles(stage, map[string][]byte{
		"package.json":  pkg.Bytes(),
		"tsconfig.json": []byte(tsconfig),
		"README.md":     readme,
		"CHANGELOG.md":  changes,
	}); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(cfg.Toolchain, "node_modules"), filepath.Join(stage, "node_modules")); err != nil {
		return err
	}
	if out, err := run(stage, "node", tsc, "-p", "."); err != nil {
		return fmt.Errorf("sdk: tsc: %w\n%s", err, out)
	}
	// tsc does not copy declaration files: the types index.d.ts refers to.
	if err := writeFiles(filepath.Join(stage, "dist"), map[string][]byte{"schema.d.ts": files["schema.d.ts"]}); err != nil {
		return err
	}
	outDir := filepath.Join(cfg.Out, "typescript")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	out, err := run(stage, "npm", "pack", "--json", "--pack-destination", outDir)
	if err != nil {
		return fmt.Errorf("sdk: npm pack: %w\n%s", err, out)
	}
	var packed []struct{ Filename string }
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 {
		return fmt.Errorf("sdk: npm pack printed no file name (%v):\n%s", err, out)
	}
	r.NPMTarball = filepath.Join(outDir, packed[0].Filename)
	_, _ = fmt.Fprintf(log, "sdk: npm package %s@%s in %s\n", cfg.NPMName, r.Version, r.NPMTarball)
	return nil
}

// packageJSON is the npm package's manifest.
type packageJSON struct {
	Name         string                 `json:"name"`
	Version      string                 `json:"version"`
	Description  string                 `json:"description"`
	Type         string                 `json:"type"`
	Main         string                 `json:"main"`
	Types        string                 `json:"types"`
	Exports      map[string]exportPaths `json:"exports"`
	Files        []string               `json:"files"`
	SideEffects  bool                   `json:"sideEffects"`
	Engines      map[string]string      `json:"engines"`
	Dependencies map[string]string      `json:"dependencies"`
}

// exportPaths is one entry of package.json's exports, its conditions in the order they are
// tried: types first (TypeScript), then ES module imports.
type exportPaths struct {
	Types   string `json:"types"`
	Import  string `json:"import"`
	Default string `json:"default"`
}

// tsconfig compiles src to ES modules with declarations in dist.
const tsconfig = `{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2022", "DOM"],
    "types": [],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "declaration": true,
    "strict": true,
    "skipLibCheck": false,
    "rootDir": "src",
    "outDir": "dist"
  },
  "include": ["src/**/*.ts"]
}
`

// dependencyVersion is the version of dep that the npm project's package.json pins.
func dependencyVersion(packageFile, dep string) (string, error) {
	b, err := os.ReadFile(packageFile)
	if err != nil {
		return "", err
	}
	var p struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return "", fmt.Errorf("%s: %w", packageFile, err)
	}
	v, ok := p.Dependencies[dep]
	if !ok {
		return "", fmt.Errorf("%s does not depend on %s", packageFile, dep)
	}
	return v, nil
}

// run runs a command in dir and returns its standard output (and standard error on failure).
func run(dir, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}
