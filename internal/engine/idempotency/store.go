package idempotency

import (
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
// use. Neither ever drops a live record to make room: when full, they refuse new claims.
type store interface {
	// claim atomically creates the in-flight record r for key, owned by the caller scope,
	// expiring after lease, unless key holds a live record: it returns that record, or nil
	// when r was created (the caller now owns the claim). A store with no room for r returns
	// a *fullError.
	claim(ctx context.Context, scope, key string, r *record, lease time.Duration) (*record, error)
	// finish ends the claim of token on key: final != nil (carrying the same token) stores
	// it for ttl, nil deletes the claim. It stores final also when the lease ran out and
	// nobody claimed key since, and returns errClaimLost when another request holds key.
	// Storing never fails for want of room: the claim held the room.
	finish(ctx context.Context, scope, key, token string, final *record, ttl time.Duration) error
	io.Closer
}

// errClaimLost: the lease expired and another request claimed the key meanwhile.
var errClaimLost = errors.New("idempotency: claim lost: the lease expired and another request claimed the key")

// fullError: the store has no room for a new claim, either for this caller (its quota of
// records or bytes) or at all (the store's bound, or Redis out of memory). Live records
// are never evicted to make room.
type fullError struct {
	// caller is true when the caller's own quota is full (429), false when the store is (503).
	caller bool
	// retryAfter is when room may come back (the oldest record concerned expires); 0 unknown.
	retryAfter time.Duration
	// cause is the store's error, if any (Redis's OOM answer).
	cause error
}

func (e *fullError) Error() string {
	who := "the store is full"
	if e.caller {
		who = "the caller's quota is full"
	}
	if e.cause != nil {
		return "idempotency: " + who + ": " + e.cause.Error()
	}
	return "idempotency: " + who
}

func (e *fullError) Unwrap() error { return e.cause }

// memoryStore is the in-memory store: a map bounded to max entries and maxBytes, and per
// caller scope to perEntries and perBytes. In-flight claims and stored responses sit in
// lists in expiry order (lease and TTL are fixed per store), globally and per scope, so that
// sweeping expired entries is O(1) per entry and the time until room comes back is known.
type memoryStore struct {
	max        int
	maxBytes   int64
	perEntries int
	perBytes   int64
	bytes      int64 // approximate size of every record held
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once

	mu       sync.Mutex
	entries  map[string]*memEntry
	scopes   map[string]*memScope
	inflight entryList // Done false
	stored   entryList // Done true
}

// memScope is what one caller scope holds.
type memScope struct {
	key      string
	entries  int
	bytes    int64
	inflight entryList // Done false
	stored   entryList // Done true
}

type memEntry struct {
	key     string
	scope   *memScope
	rec     *record
	expires time.Time
	links   [2]link // in the store's list (inStore) and in its scope's (inScope)
	size    int64
}

// The lists an entry is in, indexing memEntry.links.
const (
	inStore = iota
	inScope
)

// link is an entry's place in one list.
type link struct{ prev, next *memEntry }

// entryList is a list of entries in expiry order, threaded through the entries themselves
// (memEntry.links[at]): adding an entry allocates nothing. An entry is in at most one list of
// the store and one of its scope.
type entryList struct {
	front, back *memEntry
	n           int
	at          int // inStore or inScope
}

func (l *entryList) Front() *memEntry { return l.front }
func (l *entryList) Len() int         { return l.n }

func (l *entryList) pushBack(e *memEntry) {
	lk := &e.links[l.at]
	lk.prev, lk.next = l.back, nil
	if l.back != nil {
		l.back.links[l.at].next = e
	} else {
		l.front = e
	}
	l.back = e
	l.n++
}

func (l *entryList) remove(e *memEntry) {
	lk := &e.links[l.at]
	if lk.prev != nil {
		lk.prev.links[l.at].next = lk.next
	} else {
		l.front = lk.next
	}
	if lk.next != nil {
		lk.next.links[l.at].prev = lk.prev
	} else {
		l.back = lk.prev
	}
	lk.prev, lk.next = nil, nil
	l.n--
}

// entryOverhead approximates the bookkeeping of one entry (map slot, entry and its links, record).
const entryOverhead = 320

// sizeOf approximates the memory a record holds.
func sizeOf(key string, r *record) int64 {
	n := int64(entryOverhead + len(key) + len(r.Fingerprint) + len(r.token) + len(r.Body) + len(r.Code))
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

func newMemoryStore(cfg Config) *memoryStore {
	s := &memoryStore{max: cfg.MaxEntries, maxBytes: cfg.MaxBytes,
		perEntries: cfg.MaxEntriesPerCaller, perBytes: cfg.MaxBytesPerCaller,
		entries: map[string]*memEntry{}, scopes: map[string]*memScope{},
		inflight: entryList{at: inStore}, stored: entryList{at: inStore},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.sweepEvery(memorySweepInterval)
	return s
}

func (s *memoryStore) claim(_ context.Context, scope, key string, r *record, lease time.Duration) (*record, error) {
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
	size := sizeOf(key, r)
	sc := s.scopes[scope]
	if sc != nil && s.overQuota(sc, size) && scope != anonymousScope {
		// An authenticated caller over its quota makes room among its own stored records,
		// oldest first: its traffic costs no other caller a record, and a busy caller is not
		// refused for a whole TTL. The anonymous scope, shared by every anonymous caller,
		// evicts nothing (one anonymous client must not drop another's records).
		for f := sc.stored.Front(); f != nil && s.overQuota(sc, size); f = sc.stored.Front() {
			s.removeLocked(f)
		}
		sc = s.scopes[scope] // nil once its last record went
	}
	if sc != nil && s.overQuota(sc, size) {
		return nil, &fullError{caller: true, retryAfter: nextExpiry(now, &sc.inflight, &sc.stored)}
	}
	if len(s.entries) >= s.max || s.bytes+size > s.maxBytes {
		return nil, &fullError{retryAfter: nextExpiry(now, &s.inflight, &s.stored)}
	}
	s.insertLocked(scope, key, r, now.Add(lease), nil)
	return nil, nil
}

func (s *memoryStore) finish(_ context.Context, scope, key, token string, final *record, ttl time.Duration) error {
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
	if !ok {
		e = nil
	}
	// No bound is checked here: the claim was admitted within them, and refusing to store
	// the final response now would let a retry run the operation again. A response larger
	// than the claim overshoots the bounds by its size until it expires; new claims are
	// refused meanwhile.
	s.insertLocked(scope, key, final, now.Add(ttl), e)
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
	for _, l := range [...]*entryList{&s.inflight, &s.stored} {
		for e := l.Front(); e != nil && !now.Before(e.expires); e = l.Front() {
			s.removeLocked(e)
		}
	}
}

// overQuota reports whether one more record of size bytes would pass sc's quota.
func (s *memoryStore) overQuota(sc *memScope, size int64) bool {
	return sc.entries >= s.perEntries || sc.bytes+size > s.perBytes
}

// nextExpiry returns how long until the first entry of either list expires (both are in
// expiry order), at least a second; 0 when both are empty.
func nextExpiry(now time.Time, lists ...*entryList) time.Duration {
	var first time.Time
	for _, l := range lists {
		if f := l.Front(); f != nil {
			if exp := f.expires; first.IsZero() || exp.Before(first) {
				first = exp
			}
		}
	}
	if first.IsZero() {
		return 0
	}
	return max(first.Sub(now), time.Second)
}

// insertLocked adds the entry of key; reuse, when not nil, is a removed entry whose memory
// the new one takes (a claim replaced by its final answer).
func (s *memoryStore) insertLocked(scope, key string, r *record, expires time.Time, reuse *memEntry) {
	sc := s.scopes[scope]
	if sc == nil {
		sc = &memScope{key: scope, inflight: entryList{at: inScope}, stored: entryList{at: inScope}}
		s.scopes[scope] = sc
	}
	e := reuse
	if e == nil {
		e = new(memEntry)
	}
	*e = memEntry{key: key, scope: sc, rec: r, expires: expires, size: sizeOf(key, r)}
	s.bytes += e.size
	sc.bytes += e.size
	sc.entries++
	if r.Done {
		s.stored.pushBack(e)
		sc.stored.pushBack(e)
	} else {
		s.inflight.pushBack(e)
		sc.inflight.pushBack(e)
	}
	s.entries[key] = e
}

func (s *memoryStore) removeLocked(e *memEntry) {
	sc := e.scope
	if e.rec.Done {
		s.stored.remove(e)
		sc.stored.remove(e)
	} else {
		s.inflight.remove(e)
		sc.inflight.remove(e)
	}
	delete(s.entries, e.key)
	s.bytes -= e.size
	sc.bytes -= e.size
	if sc.entries--; sc.entries == 0 {
		delete(s.scopes, sc.key)
	}
}
