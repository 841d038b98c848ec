package idempotency

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestMemoryStoreIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newMemoryStore(3, DefaultMaxBytes)
	t.Cleanup(func() { _ = s.Close() })
	claimAndStore := func(key string) {
		t.Helper()
		tok := newToken()
		if got, err := s.claim(ctx, key, &record{token: tok, Fingerprint: "fp"}, time.Minute); got != nil || err != nil {
			t.Fatalf("claim %s: %v, %v", key, got, err)
		}
		if err := s.finish(ctx, key, tok, &record{token: tok, Fingerprint: "fp", Done: true, Status: 201}, time.Hour); err != nil {
			t.Fatalf("finish %s: %v", key, err)
		}
	}
	for i := range 5 {
		claimAndStore(fmt.Sprint("k", i))
	}
	if n := len(s.entries); n != 3 {
		t.Fatalf("%d entries, want the bound 3", n)
	}
	for key, want := range map[string]bool{"k0": false, "k1": false, "k2": true, "k4": true} {
		if _, ok := s.entries[key]; ok != want {
			t.Errorf("%s present %v, want %v (the oldest responses go first)", key, ok, want)
		}
	}

	// In-flight claims are never evicted: a store full of them refuses new claims.
	for i := range 3 {
		if _, err := s.claim(ctx, fmt.Sprint("f", i), &record{token: newToken()}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.claim(ctx, "f3", &record{token: newToken()}, time.Minute); !errors.Is(err, errStoreFull) {
		t.Fatalf("claim in a store full of claims: %v", err)
	}
}

func TestMemoryStoreSweepsExpiredEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newMemoryStore(100, DefaultMaxBytes)
	t.Cleanup(func() { _ = s.Close() })
	tok := newToken()
	if _, err := s.claim(ctx, "done", &record{token: tok}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.finish(ctx, "done", tok, &record{token: tok, Done: true}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := s.claim(ctx, "dead", &record{token: newToken()}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := s.claim(ctx, "new", &record{token: newToken()}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := len(s.entries); n != 1 || s.inflight.Len()+s.stored.Len() != 1 {
		t.Fatalf("%d entries (%d+%d listed) after the sweep, want 1", n, s.inflight.Len(), s.stored.Len())
	}
}

func TestMemoryStoreFinish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newMemoryStore(100, DefaultMaxBytes)
	t.Cleanup(func() { _ = s.Close() })
	mine, theirs := newToken(), newToken()
	if _, err := s.claim(ctx, "k", &record{token: mine}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	// The lease ran out but nobody claimed the key: the late response is still stored.
	if err := s.finish(ctx, "k", mine, &record{token: mine, Done: true, Status: 201}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.claim(ctx, "k", &record{token: theirs}, time.Minute); got == nil || got.Status != 201 {
		t.Fatalf("stored record %+v", got)
	}
	// Someone else's stored response is never replaced or released.
	if err := s.finish(ctx, "k", theirs, nil, time.Hour); !errors.Is(err, errClaimLost) {
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

func TestMemoryStoreByteBound(t *testing.T) {
	t.Parallel()
	const maxBytes = 64 << 10
	s := newMemoryStore(1000, maxBytes)
	defer s.Close()
	body := make([]byte, 4<<10)
	ctx := context.Background()
	for i := range 100 {
		key := fmt.Sprint("k", i)
		r := &record{token: "t", Fingerprint: "f"}
		if got, err := s.claim(ctx, key, r, time.Minute); err != nil || got != nil {
			t.Fatalf("claim %d: %v %v", i, got, err)
		}
		if err := s.finish(ctx, key, "t", &record{token: "t", Fingerprint: "f", Done: true, Status: 201, Body: body}, time.Hour); err != nil {
			t.Fatalf("finish %d: %v", i, err)
		}
		if s.bytes > maxBytes {
			t.Fatalf("after %d responses the store holds %d bytes, bound %d", i+1, s.bytes, maxBytes)
		}
	}
	if n := len(s.entries); n < 10 || n > 16 {
		t.Fatalf("%d entries of ~4.3 KB under a 64 KiB bound", n)
	}
	if _, ok := s.entries["k99"]; !ok {
		t.Fatal("the newest response was evicted instead of the oldest")
	}
}
