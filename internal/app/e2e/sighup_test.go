package e2e_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contractgate/contractgate/internal/app"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// TestSIGHUPReloads runs the built gateway (cmd/contractgate, serving the storefront) as a
// child process (upstreams mocked, so nothing else runs) on a configuration file, adds an API
// key and rotates the JWT HMAC key in the file, sends the child SIGHUP, and sees the new key
// and the new signing key work at once and the old signing key refused; SIGTERM then stops it
// cleanly. It is the storefront's (its operations, scopes and dev tokens): the engine's own
// reload tests run on its fixture app (internal/engine/server).
func TestSIGHUPReloads(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "contractgate")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/contractgate/contractgate/cmd/contractgate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cfg, err := config.Parse(app.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Addr, cfg.Server.DrainDelay = "127.0.0.1:0", 10*time.Millisecond
	watch := false // SIGHUP alone
	cfg.Server.WatchConfig = &watch
	for name, u := range cfg.Upstreams {
		u.BaseURL, u.Mock = "", true
		cfg.Upstreams[name] = u
	}
	path := filepath.Join(dir, "gateway.yaml")
	write := func() {
		b, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write()

	cmd := exec.CommandContext(ctx, bin, "serve", "--config", path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no CONTRACTGATE_* nor OTEL_* of the host
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan map[string]any, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
	}()
	await := func(msg string) map[string]any {
		t.Helper()
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatalf("the gateway exited before logging %q", msg)
				}
				if m["msg"] == msg {
					return m
				}
			case <-ctx.Done():
				t.Fatalf("no %q logged", msg)
			}
		}
	}
	base := "http://" + await("gateway listening")["addr"].(string)

	const key = "test-key-zed-0123456789abcdef"
	status := func(header, value string) int {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/orders", nil)
		req.Header.Set(header, value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	token := func() string {
		t.Helper()
		a := cfg.Auth
		a.SetDefaults()
		tok, err := auth.IssueDevToken(a, "alice", []string{"orders:read"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	oldToken := token()
	rotated := cfg.Auth.JWT.HMACKeys
	rotated[0] = auth.HMACKey{KID: "rotated", Secret: "a-rotated-secret-of-at-least-32-bytes-0001"}
	cfg.Auth.JWT.HMACKeys = rotated
	newToken := token()
	if s := status("X-API-Key", key); s != 401 {
		t.Fatalf("an unknown key: status %d, want 401", s)
	}
	if s := status("Authorization", newToken); s != 401 {
		t.Fatalf("a token of an unknown signing key: status %d, want 401", s)
	}
	if s := status("Authorization", oldToken); s == 401 {
		t.Fatal("a token of the running signing key answers 401")
	}
	sum := sha256.Sum256([]byte(key))
	cfg.Auth.APIKeys = append(cfg.Auth.APIKeys, auth.APIKey{ID: "test-zed", Owner: "zed", SHA256: hex.EncodeToString(sum[:]), Scopes: []string{"orders:read"}})
	write()
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if m := await("config reloaded"); !strings.Contains(strings.Join(toStrings(m["changed"]), ","), "auth") {
		t.Fatalf("reload log %v, want changed [auth]", m)
	}
	if s := status("X-API-Key", key); s == 401 {
		t.Fatal("the key added by the reload answers 401")
	}
	if s := status("Authorization", newToken); s == 401 {
		t.Fatal("a token of the signing key added by the reload answers 401")
	}
	if s := status("Authorization", oldToken); s != 401 {
		t.Fatalf("a token of the signing key removed by the reload: status %d, want 401", s)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	await("stopped")
	for range lines { // read to the end before Wait
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the gateway's exit: %v", err)
	}
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			out = append(out, e.(string))
		}
	}
	return out
}
