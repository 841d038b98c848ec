// Package configwatch tells when the content of a configuration file changes: it watches the
// file's folder (fsnotify), so that an editor's atomic rename and a Kubernetes ConfigMap update
// (a symlink swapped in the folder, the file itself never written) are seen as well as a write
// in place, gathers a burst of events into one check, and reports a change only when the
// file's content differs from what it last saw.
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

	last [sha256.Size]byte // the content's digest last reported (or at New)
}

// New watches path: after the events of its folder have been quiet for debounce, the file is
// read and, when its content changed, Changes delivers one value. Close stops it.
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
	for {
		select {
		case <-w.done:
			return
		case _, ok := <-w.fs.Events:
			if !ok {
				return
			}
			// Any event in the folder: the file may be a symlink into a folder swapped
			// under it. The content decides, once the burst is over.
			quiet.Reset(w.debounce)
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.report(err)
		case <-quiet.C:
			w.check()
		}
	}
}

// check reports a change when the file's content differs from the last seen.
func (w *Watcher) check() {
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
