package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/identity"
)

func TestVerifiedCache(t *testing.T) {
	t.Parallel()
	var c verifiedCache
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	alice := identity.Identity{Subject: "alice"}
	c.put("tok-long", alice, now.Add(time.Hour), now)
	c.put("tok-short", alice, now.Add(10*time.Second), now)
	tests := []struct {
		desc string
		raw  string
		at   time.Time
		hit  bool
	}{
		{"fresh", "tok-long", now.Add(time.Second), true},
		{"beyond the cache TTL", "tok-long", now.Add(verifiedTTL), false},
		{"before exp", "tok-short", now.Add(9 * time.Second), true},
		{"at exp", "tok-short", now.Add(10 * time.Second), false},
		{"unknown token", "tok-other", now, false},
	}
	for _, tt := range tests {
		if _, hit := c.get(tt.raw, tt.at); hit != tt.hit {
			t.Errorf("%s: hit = %v, want %v", tt.desc, hit, tt.hit)
		}
	}
	for i := range verifiedMaxSize + 1 {
		c.put(fmt.Sprint("t", i), alice, now.Add(time.Hour), now)
	}
	if len(c.m) > verifiedMaxSize {
		t.Fatalf("%d entries, bound %d", len(c.m), verifiedMaxSize)
	}
}
