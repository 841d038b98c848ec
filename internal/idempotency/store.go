package idempotency

import (
	"container/list"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// record is what a store keeps per key: an in-flight claim (Done false) or the final
// response. A record is never modified once handed to or returned by a store.
type record struct {
	// token identifies the request holding the claim; only it may finish the claim.
	token string
	// Fingerprint is the hex SHA-256 of the request (see fingerprint).
	Fingerprint string `json:"f"`
	// Done marks a final response; Status, Header and Body are set only then.
	Done   bool        `json:"d,omitempty"`
	Status int         `json:"s,omitempty"`
	Header http.Header `json:"h,omitempty"`
	Body   []byte      `json:"b,omitempty"`
	// Code is the error code of a stored error response (see correlation.Info.ErrorCode),
	// so that its replays are logged and counted with it; "" for a success.
	Code string `json:"c,omitempty"`
}

// store keeps records, either in memory or in Redis. Implementations are safe for concurrent
// use.
type store interface {
	// claim atomically creates the in-flight record r for key, expiring after lease, unless
	// key holds a live record: it returns that record, or nil when r was created (the caller
	// now owns the claim).
	claim(ctx context.Context, key string, r *record, lease time.Duration) (*record, error)
	// finish ends the claim of token on key: final != nil (carrying the same token) stores
	// it for ttl, nil deletes the claim. It stores final also when the lease ran out and nobody claimed key since, and
	// returns errClaimLost when another request holds key.
	finish(ctx context.Context, key, token string, final *record, ttl time.Duration) error
	io.Closer
}

var (
	// errClaimLost: the lease expired and another request claimed the key meanwhile.
	errClaimLost = errors.New("idempotency: claim lost: the lease expired and another request claimed the key")
	// errStoreFull: the memory store holds MaxEntries in-flight claims.
	errStoreFull = errors.New("idempotency: memory store is full of in-flight claims")
)

// memoryStore is the in-memory store: a map bounded to max entries. In-flight claims and
// stored responses sit in two lists in expiry order (lease and TTL are fixed per store), so
// that sweeping expired entries and evicting the oldest response are O(1) per entry.
type memoryStore struct {
	max       int
	maxBytes  int64
	bytes     int64 // approximate size of the stored responses
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	entries  map[string]*memEntry
	inflight list.List // of *memEntry, Done false
	stored   list.List // of *memEntry, Done true
}

type memEntry struct {
	key     string
	rec     *record
	expires time.Time
	elem    *list.Element
	size    int64
}

// entryOverhead approximates the bookkeeping of one entry (map slot, list element, record).
const entryOverhead = 256

// sizeOf approximates the memory a record holds.
func sizeOf(key string, r *record) int64 {
	n := int64(entryOverhead + len(key) + len(r.Fingerprint) + len(r.token) + len(r.Body))
	for k, vs := range r.Header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v))
		}
	}
	return n
}

// memorySweepInterval is how often an idle memory store frees expired entries. Claims also
// sweep, so the interval only matters for memory held while no requests arrive.
const memorySweepInterval = time.Minute

func newMemoryStore(maxEntries int, maxBytes int64) *memoryStore {
	s := &memoryStore{max: maxEntries, maxBytes: maxBytes, entries: map[string]*memEntry{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.sweepEvery(memorySweepInterval)
	return s
}

func (s *memoryStore) claim(_ context.Context, key string, r *record, lease time.Duration) (*record, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	if e, ok := s.entries[key]; ok {
		if now.Before(e.expires) {
			return e.rec, nil
		}
		s.removeLocked(e)
	}
	if err := s.makeRoomLocked(sizeOf(key, r)); err != nil {
		return nil, err
	}
	s.insertLocked(key, r, now.Add(lease))
	return nil, nil
}

func (s *memoryStore) finish(_ context.Context, key, token string, final *record, ttl time.Duration) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if ok && e.rec.token != token && now.Before(e.expires) {
		return errClaimLost
	}
	if ok {
		s.removeLocked(e)
	}
	if final == nil {
		return nil
	}
	if err := s.makeRoomLocked(sizeOf(key, final)); err != nil {
		return err
	}
	s.insertLocked(key, final, now.Add(ttl))
	return nil
}

// Close stops the background sweep. The store stays usable.
func (s *memoryStore) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *memoryStore) sweepEvery(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			s.sweepLocked(now)
			s.mu.Unlock()
		}
	}
}

// sweepLocked removes the expired entries at the front of both lists.
func (s *memoryStore) sweepLocked(now time.Time) {
	for _, l := range []*list.List{&s.inflight, &s.stored} {
		for f := l.Front(); f != nil; f = l.Front() {
			e := f.Value.(*memEntry)
			if now.Before(e.expires) {
				break
			}
			s.removeLocked(e)
		}
	}
}

// makeRoomLocked makes room for one more entry of size bytes by evicting the oldest stored
// responses while the store is at maxEntries or would pass maxBytes. In-flight claims are
// never evicted: that would let a duplicate run.
func (s *memoryStore) makeRoomLocked(size int64) error {
	for len(s.entries) >= s.max || s.bytes+size > s.maxBytes {
		f := s.stored.Front()
		if f == nil {
			if len(s.entries) >= s.max {
				return errStoreFull
			}
			return nil // only small in-flight claims remain: admit it
		}
		s.removeLocked(f.Value.(*memEntry))
	}
	return nil
}

func (s *memoryStore) insertLocked(key string, r *record, expires time.Time) {
	e := &memEntry{key: key, rec: r, expires: expires, size: sizeOf(key, r)}
	s.bytes += e.size
	if r.Done {
		e.elem = s.stored.PushBack(e)
	} else {
		e.elem = s.inflight.PushBack(e)
	}
	s.entries[key] = e
}

func (s *memoryStore) removeLocked(e *memEntry) {
	if e.rec.Done {
		s.stored.Remove(e.elem)
	} else {
		s.inflight.Remove(e.elem)
	}
	delete(s.entries, e.key)
	s.bytes -= e.size
}
