package httpcache

import "time"

// SetClock replaces the cache's clock (tests only).
func (c *Cache) SetClock(now func() time.Time) { c.now = now }

// ParsePolicy exposes parsePolicy to the tests.
func ParsePolicy(raw any) (maxAge, staleIfError time.Duration, err error) {
	p, err := parsePolicy(raw)
	return p.maxAge, p.staleIfError, err
}

// Matches exposes matches to the tests.
var Matches = matches
