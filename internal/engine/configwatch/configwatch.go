// Package configwatch tells when the content of a configuration file changes: it watches the
// file's folder (fsnotify), so that an editor's atomic rename and a Kubernetes ConfigMap update
// (a symlink swapped in the folder, the file itself never written) are seen as well as a write
// in place, gathers a burst of events into one check, and reports a change only when the
// file's content differs from what it last saw. Writes to the folder's other files (an access
// log next to the configuration) are not events of the file: they neither cause a check nor
// put one off.
package configwatch

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher watches one file. Safe for concurrent use.
type Watcher struct {
	path     string
	debounce time.Duration
	fs       *fsnotify.Watcher
	changes  chan struct{}
	errs     chan error
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	last  [sha256.Size]byte // the content's digest last reported (or at New)
	names map[string]bool   // the folder's entries whose writes are the file's: see own
}

// maxDelay bounds how long events that keep coming put off a check, in debounces.
const maxDelay = 10

// New watches path: once the events that may have changed it (see own) have been quiet for
// debounce, or have kept coming for maxDelay debounces, the file is read and, when its content
// changed, Changes delivers one value. Close stops it.
func New(path string, debounce time.Duration) (*Watcher, error) {
	if path == "" {
		return nil, errors.New("configwatch: no file to watch")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("configwatch: %w", err)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("configwatch: %w", err)
	}
	if err := fw.Add(filepath.Dir(abs)); err != nil {
		_ = fw.Close()
		return nil, fmt.Errorf("configwatch: watching %s: %w", filepath.Dir(abs), err)
	}
	w := &Watcher{path: abs, debounce: debounce, fs: fw,
		changes: make(chan struct{}, 1), errs: make(chan error, 1), done: make(chan struct{})}
	w.last, _ = digest(abs) // unreadable now: any readable content later is a change
	w.names = ownNames(abs)
	w.wg.Add(1)
	go w.run()
	return w, nil
}

// Changes delivers a value when the file's content changed (several changes before the
// value is received are one).
func (w *Watcher) Changes() <-chan struct{} { return w.changes }

// Errors delivers what went wrong watching or reading the file (dropped when not received).
func (w *Watcher) Errors() <-chan error { return w.errs }

// Close stops watching. Safe to call twice.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		close(w.done)
		err = w.fs.Close()
		w.wg.Wait()
	})
	return err
}

func (w *Watcher) run() {
	defer w.wg.Done()
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	var first time.Time // of the events not checked yet; zero when there are none
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if !w.own(ev) {
				continue
			}
			// The content decides, once the burst is over or has lasted maxDelay debounces.
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			quiet.Reset(min(w.debounce, first.Add(maxDelay*w.debounce).Sub(now)))
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.report(err)
		case <-quiet.C:
			first = time.Time{}
			w.check()
		}
	}
}

// own tells whether ev may have changed the file's content: any entry of the folder created,
// removed or renamed (the file may be a symlink through an entry swapped, as a ConfigMap's
// ..data is), and a write to or chmod of the file itself or of the folder's entry it links to.
func (w *Watcher) own(ev fsnotify.Event) bool {
	return ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) ||
		w.names[filepath.Base(ev.Name)]
}

// ownNames is the file's name and, when it is a symlink to another entry of its folder,
// that entry's name.
func ownNames(path string) map[string]bool {
	names := map[string]bool{filepath.Base(path): true}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return names
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil && filepath.Dir(target) == dir {
		names[filepath.Base(target)] = true
	}
	return names
}

// check reports a change when the file's content differs from the last seen.
func (w *Watcher) check() {
	w.names = ownNames(w.path) // a symlink may point elsewhere now
	d, err := digest(w.path)
	if err != nil {
		// Between the removal and the rename of a replacement, say: the next event checks
		// again.
		w.report(fmt.Errorf("configwatch: %w", err))
		return
	}
	if bytes.Equal(d[:], w.last[:]) {
		return
	}
	w.last = d
	select {
	case w.changes <- struct{}{}:
	default: // one pending already
	}
}

func (w *Watcher) report(err error) {
	select {
	case w.errs <- err:
	default:
	}
}

// digest is the SHA-256 of the file's content (symlinks followed).
func digest(path string) ([sha256.Size]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}
