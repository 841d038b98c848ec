// Package sdkconsumer is the client team's side of the SDK tests: it builds the SDK packages
// (sdkpack) into a test's temporary directory, and sets up projects outside the repository
// that install them the way a client team does: a Go module that `go get`s the Go SDK from
// the file-based module proxy of the build (offline: the rest comes from the module cache),
// and an npm project that `npm install`s the tarball. The tests that use it say what the
// projects do: internal/tooling/sdkpack (any app's contract), internal/app/sdkclient (the
// storefront's, against a live gateway).
//
// It needs Go, Node.js >= 20 with npm, and sdk/typescript/node_modules (`npm ci` there). Without
// Node.js the tests skip, except under CI=true, where they fail.
package sdkconsumer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/tooling/sdkpack"
)

// cmdTimeout bounds one command (a build, an install, a type check) on a loaded machine.
const cmdTimeout = 3 * time.Minute

// Root is the repository's root: the nearest directory above the working directory with a
// go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// RequireNode skips the test (fails it under CI=true) when node (20 or later), npm or a tool of
// the pinned TypeScript toolchain is missing: each of bins (default tsc) must be in
// sdk/typescript/node_modules/.bin.
func RequireNode(t testing.TB, bins ...string) {
	t.Helper()
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	missing := func(what string) {
		t.Helper()
		if ci {
			t.Fatalf("%s: with CI=true the TypeScript tests must run (.ci/run installs Node.js and runs `npm ci` in sdk/typescript)", what)
		}
		t.Skipf("skipping: %s (install Node.js >= 20 with npm, then `cd sdk/typescript && npm ci`)", what)
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(tool + " not found in PATH")
		}
	}
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		missing("node --version: " + err.Error())
	}
	ver := strings.TrimSpace(string(out))
	if major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(ver, "v"), ".", 2)[0]); err != nil || major < 20 {
		missing("node " + ver + " is older than 20")
	}
	if len(bins) == 0 {
		bins = []string{"tsc"}
	}
	for _, bin := range bins {
		if _, err := os.Stat(filepath.Join(Root(t), "sdk", "typescript", "node_modules", ".bin", bin)); err != nil {
			missing("sdk/typescript/node_modules/.bin/" + bin + " is missing")
		}
	}
}

// Build builds both SDK packages of the repository's contract (make sdk with the default
// names) into a temporary directory.
func Build(t testing.TB) *sdkpack.Result {
	t.Helper()
	RequireNode(t)
	cfg := sdkpack.Config{Root: Root(t), Out: t.TempDir()}
	if err := cfg.SetDefaults(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r, err := sdkpack.Build(cfg, &log)
	if err != nil {
		t.Fatalf("building the SDKs: %v\n%s", err, log.String())
	}
	return r
}

// Run runs name with args in dir (env added to the test's environment) and returns its
// combined output and exit code; it fails the test when the command cannot start or runs
// past cmdTimeout.
func Run(t testing.TB, dir string, env []string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0", "npm_config_update_notifier=false"), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out after %s\n%s", name, strings.Join(args, " "), cmdTimeout, buf.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return buf.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, buf.String())
	}
	return buf.String(), 0
}

// MustRun is Run that fails the test unless the command exits 0.
func MustRun(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, code := Run(t, dir, env, name, args...)
	if code != 0 {
		t.Fatalf("%s %s (in %s) exited %d:\n%s", name, strings.Join(args, " "), dir, code, out)
	}
	return out
}

// GoProject is a scratch Go module of a client team that requires the Go SDK.
type GoProject struct {
	// Dir is the module's directory.
	Dir string
	// Env is the go command's environment for it: the build's module proxy first, then the
	// module cache of this machine as a second file proxy; a module cache of its own (so that
	// the SDK is what this build served, not an earlier download); no checksum database, no
	// network.
	Env []string
}

// Go runs the go command in the project.
func (p *GoProject) Go(t testing.TB, args ...string) (string, int) {
	t.Helper()
	return Run(t, p.Dir, p.Env, "go", args...)
}

