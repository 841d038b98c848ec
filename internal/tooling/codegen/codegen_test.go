package codegen

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// The tests do not run in parallel: oapi-codegen keeps its naming state in package globals.

var update = flag.Bool("update", false, "rewrite the golden files")

var reqBench = flag.String("reqbench", "", "TestRequestBuildersMatchStock also runs the request-building benchmarks matching this pattern, stock vs lean, and logs them (with -v)")

// archive is a test case in one file: "-- name --" lines start its files (txtar's format).
func archive(t *testing.T, file string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	var name string
	for line := range strings.Lines(string(src)) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "-- "); ok && strings.HasSuffix(n, " --") {
			name = strings.TrimSuffix(n, " --")
			continue
		}
		files[name] += line
	}
	return files
}

func extract(t *testing.T, files map[string]string, dir string) {
	t.Helper()
	for name, body := range files {
		if name == "want" {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// moduleDir is a fresh directory inside the module (under testdata, so ./... skips it), where
// generated packages can be compiled, and its import path.
func moduleDir(t *testing.T) (string, string) {
	t.Helper()
	dir, err := os.MkdirTemp("testdata", "gen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir, path.Join(ModulePath, "internal/tooling/codegen", filepath.ToSlash(dir))
}

// vet type-checks (and vets) the package at dir, returning the go command's output on failure.
func vet(t *testing.T, dir string) (string, bool) {
	t.Helper()
	out, err := exec.Command("go", "vet", "./"+filepath.ToSlash(dir)).CombinedOutput()
	return string(out), err == nil
}

// TestGenerateCompiles generates the fixture app (path, query, header and Idempotency-Key
// parameters, defaults, an enum converted between packages, auth.subject, const, a JSON body,
// data: body.items), compares the glue with its golden file and compiles it.
func TestGenerateCompiles(t *testing.T) {
	dir, importPath := moduleDir(t)
	gen := filepath.Join(dir, "gen")
	if err := Run(Target{API: "testdata/ok/api", Gen: gen, ImportPath: importPath + "/gen", Gateway: true}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(gen, "bindings", "bindings.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	got = bytes.ReplaceAll(got, []byte(importPath), []byte("IMPORT"))
	golden := "testdata/ok/bindings.gen.go.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("bindings.gen.go differs from %s (go test -run TestGenerateCompiles -update):\n%s", golden, got)
	}
	for _, f := range []string{"gateway/gateway.gen.go", "shop/shop.gen.go", "upstreams/upstreams.gen.go", "bindings/bindings.gen.go"} {
		src, err := os.ReadFile(filepath.Join(gen, f))
		if err != nil {
			t.Fatal(err)
		}
		if !generated(src) {
			t.Errorf("%s: no \"// Code generated ... DO NOT EDIT.\" line", f)
		}
	}
	if out, ok := vet(t, filepath.Join(gen, "bindings")); !ok {
		t.Fatalf("the generated glue does not compile:\n%s", out)
	}

	// The glue at work: each bound method against a recording upstream and a real binding.Set.
	glue, err := os.ReadFile("testdata/ok/glue_test.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	glue = bytes.ReplaceAll(glue, []byte("IMPORT"), []byte(importPath))
	if err := os.WriteFile(filepath.Join(gen, "bindings", "glue_test.go"), glue, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "test", "-count=1", "./"+filepath.ToSlash(filepath.Join(gen, "bindings"))).CombinedOutput(); err != nil {
		t.Fatalf("the generated glue at work:\n%s", out)
	}

	// Deterministic: a second run changes nothing.
	before, _ := os.ReadFile(filepath.Join(gen, "shop", "shop.gen.go"))
	if err := Run(Target{API: "testdata/ok/api", Gen: gen, ImportPath: importPath + "/gen", Gateway: true}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(gen, "shop", "shop.gen.go"))
	if !bytes.Equal(before, after) {
		t.Error("a second run changed shop.gen.go")
	}
}

// TestTypeMismatchDoesNotCompile: a public integer parameter mapped onto an upstream string
// parameter generates, and the compiler names the mismatch.
func TestTypeMismatchDoesNotCompile(t *testing.T) {
	files := archive(t, "testdata/mismatch.txt")
	dir, importPath := moduleDir(t)
	extract(t, files, dir)
	gen := filepath.Join(dir, "gen")
	if err := Run(Target{API: filepath.Join(dir, "api"), Gen: gen, ImportPath: importPath + "/gen", Gateway: true}); err != nil {
		t.Fatal(err)
	}
	out, ok := vet(t, filepath.Join(gen, "bindings"))
	want := strings.TrimSpace(files["want"])
	if ok || !strings.Contains(out, want) {
		t.Fatalf("go vet: ok=%v, want an error containing %q, got:\n%s", ok, want, out)
	}
}

// TestBindingErrors: one case per rule in testdata/fail (a public and an upstream contract,
// and the message); nothing is written.
func TestBindingErrors(t *testing.T) {
	cases, err := filepath.Glob("testdata/fail/*.txt")
	if err != nil || len(cases) == 0 {
		t.Fatal("no cases", err)
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(c), ".txt"), func(t *testing.T) {
			files := archive(t, c)
			dir := t.TempDir()
			extract(t, files, dir)
			gen := filepath.Join(dir, "gen")
			err := Run(Target{API: filepath.Join(dir, "api"), Gen: gen, ImportPath: "example.com/gen"})
			want := strings.TrimSpace(files["want"])
			if err == nil || err.Error() != want {
				t.Fatalf("got error\n%v\nwant\n%s", err, want)
			}
			if _, err := os.Stat(gen); !os.IsNotExist(err) {
				t.Errorf("%s written despite the error", gen)
			}
		})
	}
}

func TestUpstreamNames(t *testing.T) {
	for _, tc := range []struct {
		desc, file, want string
	}{
		{"upper case", "Shop.yaml", `Shop.yaml: upstream name "Shop" is not a lower-case Go package identifier`},
		{"dash", "my-shop.yaml", `my-shop.yaml: upstream name "my-shop" is not a lower-case Go package identifier`},
		{"keyword", "type.yaml", `type.yaml: upstream name "type" is not a lower-case Go package identifier`},
		{"reserved", "gateway.yaml", `gateway.yaml: upstream name "gateway" is reserved`},
		{"reserved by the glue", "binding.yaml", `binding.yaml: upstream name "binding" is reserved`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Upstreams(dir)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tc.want)) {
				t.Fatalf("got %v, want %s", err, filepath.Join(dir, tc.want))
			}
		})
	}
}

// TestRemoveStale: the directory of an upstream whose file is gone goes; directories the
// generator does not own stay.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	api, gen := filepath.Join(dir, "api"), filepath.Join(dir, "gen")
	files := map[string]string{
		"api/openapi.yaml":                 "openapi: 3.0.3\ninfo: { title: t, version: 1.0.0 }\npaths: {}\n",
		"gen/old/old.gen.go":               "// Code generated by test. DO NOT EDIT.\n\npackage old\n",
		"gen/mixed/mixed.gen.go":           "// Code generated by test. DO NOT EDIT.\n\npackage mixed\n",
		"gen/mixed/extra.go":               "package mixed\n",
		"gen/hand/hand.gen.go":             "package hand\n",
		"gen/gateway/gateway.gen.go":       "// Code generated by test. DO NOT EDIT.\n\npackage gateway\n",
		"gen/typescript/typescript.gen.go": "// Code generated by test. DO NOT EDIT.\n\npackage typescript\n",
	}
	extract(t, files, dir)
	if err := Run(Target{API: api, Gen: gen, ImportPath: "example.com/gen"}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"old"} {
		if _, err := os.Stat(filepath.Join(gen, d)); !os.IsNotExist(err) {
			t.Errorf("gen/%s: not removed", d)
		}
	}
	for _, d := range []string{"mixed", "hand", "gateway", "typescript", "upstreams", "bindings"} {
		if _, err := os.Stat(filepath.Join(gen, d)); err != nil {
			t.Errorf("gen/%s: %v", d, err)
		}
	}
}

