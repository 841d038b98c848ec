package deploycheck

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildah runs buildah with the storage driver scripts/image.sh uses and returns its output.
func buildah(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "buildah", append([]string{"--storage-driver", "vfs"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestImage builds the image with make image's script (deploy/Containerfile, FROM scratch),
// checks what it holds and how it runs, then starts the gateway from it and asks its health
// endpoints over loopback.
func TestImage(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("buildah is not installed (CI=true): %v", err)
		}
		t.Skip("buildah not on PATH; install Debian's buildah (CI fails instead of skipping)")
	}
	root := moduleRoot(t)
	image := fmt.Sprintf("localhost/contractgate:deploycheck-%d", os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "./scripts/image.sh")
	build.Dir = root
	build.Env = append(os.Environ(), "IMAGE="+image, "STORAGE_DRIVER=vfs")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("buildah", "--storage-driver", "vfs", "rmi", "-f", image).Run() })

	// The image's configuration: non-root, the gateway as entrypoint, serving by default.
	var inspect struct {
		OCIv1 struct {
			Config struct {
				User       string
				Entrypoint []string
				Cmd        []string
				Env        []string
			} `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(buildah(t, "inspect", "--type", "image", image)), &inspect); err != nil {
		t.Fatal(err)
	}
	oci := inspect.OCIv1.Config
	if oci.User != "65532:65532" || !slices.Equal(oci.Entrypoint, []string{"/contractgate"}) || !slices.Equal(oci.Cmd, []string{"serve"}) {
		t.Errorf("image config: user %q entrypoint %q cmd %q", oci.User, oci.Entrypoint, oci.Cmd)
	}
	if !slices.Contains(oci.Env, "CONTRACTGATE_SERVER_ADDR=0.0.0.0:8080") {
		t.Errorf("image env %q: want CONTRACTGATE_SERVER_ADDR=0.0.0.0:8080", oci.Env)
	}

	// Its files: the binary, the CA bundle, the user; no shell, nothing else.
	ctr := buildah(t, "from", "--pull-never", image)
	t.Cleanup(func() { _ = exec.Command("buildah", "--storage-driver", "vfs", "rm", ctr).Run() })
	mnt := buildah(t, "mount", ctr)
	var files []string
	err := filepath.WalkDir(mnt, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(mnt, path)
			files = append(files, "/"+rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/contractgate", "/etc/group", "/etc/passwd", "/etc/ssl/certs/ca-certificates.crt"}
	if slices.Sort(files); !slices.Equal(files, want) {
		t.Errorf("image files %q, want exactly %q (no shell)", files, want)
	}
	if passwd, _ := os.ReadFile(filepath.Join(mnt, "etc/passwd")); !strings.HasPrefix(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd: %q", passwd)
	}
	checkStatic(t, filepath.Join(mnt, "contractgate"))
	_ = exec.Command("buildah", "--storage-driver", "vfs", "umount", ctr).Run()

	// It runs: the gateway from the image with its embedded config, on loopback ports.
	runCtx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	run := exec.CommandContext(runCtx, "buildah", "--storage-driver", "vfs", "run", "--isolation", "chroot",
		"--env", "CONTRACTGATE_SERVER_ADDR=127.0.0.1:0", "--env", "CONTRACTGATE_ADMIN_ADDR=127.0.0.1:0",
		ctr, "--", "/contractgate", "serve")
	// SIGTERM, not SIGKILL: buildah then stops the process it runs in the container.
	run.Cancel = func() error { return run.Process.Signal(syscall.SIGTERM) }
	run.WaitDelay = 10 * time.Second
	stdout, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	run.Stderr = run.Stdout
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); _ = run.Wait() })
	addrs := map[string]string{} // log message -> addr
	sc := bufio.NewScanner(stdout)
	for len(addrs) < 2 && sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasSuffix(line.Msg, "listening") {
			addrs[line.Msg] = line.Addr
		}
		t.Log(sc.Text())
	}
	if len(addrs) < 2 {
		t.Fatalf("the gateway in the image did not report both listeners (got %v): %v", addrs, sc.Err())
	}
	go func() { // keep reading: a full pipe would block the gateway's logger
		for sc.Scan() {
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, u := range []string{
		"http://" + addrs["admin listening"] + "/healthz",
		"http://" + addrs["admin listening"] + "/readyz",
		"http://" + addrs["gateway listening"] + "/readyz",
	} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		}
	}
}

// checkStatic fails unless the binary at path is a static executable built with
// CGO_ENABLED=0 and -trimpath.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: dynamically linked (program header %s)", path, p.Type)
		}
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("%s: built with CGO_ENABLED=%q -trimpath=%q, want 0 and true", path, settings["CGO_ENABLED"], settings["-trimpath"])
	}
}