// NewGoProject creates a module (files: name -> content, e.g. main.go) in a temporary
// directory and `go get`s the SDK at its version from the build's module proxy.
func NewGoProject(t testing.TB, r *sdkpack.Result, files map[string]string) *GoProject {
	t.Helper()
	cache := MustRun(t, ".", nil, "go", "env", "GOMODCACHE")
	dir := t.TempDir()
	p := &GoProject{Dir: filepath.Join(dir, "consumer"), Env: []string{
		"GOWORK=off",
		"GOTOOLCHAIN=local",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOMODCACHE=" + filepath.Join(dir, "modcache"),
		"GOPROXY=file://" + filepath.ToSlash(r.GoProxy) + ",file://" + filepath.ToSlash(filepath.Join(strings.TrimSpace(cache), "cache", "download")),
		"GOSUMDB=off",
	}}
	files["go.mod"] = "module example.com/consumer\n\ngo 1.26\n"
	if err := writeFiles(p.Dir, files); err != nil {
		t.Fatal(err)
	}
	if out, code := p.Go(t, "get", r.GoModule+"@"+r.GoVersion); code != 0 {
		t.Fatalf("go get %s@%s from the build's module proxy exited %d:\n%s", r.GoModule, r.GoVersion, code, out)
	}
	MustRun(t, p.Dir, p.Env, "go", "mod", "tidy")
	return p
}

// NPMProject is a scratch npm project of a client team with the npm package installed.
type NPMProject struct {
	// Dir is the project's directory.
	Dir string
	// TSC is the pinned TypeScript compiler (sdk/typescript's), to type-check the project's
	// files against the package's declarations.
	TSC string
}

// NewNPMProject creates an npm project (files: name -> content, e.g. main.mjs, consumer.ts) in
// a temporary directory and `npm install`s the tarball (openapi-fetch from the npm cache or
// the registry). A tsconfig.json (strict, ES modules, Node's resolution, DOM types for fetch)
// is written unless files has one.
func NewNPMProject(t testing.TB, r *sdkpack.Result, files map[string]string) *NPMProject {
	t.Helper()
	p := &NPMProject{Dir: filepath.Join(t.TempDir(), "consumer"), TSC: filepath.Join(Root(t), "sdk", "typescript", "node_modules", "typescript", "bin", "tsc")}
	all := map[string]string{
		"package.json": `{"name": "consumer", "version": "1.0.0", "private": true, "type": "module"}` + "\n",
		"tsconfig.json": `{
  "compilerOptions": {
    "target": "ES2022", "lib": ["ES2022", "DOM"], "types": [],
    "module": "NodeNext", "moduleResolution": "NodeNext",
    "strict": true, "noEmit": true, "skipLibCheck": false
  }
}
`,
	}
	for name, content := range files {
		all[name] = content
	}
	if err := writeFiles(p.Dir, all); err != nil {
		t.Fatal(err)
	}
	MustRun(t, p.Dir, nil, "npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--save-exact", r.NPMTarball)
	return p
}

// Node runs node with args in the project.
func (p *NPMProject) Node(t testing.TB, args ...string) (string, int) {
	t.Helper()
	return Run(t, p.Dir, nil, "node", args...)
}

// TypeCheck runs tsc --noEmit on one .ts file of the project, with the options of its
// tsconfig.json (a tsconfig naming only that file extends it).
func (p *NPMProject) TypeCheck(t testing.TB, file string) (string, int) {
	t.Helper()
	cfg := "tsconfig." + strings.TrimSuffix(filepath.Base(file), ".ts") + ".json"
	if err := writeFiles(p.Dir, map[string]string{cfg: fmt.Sprintf(`{"extends": "./tsconfig.json", "files": [%q]}`+"\n", file)}); err != nil {
		t.Fatal(err)
	}
	return Run(t, p.Dir, nil, "node", p.TSC, "--noEmit", "-p", cfg)
}

// writeFiles writes name -> content under dir.
func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		full := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
