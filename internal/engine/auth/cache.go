package auth

import (
	"sync"
	"time"

	"github.com/contractgate/contractgate/internal/engine/identity"
)

// Verified HMAC-signed tokens are remembered briefly, so that a client sending the same
// token on every request pays for parsing and the signature check once per verifiedTTL
// instead of per request. The key is the whole token (its signature included); an entry
// never outlives the token's exp. JWKS-signed tokens are verified every time (see verify).
const (
	verifiedTTL     = time.Minute
	verifiedMaxSize = 10000
)

type verified struct {
	id    identity.Identity
	until time.Time
}

// verifiedCache is a bounded map of recently verified tokens. Safe for concurrent use.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]verified
}

func (c *verifiedCache) get(raw string, now time.Time) (identity.Identity, bool) {
	c.mu.RLock()
	v, ok := c.m[raw]
	c.mu.RUnlock()
	if !ok || !now.Before(v.until) {
		return identity.Identity{}, false
	}
	return v.id, true
}

func (c *verifiedCache) put(raw string, id identity.Identity, exp, now time.Time) {
	until := now.Add(verifiedTTL)
	if exp.Before(until) {
		until = exp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= verifiedMaxSize {
		c.m = make(map[string]verified, 64) // full: start over (bounded, no bookkeeping)
	}
	c.m[raw] = verified{id: id, until: until}
}
