package idempotency

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// memStore returns a memory store with the defaults changed by mutate.
func memStore(t *testing.T, mutate func(*Config)) *memoryStore {
	t.Helper()
	var c Config
	c.SetDefaults()
	if mutate != nil {
		mutate(&c)
	}
	s := newMemoryStore(c)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// claimAndStore claims key for scope and stores a response with a body of size bytes.
func claimAndStore(t *testing.T, s *memoryStore, scope, key string, size int) error {
	t.Helper()
	ctx := context.Background()
	tok := newToken()
	got, err := s.claim(ctx, scope, key, &record{token: tok, Fingerprint: "fp"}, time.Minute)
	if err != nil {
		return err
	}
	if got != nil {
		t.Fatalf("claim %s: found %+v", key, got)
	}
	final := &record{token: tok, Fingerprint: "fp", Done: true, Status: 201, Body: make([]byte, size)}
	if err := s.finish(ctx, scope, key, tok, final, time.Hour); err != nil {
		t.Fatalf("finish %s: %v", key, err)
	}
	return nil
}

func TestMemoryStoreNeverEvictsALiveRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		mutate     func(*Config)
		scopes     int // callers storing records, round robin
		size       int // body bytes per record
		wantCaller bool
	}{
		{"entries bound", func(c *Config) { c.MaxEntries, c.MaxEntriesPerCaller = 3, 3 }, 3, 10, false},
		{"bytes bound", func(c *Config) { c.MaxBytes, c.MaxBytesPerCaller = 1<<20, 1<<20 }, 4, 8 << 10, false},
		// Authenticated callers evict their own oldest records (TestMemoryStoreQuotaIsPerCaller);
		// the shared anonymous scope is refused.
		{"anonymous scope's entries", func(c *Config) { c.MaxEntriesPerCaller = 5 }, 1, 10, true},
		{"anonymous scope's bytes", func(c *Config) { c.MaxBytesPerCaller = 64 << 10 }, 1, 4 << 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s := memStore(t, tt.mutate)
			var stored []string
			var full *fullError
			for i := 0; i < 10_000 && full == nil; i++ {
				key, scope := fmt.Sprint("k", i), fmt.Sprint("caller", i%tt.scopes)
				if tt.wantCaller {
					scope = anonymousScope
				}
				if err := claimAndStore(t, s, scope, key, tt.size); err != nil {
					var ok bool
					if full, ok = errors.AsType[*fullError](err); !ok {
						t.Fatalf("claim %s: %v", key, err)
					}
					break
				}
				stored = append(stored, key)
			}
			if full == nil {
				t.Fatal("the store never refused a claim")
			}
			if full.caller != tt.wantCaller || full.retryAfter < 59*time.Second {
				t.Fatalf("refused with %+v, want caller=%v and Retry-After about the TTL", full, tt.wantCaller)
			}
			for _, key := range stored {
				if got, err := s.claim(context.Background(), "someone", key, &record{token: newToken()}, time.Minute); err != nil || got == nil || !got.Done {
					t.Fatalf("stored record %s lost: %+v, %v", key, got, err)
				}
			}
			// A response stored over a claim may overshoot the bytes by its own size.
			if s.bytes > s.maxBytes+int64(tt.size)+entryOverhead || len(s.entries) > s.max {
				t.Fatalf("%d entries, %d bytes: over the bounds", len(s.entries), s.bytes)
			}
		})
	}
}

