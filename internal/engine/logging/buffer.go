package logging

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// FlushInterval is how often Buffered writes out what it holds.
const FlushInterval = 100 * time.Millisecond

// Buffered batches log lines into few write calls (one per FlushInterval, or per 64 KiB)
// instead of one system call per line. Safe for concurrent use. Close flushes and stops it.
type Buffered struct {
	mu   sync.Mutex
	w    *bufio.Writer
	done chan struct{}
	wg   sync.WaitGroup
}

// NewBuffered returns a Buffered writing to w.
func NewBuffered(w io.Writer) *Buffered {
	b := &Buffered{w: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{})}
	b.wg.Add(1)
	go b.loop()
	return b
}

func (b *Buffered) loop() {
	defer b.wg.Done()
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = b.Flush()
		case <-b.done:
			return
		}
	}
}

// Write buffers p (one log line).
func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out what is buffered.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the background flushes and flushes what is left.
func (b *Buffered) Close() error {
	close(b.done)
	b.wg.Wait()
	return b.Flush()
}
