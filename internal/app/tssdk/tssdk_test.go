// Package tssdk tests the TypeScript SDK from outside: the generated client (gen/typescript)
// type-checks with the pinned TypeScript, regenerating it reproduces the committed files byte
// for byte, and the example (sdk/typescript/examples/storefront.ts) runs against a live
// gateway with real demo upstreams.
//
// It needs Node.js (>= 20) and sdk/typescript/node_modules (`cd sdk/typescript && npm ci`).
// Without them the tests skip, except under CI=true, where they fail.
package tssdk

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/tooling/sdkpack/sdkconsumer"
)

// cmdTimeout bounds one node command; tsc on a loaded two-core machine takes seconds.
const cmdTimeout = 3 * time.Minute

// paths of the TypeScript SDK in the repository.
type sdkPaths struct {
	root string // repository root
	sdk  string // sdk/typescript
	gen  string // gen/typescript
}

// requireSDK returns the SDK's paths, or skips (fails under CI=true) when Node.js, npm or
// the pinned node_modules are missing.
func requireSDK(t *testing.T) sdkPaths {
	t.Helper()
	sdkconsumer.RequireNode(t, "tsc", "tsx", "openapi-typescript")
	root := sdkconsumer.Root(t)
	return sdkPaths{root: root, sdk: filepath.Join(root, "sdk", "typescript"), gen: filepath.Join(root, "gen", "typescript")}
}

// run runs name with args in dir and returns its combined output and exit code.
func run(t *testing.T, dir string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out after %s\n%s", name, strings.Join(args, " "), cmdTimeout, buf.String())
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return buf.String(), ee.ExitCode()
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, buf.String())
	}
	return buf.String(), 0
}

func TestTypeCheck(t *testing.T) {
	p := requireSDK(t)
	out, code := run(t, p.sdk, filepath.Join(p.sdk, "node_modules", ".bin", "tsc"), "--noEmit", "-p", ".")
	if code != 0 {
		t.Fatalf("tsc --noEmit -p sdk/typescript exited %d:\n%s", code, out)
	}
}

// TestGenerationReproducible regenerates the SDK into a temporary directory and compares it
// with gen/typescript. (make check's drift check catches the same thing across all of gen/;
// this says it in one test, with the file that differs.)
func TestGenerationReproducible(t *testing.T) {
	p := requireSDK(t)
	tmp := t.TempDir()
	for round := 1; round <= 2; round++ {
		dir := filepath.Join(tmp, strconv.Itoa(round))
		out, code := run(t, p.root, "bash", filepath.Join(p.root, "scripts", "gen-typescript.sh"), dir)
		if code != 0 {
			t.Fatalf("scripts/gen-typescript.sh exited %d:\n%s", code, out)
		}
		compareDirs(t, p.gen, dir)
	}
}

func compareDirs(t *testing.T, committed, fresh string) {
	t.Helper()
	names := func(dir string) map[string]bool {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, e := range entries {
			m[e.Name()] = true
		}
		return m
	}
	want, got := names(committed), names(fresh)
	for name := range got {
		if !want[name] {
			t.Errorf("generation writes %s, which gen/typescript lacks: run make generate", name)
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("gen/typescript/%s is not produced by generation: remove it or run make generate", name)
			continue
		}
		a, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(fresh, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("gen/typescript/%s differs from a fresh generation from api/openapi.yaml: run make generate", name)
		}
	}
}

// example runs the storefront example against baseURL with apiKey.
func example(t *testing.T, p sdkPaths, baseURL, apiKey string) (string, int) {
	t.Helper()
	return run(t, p.sdk, filepath.Join(p.sdk, "node_modules", ".bin", "tsx"),
		"examples/storefront.ts", "--base-url", baseURL, "--api-key", apiKey)
}

func TestExample(t *testing.T) {
	p := requireSDK(t)
	env := testenv.Start(t)
	before := env.OrdersService.Count()

	out, code := example(t, p, env.URL, testenv.AliceKey)
	if code != 0 {
		t.Fatalf("storefront example exited %d, want 0:\n%s", code, out)
	}
	t.Logf("storefront example:\n%s", out)

	for _, line := range []string{
		// the first page of the demo catalog (36 products), five per page
		`^products: page 1 of 8, 5 of 36 items, hasNext=true hasPrevious=false$`,
		`^  prd_0001  Enamel camping mug  \$\d+\.\d\d`,
		`^order created: [0-9a-f-]{36} status=pending total=\$\d+\.\d\d items=1$`,
		`^order replayed: [0-9a-f-]{36} \(Idempotent-Replayed: true\)$`,
		`^invalid order rejected: 422 VALIDATION_FAILED \(\d+ violations\)$`,
		// every violation of the invalid order, with field, keyword, message and value
		`^  body\.items\[0\]\.quantity  maximum  .+  received=500$`,
		`^  body\.items\[0\]\.productId  pattern  .+  received="not-a-product"$`,
		`^  body\.payment\.cardToken  pattern  .+$`,
		`^storefront example: ok$`,
	} {
		if !regexp.MustCompile(`(?m)` + line).MatchString(out) {
			t.Errorf("output lacks a line matching %s", line)
		}
	}

	// The order exists upstream, once: the repeat with the same key was a replay, and the
	// invalid order never got past validation.
	m := regexp.MustCompile(`(?m)^order created: ([0-9a-f-]{36}) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no order id in the output")
	}
	id, err := uuid.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := env.OrdersService.Order(id); !ok {
		t.Errorf("order %s is not in the orders upstream", id)
	}
	if n := env.OrdersService.Count(); n != before+1 {
		t.Errorf("orders upstream holds %d orders, want %d (one created, one replayed, one rejected)", n, before+1)
	}
}

// TestExampleFailsOnUnexpectedAnswers: the example is a check, not a demo that always
// passes. A wrong API key makes the order step answer 401, and the example exits 1 naming it.
func TestExampleFailsOnUnexpectedAnswers(t *testing.T) {
	p := requireSDK(t)
	env := testenv.Start(t)

	out, code := example(t, p, env.URL, "not-a-valid-key")
	if code != 1 {
		t.Fatalf("storefront example with a wrong key exited %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "unexpected: create order: HTTP 401 UNAUTHORIZED") {
		t.Errorf("output does not name the 401:\n%s", out)
	}

	// No gateway at all (a port nobody listens on): a network error, also exit 1. The port
	// is taken on a loopback address of its own, so that no other test can bind it after Close.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.%d.%d.%d:0", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254)))
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	out, code = example(t, p, closed, testenv.AliceKey)
	if code != 1 {
		t.Fatalf("storefront example without a gateway exited %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "ECONNREFUSED") {
		t.Errorf("output does not name the refused connection:\n%s", out)
	}
}
