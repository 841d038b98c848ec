package logging

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	n  int // write calls
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return l.b.Write(p)
}

func (l *lockedBuffer) snapshot() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.n
}

func TestBufferedBatchesAndFlushes(t *testing.T) {
	var out lockedBuffer
	b := NewBuffered(&out)
	for range 100 {
		if _, err := b.Write([]byte("line\n")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, n := out.snapshot()
		if strings.Count(s, "line\n") == 100 {
			if n > 5 {
				t.Fatalf("%d write calls for 100 lines: not batched", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lines not flushed within %s: %d", 2*time.Second, strings.Count(s, "line\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := b.Write([]byte("last\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := out.snapshot(); !strings.HasSuffix(s, "last\n") {
		t.Fatal("Close did not flush")
	}
}
