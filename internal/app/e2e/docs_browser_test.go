package e2e_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/docs"
)

// TestDocsInBrowser opens /docs of the assembled gateway (real demo upstreams) in headless
// Chromium and uses it as a reader would: web/docs/browser-test.mjs checks that every
// operation is listed and that "Try it out" works, anonymously and with a bearer token from
// the Authorize dialog. It needs Debian's chromium and `npm ci` in web/docs; without them the
// test skips, except in CI (CI=true), where it fails. The screenshot goes to
// $CONTRACTGATE_ARTIFACTS (or a temporary directory), and its path is logged.
func TestDocsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	webDocs, err := filepath.Abs(filepath.Join("..", "..", "..", "web", "docs"))
	if err != nil {
		t.Fatal(err)
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, nodeErr := exec.LookPath("node")
	var lacks []string
	if nodeErr != nil {
		lacks = append(lacks, "node (Debian: apt-get install nodejs)")
	}
	if _, err := os.Stat(chromium); err != nil {
		lacks = append(lacks, chromium+" (Debian: apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(webDocs, "node_modules", "playwright-core")); err != nil {
		lacks = append(lacks, "web/docs/node_modules (run: npm ci --ignore-scripts in web/docs)")
	}
	if len(lacks) > 0 {
		msg := "the browser test needs " + strings.Join(lacks, ", ")
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	env := testenv.Start(t)
	base := env.URL
	if res := env.Do(t, http.MethodGet, docs.Path, ""); res.Status != http.StatusOK {
		t.Fatalf("the gateway does not serve %s: %d", docs.Path, res.Status)
	}

	token, err := auth.IssueDevToken(env.Config.Auth, "alice", []string{"orders:read"}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CONTRACTGATE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot, err := filepath.Abs(filepath.Join(dir, "docs-in-browser.png"))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(webDocs, "browser-test.mjs"), base, shot)
	cmd.Dir = webDocs
	cmd.Env = append(os.Environ(), "DOCS_TEST_BEARER_TOKEN="+token, "CHROMIUM="+chromium)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node browser-test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test: %v", err)
	}
	t.Logf("screenshot: %s", shot)
}