// stockConfig generates only the client and models of package name with oapi-codegen's own
// templates: the reference templates/client.tmpl is compared with.
func stockConfig(name string) string {
	return "package: " + name + `
generate:
  client: true
  models: true
`
}

// TestRequestBuildersMatchStock generates testdata/reqbuild/api.yaml twice, as package stock
// with oapi-codegen's own client template and as package lean with templates/client.tmpl (the
// upstream configuration), and runs compare_test.go.txt over both: every operation built for
// tricky servers and parameter values (a '/', '%', spaces, unicode, dot segments; base URLs with
// and without a path and a trailing slash) gives the same request, through NewXxxRequest and
// through a Client; and fast_test.go.txt in lean: the prefix way is taken where it should be.
func TestRequestBuildersMatchStock(t *testing.T) {
	dir, importPath := moduleDir(t)
	const spec = "testdata/reqbuild/api.yaml"
	leanCfg, err := upstreamConfig("lean")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for pkg, cfg := range map[string]string{"stock": stockConfig("stock"), "lean": leanCfg} {
		src, err := oapiCodegen(spec, cfg)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Join(pkg, pkg+".gen.go")] = string(src)
	}
	for name, from := range map[string]string{"compare/compare_test.go": "compare_test.go.txt", "lean/fast_test.go": "fast_test.go.txt"} {
		src, err := os.ReadFile(filepath.Join("testdata/reqbuild", from))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = strings.ReplaceAll(string(src), "IMPORT", importPath)
	}
	extract(t, files, dir)
	args := []string{"test", "-count=1"}
	if *reqBench != "" {
		args = append(args, "-v", "-bench", *reqBench, "-benchmem", "-count=5")
	}
	args = append(args, "./"+filepath.ToSlash(filepath.Join(dir, "compare")), "./"+filepath.ToSlash(filepath.Join(dir, "lean")))
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s:\n%s", strings.Join(args, " "), out)
	}
	if *reqBench != "" {
		t.Logf("%s", out)
	}
}
