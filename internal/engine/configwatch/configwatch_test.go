package configwatch_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/configwatch"
)

// debounce is short: the tests wait for Changes, never for time.
const debounce = 50 * time.Millisecond

// TestChanges: every way a configuration file is replaced is one change; a write of the same
// content, and a file of the folder that is not the watched one, are none.
func TestChanges(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		change func(t *testing.T, dir, path string)
		want   bool
	}{
		{desc: "write in place", want: true, change: func(t *testing.T, _, path string) {
			must(t, os.WriteFile(path, []byte("b: 2\n"), 0o600))
		}},
		{desc: "atomic rename", want: true, change: func(t *testing.T, dir, path string) {
			tmp := filepath.Join(dir, ".gateway.yaml.swp")
			must(t, os.WriteFile(tmp, []byte("b: 2\n"), 0o600))
			must(t, os.Rename(tmp, path))
		}},
		{desc: "remove then create", want: true, change: func(t *testing.T, _, path string) {
			must(t, os.Remove(path))
			must(t, os.WriteFile(path, []byte("b: 2\n"), 0o600))
		}},
		{desc: "a burst of writes", want: true, change: func(t *testing.T, _, path string) {
			for i := range 5 {
				must(t, os.WriteFile(path, []byte{'b', ':', ' ', byte('0' + i), '\n'}, 0o600))
			}
		}},
		{desc: "same content", change: func(t *testing.T, _, path string) {
			must(t, os.WriteFile(path, []byte("a: 1\n"), 0o600))
		}},
		{desc: "another file", change: func(t *testing.T, dir, _ string) {
			must(t, os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("c: 3\n"), 0o600))
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "gateway.yaml")
			must(t, os.WriteFile(path, []byte("a: 1\n"), 0o600))
			w := watch(t, path)
			tc.change(t, dir, path)
			// A marker written after the change: once it is reported, the change's
			// events have been seen too.
			checkpoint(t, w, path, tc.want)
		})
	}
}

// checkpoint asserts whether the change was reported: a change reports exactly one value;
// for none, a later change to the file proves the watcher saw the events and let them pass.
func checkpoint(t *testing.T, w *configwatch.Watcher, path string, want bool) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	if want {
		select {
		case <-w.Changes():
		case <-timeout:
			t.Fatal("no change reported within 5s")
		}
	}
	must(t, os.WriteFile(path, []byte("marker: true\n"), 0o600))
	select {
	case <-w.Changes():
	case <-timeout:
		t.Fatal("the marker's change was not reported within 5s")
	}
	select {
	case <-w.Changes():
		t.Fatal("one change more than written")
	default:
	}
}

// TestConfigMapSwap: the kubelet's update (gateway.yaml -> ..data/gateway.yaml, ..data a
// symlink renamed over by a new one) is one change, though gateway.yaml is never written.
func TestConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "..v1"), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "..v1", "gateway.yaml"), []byte("a: 1\n"), 0o600))
	must(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	path := filepath.Join(dir, "gateway.yaml")
	must(t, os.Symlink(filepath.Join("..data", "gateway.yaml"), path))
	w := watch(t, path)

	must(t, os.Mkdir(filepath.Join(dir, "..v2"), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "..v2", "gateway.yaml"), []byte("a: 2\n"), 0o600))
	must(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(t, os.RemoveAll(filepath.Join(dir, "..v1")))
	select {
	case <-w.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("the swap was not reported within 5s")
	}
}

// TestBusyNeighbour: a file of the folder written all the time (an access log next to the
// configuration, flushed every few milliseconds) neither hides nor delays a change for long.
func TestBusyNeighbour(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	must(t, os.WriteFile(path, []byte("a: 1\n"), 0o600))
	w := watch(t, path)
	log, err := os.Create(filepath.Join(dir, "access.log"))
	must(t, err)
	defer func() { _ = log.Close() }()
	defer keepWriting(func(int) { _, _ = log.WriteString(`{"msg":"request"}` + "\n") })()

	must(t, os.WriteFile(path, []byte("a: 2\n"), 0o600))
	select {
	case <-w.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("the change was not reported within 5s while another file of the folder was written")
	}
}

// TestChangesKeepComing: a file rewritten all the time is still checked, once its events have
// put the check off for ten debounces.
func TestChangesKeepComing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	must(t, os.WriteFile(path, []byte("a: 0\n"), 0o600))
	w := watch(t, path)
	defer keepWriting(func(i int) { _ = os.WriteFile(path, fmt.Appendf(nil, "a: %d\n", i+1), 0o600) })()
	select {
	case <-w.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported within 5s while the file kept changing")
	}
}

// keepWriting calls write far more often than the debounce until the function it returns is
// called.
func keepWriting(write func(i int)) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(debounce / 10)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
				write(i)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// TestSymlinkInFolder: a configuration that is a symlink to another file of its folder is
// seen changing when that file is written in place.
func TestSymlinkInFolder(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "gateway.v2.yaml")
	must(t, os.WriteFile(target, []byte("a: 1\n"), 0o600))
	path := filepath.Join(dir, "gateway.yaml")
	must(t, os.Symlink("gateway.v2.yaml", path))
	w := watch(t, path)
	must(t, os.WriteFile(target, []byte("a: 2\n"), 0o600))
	checkpoint(t, w, target, true)
}

// TestNewErrors: nothing to watch, or a folder that does not exist, is an error from New.
func TestNewErrors(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "missing", "gateway.yaml")} {
		if w, err := configwatch.New(path, debounce); err == nil {
			_ = w.Close()
			t.Errorf("New(%q) = nil error", path)
		}
	}
}

// TestCloseTwice: Close is idempotent.
func TestCloseTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	must(t, os.WriteFile(path, []byte("a: 1\n"), 0o600))
	w, err := configwatch.New(path, debounce)
	must(t, err)
	must(t, w.Close())
	_ = w.Close()
}

// watch watches path until the test ends.
func watch(t *testing.T, path string) *configwatch.Watcher {
	t.Helper()
	w, err := configwatch.New(path, debounce)
	must(t, err)
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