// TestMemoryStoreQuotaIsPerCaller: one caller filling its quota refuses only that caller.
func TestMemoryStoreQuotaIsPerCaller(t *testing.T) {
	t.Parallel()
	s := memStore(t, func(c *Config) { c.MaxEntriesPerCaller = 2 })
	for i := range 2 {
		if err := claimAndStore(t, s, "mallory", fmt.Sprint("m", i), 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := claimAndStore(t, s, "alice", "a0", 10); err != nil {
		t.Fatal(err)
	}
	// Over her quota, mallory's oldest stored record makes room; alice's stays.
	if err := claimAndStore(t, s, "mallory", "m2", 10); err != nil {
		t.Fatalf("mallory's third record: %v", err)
	}
	s.mu.Lock()
	_, m0 := s.entries["m0"]
	_, m1 := s.entries["m1"]
	_, a0 := s.entries["a0"]
	s.mu.Unlock()
	if m0 || !m1 || !a0 {
		t.Fatalf("after mallory's third record: m0 %v (want evicted), m1 %v, a0 %v", m0, m1, a0)
	}
	// Expired records free the quota.
	s.mu.Lock()
	s.sweepLocked(time.Now().Add(2 * time.Hour))
	n := len(s.scopes)
	s.mu.Unlock()
	if n != 0 || s.bytes != 0 {
		t.Fatalf("%d scopes and %d bytes left after every record expired", n, s.bytes)
	}
}

func TestMemoryStoreQuotaRefusesWhatItCannotEvict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		desc  string
		scope string
		fill  func(t *testing.T, s *memoryStore, scope string)
	}{
		{"in-flight claims are never evicted", "mallory", func(t *testing.T, s *memoryStore, scope string) {
			for i := range 2 {
				if _, err := s.claim(ctx, scope, fmt.Sprint("f", i), &record{token: newToken()}, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"the shared anonymous scope evicts nothing", anonymousScope, func(t *testing.T, s *memoryStore, scope string) {
			for i := range 2 {
				if err := claimAndStore(t, s, scope, fmt.Sprint("s", i), 10); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s := memStore(t, func(c *Config) { c.MaxEntriesPerCaller = 2 })
			tc.fill(t, s, tc.scope)
			_, err := s.claim(ctx, tc.scope, "new", &record{token: newToken()}, time.Minute)
			if full, ok := errors.AsType[*fullError](err); !ok || !full.caller {
				t.Fatalf("claim over the quota: %v, want the caller's quota full", err)
			}
			s.mu.Lock()
			n := len(s.entries)
			s.mu.Unlock()
			if n != 2 {
				t.Fatalf("%d records left, want the 2 held", n)
			}
		})
	}
}

func TestMemoryStoreSweepsExpiredEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memStore(t, nil)
	tok := newToken()
	if _, err := s.claim(ctx, "scope", "done", &record{token: tok}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.finish(ctx, "scope", "done", tok, &record{token: tok, Done: true}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := s.claim(ctx, "scope", "dead", &record{token: newToken()}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := s.claim(ctx, "scope", "new", &record{token: newToken()}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := len(s.entries); n != 1 || s.inflight.Len()+s.stored.Len() != 1 {
		t.Fatalf("%d entries (%d+%d listed) after the sweep, want 1", n, s.inflight.Len(), s.stored.Len())
	}
}

func TestMemoryStoreFinish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memStore(t, nil)
	mine, theirs := newToken(), newToken()
	if _, err := s.claim(ctx, "scope", "k", &record{token: mine}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	// The lease ran out but nobody claimed the key: the late response is still stored.
	if err := s.finish(ctx, "scope", "k", mine, &record{token: mine, Done: true, Status: 201}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.claim(ctx, "scope", "k", &record{token: theirs}, time.Minute); got == nil || got.Status != 201 {
		t.Fatalf("stored record %+v", got)
	}
	// Someone else's stored response is never replaced or released.
	if err := s.finish(ctx, "scope", "k", theirs, nil, time.Hour); !errors.Is(err, errClaimLost) {
		t.Fatalf("finish by another token: %v", err)
	}
}

func TestRecordEncoding(t *testing.T) {
	t.Parallel()
	in := &record{token: newToken(), Fingerprint: "abc", Done: true, Status: 201,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte("{\"a\":\"\x00é\"}\n")}
	v, err := encodeRecord(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	if out.token != in.token || out.Fingerprint != in.Fingerprint || !out.Done || out.Status != 201 ||
		out.Header.Get("Content-Type") != "application/json" || string(out.Body) != string(in.Body) {
		t.Fatalf("round trip: %+v", out)
	}
	if _, err := encodeRecord(&record{token: "short"}); err == nil {
		t.Error("encoded a record with a malformed token")
	}
	for _, bad := range []string{"", "short", newToken() + "{not json"} {
		if _, err := decodeRecord(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}
