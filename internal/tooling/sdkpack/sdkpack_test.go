package sdkpack_test

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/tooling/changelog"
	"github.com/contractgate/contractgate/internal/tooling/sdkpack"
	"github.com/contractgate/contractgate/internal/tooling/sdkpack/sdkconsumer"
)

// TestDefaults: the packages' names follow the contract's title, and the Go module path gets
// the /vN suffix Go requires from version 2 on.
func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		title, version               string
		goModule, goPackage, npmName string
		explicitModule               string
	}{
		{"Storefront API", "2.0.0", "example.com/gw/sdk/go/storefront/v2", "storefront", "@contractgate/storefront-sdk", ""},
		{"Acme Shop API", "0.1.0", "example.com/gw/sdk/go/acmeshop", "acmeshop", "@contractgate/acme-shop-sdk", ""},
		{"Acme", "1.2.3", "example.com/gw/sdk/go/acme", "acme", "@contractgate/acme-sdk", ""},
		{"42 API", "3.0.0", "example.com/gw/sdk/go/api42/v3", "api42", "@contractgate/api-42-sdk", ""},
		{"Acme API", "3.1.0", "example.org/acme-go/v3", "acme", "@contractgate/acme-sdk", "example.org/acme-go"},
		{"Acme API", "3.1.0", "example.org/acme-go/v3", "acme", "@contractgate/acme-sdk", "example.org/acme-go/v3"},
	} {
		t.Run(tc.title+"@"+tc.version, func(t *testing.T) {
			root := t.TempDir()
			write(t, filepath.Join(root, "go.mod"), "module example.com/gw\n")
			write(t, filepath.Join(root, "gen", "openapi.bundled.yaml"), "openapi: 3.1.0\ninfo:\n  title: "+tc.title+"\n  version: "+tc.version+"\npaths: {}\n")
			cfg := sdkpack.Config{Root: root, GoModule: tc.explicitModule}
			if err := cfg.SetDefaults(); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if cfg.GoModule != tc.goModule || cfg.GoPackage != tc.goPackage || cfg.NPMName != tc.npmName {
				t.Errorf("got module %s, package %s, npm %s; want %s, %s, %s", cfg.GoModule, cfg.GoPackage, cfg.NPMName, tc.goModule, tc.goPackage, tc.npmName)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  sdkpack.Config
		want string
	}{
		{"go package", sdkpack.Config{GoPackage: "Store-front", GoModule: "example.com/x", NPMName: "x"}, "GoPackage"},
		{"go module", sdkpack.Config{GoPackage: "x", GoModule: "example.com/x y", NPMName: "x"}, "GoModule"},
		{"npm name", sdkpack.Config{GoPackage: "x", GoModule: "example.com/x", NPMName: "@Acme/SDK"}, "NPMName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPackages builds both SDKs of this repository's contract (whichever app it is) and
// installs them as a client team would, outside the repository: the Go SDK's version is the
// contract's, its dependencies are the oapi-codegen runtime and the standard library only;
// the npm package installs with openapi-fetch as its one dependency, loads under plain node,
// and its types accept a right call and refuse a wrong one.
func TestPackages(t *testing.T) {
	r := sdkconsumer.Build(t)
	contract, err := os.ReadFile(filepath.Join(sdkconsumer.Root(t), "gen", "openapi.bundled.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := changelog.ReadInfo(contract)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != info.Version {
		t.Fatalf("packages are version %s, the contract %s", r.Version, info.Version)
	}
	t.Run("go module zip", func(t *testing.T) { checkZip(t, r) })
	t.Run("go consumer", func(t *testing.T) { checkGoConsumer(t, r) })
	t.Run("npm consumer", func(t *testing.T) { checkNPMConsumer(t, r) })
}

func checkZip(t *testing.T, r *sdkpack.Result) {
	z, err := zip.OpenReader(r.GoZip)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	prefix := r.GoModule + "@" + r.GoVersion + "/"
	for _, f := range z.File {
		names = append(names, strings.TrimPrefix(f.Name, prefix))
		if f.Name == prefix+"VERSION" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 64)
			n, _ := rc.Read(b)
			_ = rc.Close()
			if got := strings.TrimSpace(string(b[:n])); got != r.Version {
				t.Errorf("VERSION says %q, want %q", got, r.Version)
			}
		}
	}
	for _, want := range []string{"go.mod", "go.sum", "VERSION", "version.go", "README.md", "CHANGELOG.md"} {
		if !slices.Contains(names, want) {
			t.Errorf("the module zip lacks %s (it has %v)", want, names)
		}
	}
}

// allowedGoDeps are the only modules the Go SDK may bring into a client's build.
var allowedGoDeps = []string{"github.com/oapi-codegen/runtime", "github.com/google/uuid", "github.com/apapsch/go-jsonmerge/v2"}

func checkGoConsumer(t *testing.T, r *sdkpack.Result) {
	p := sdkconsumer.NewGoProject(t, r, map[string]string{"main.go": `package main

import (
	"fmt"
	"os"

	sdk "` + r.GoModule + `"
)

func main() {
	if _, err := sdk.NewClientWithResponses("http://127.0.0.1:1"); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("sdk version", sdk.Version)
}
`})
	out, code := p.Go(t, "run", ".")
	if code != 0 || strings.TrimSpace(out) != "sdk version "+r.Version {
		t.Errorf("go run exited %d with %q, want \"sdk version %s\"", code, out, r.Version)
	}
	out, code = p.Go(t, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	if code != 0 {
		t.Fatalf("go list -deps exited %d:\n%s", code, out)
	}
	for _, pkg := range strings.Fields(out) {
		ok := pkg == "example.com/consumer" || pkg == r.GoModule
		for _, m := range allowedGoDeps {
			ok = ok || pkg == m || strings.HasPrefix(pkg, m+"/")
		}
		if !ok {
			t.Errorf("the Go SDK brings %s into a client's build; allowed: the runtime %v and the standard library", pkg, allowedGoDeps)
		}
	}
	// The modules in the build (go list -m all would also want the metadata of modules only
	// the runtime's own tests use, which an offline module cache may lack).
	mods, _ := p.Go(t, "list", "-deps", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}", ".")
	lines := strings.Split(strings.TrimSpace(mods), "\n")
	slices.Sort(lines)
	t.Logf("modules in the consumer's build:\n%s", strings.Join(slices.Compact(lines), "\n"))
}

func checkNPMConsumer(t *testing.T, r *sdkpack.Result) {
	p := sdkconsumer.NewNPMProject(t, r, map[string]string{
		"main.mjs": `import { createClient } from "` + r.NPMName + `";
const api = createClient({ baseUrl: "http://127.0.0.1:1" });
console.log("client", typeof api.GET, typeof api.POST);
`,
		"right.ts": `import { createClient, type ErrorEnvelope, type paths } from "` + r.NPMName + `";
const api = createClient({ baseUrl: "http://127.0.0.1:1" });
export type Paths = keyof paths;
export function code(e: ErrorEnvelope): string { return e.error.code; }
export const client = api;
`,
		"wrong.ts": `import { createClient } from "` + r.NPMName + `";
const api = createClient({ baseUrl: "http://127.0.0.1:1" });
export const res = api.GET("/no/such/path/in/the/contract", {});
`,
	})
	out, code := p.Node(t, "main.mjs")
	if code != 0 || strings.TrimSpace(out) != "client function function" {
		t.Errorf("node main.mjs exited %d with %q, want \"client function function\"", code, out)
	}
	if out, code := p.TypeCheck(t, "right.ts"); code != 0 {
		t.Errorf("tsc --noEmit right.ts exited %d, want 0:\n%s", code, out)
	}
	out, code = p.TypeCheck(t, "wrong.ts")
	if code == 0 || !strings.Contains(out, `"/no/such/path/in/the/contract"`) {
		t.Errorf("tsc --noEmit wrong.ts exited %d, want a type error naming the unknown path:\n%s", code, out)
	}

	pkgDir := filepath.Join(p.Dir, "node_modules", filepath.FromSlash(r.NPMName))
	b, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg map[string]any
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if _, private := pkg["private"]; private || pkg["version"] != r.Version || pkg["name"] != r.NPMName {
		t.Errorf("package.json: private=%v version=%v name=%v; want no private, %s, %s", pkg["private"], pkg["version"], pkg["name"], r.Version, r.NPMName)
	}
	if deps, _ := pkg["dependencies"].(map[string]any); len(deps) != 1 || deps["openapi-fetch"] == nil {
		t.Errorf("dependencies: %v, want openapi-fetch only", pkg["dependencies"])
	}
	for _, f := range []string{"README.md", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts", "dist/schema.d.ts"} {
		if _, err := os.Stat(filepath.Join(pkgDir, f)); err != nil {
			t.Errorf("the installed package lacks %s", f)
		}
	}
	ls, _ := sdkconsumer.Run(t, p.Dir, nil, "npm", "ls", "--all")
	t.Logf("npm ls --all in the consumer:\n%s", ls)
	for _, unwanted := range []string{"typescript@", "openapi-typescript@", "tsx@"} {
		if strings.Contains(ls, unwanted) {
			t.Errorf("installing the SDK brings %s into a client's project", unwanted)
		}
	}
}
