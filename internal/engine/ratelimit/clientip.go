package ratelimit

import (
	"hash/maphash"
	"net/http"
	"net/netip"
	"strings"

	"github.com/contractgate/contractgate/internal/engine/identity"
)

// clientKey is whom a request is charged to: the authenticated subject, else the client
// address (IPv6 masked to the configured prefix).
type clientKey struct {
	subject string
	addr    netip.Addr
}

// hash is the in-memory key: subjects and addresses hash under different seeds of the
// policy, so the namespaces (and the policies) never share a budget by construction.
func (k clientKey) hash(p *policy) uint64 {
	if k.subject != "" {
		return maphash.String(p.seeds[0], k.subject)
	}
	b := k.addr.As16()
	return maphash.Bytes(p.seeds[1], b[:])
}

// redisKey is the shared key, e.g. contractgate:getDashboard:sub:alice or
// contractgate:default:ip:203.0.113.7 (redis_rate adds its own "rate:" prefix).
func (k clientKey) redisKey(p *policy) string {
	if k.subject != "" {
		return p.redisKey + "sub:" + k.subject
	}
	return p.redisKey + "ip:" + k.addr.String()
}

// keyer derives a request's clientKey. Read-only after New; safe for concurrent use.
type keyer struct {
	trusted    []netip.Prefix
	header     string
	ipv6Prefix int
}

func newKeyer(cfg Config) (keyer, error) {
	k := keyer{header: cfg.ForwardedHeader, ipv6Prefix: cfg.IPv6PrefixLength}
	for _, s := range cfg.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			return keyer{}, err
		}
		k.trusted = append(k.trusted, p)
	}
	return k, nil
}

func (k keyer) key(r *http.Request) clientKey {
	if id, ok := identity.FromContext(r.Context()); ok {
		return clientKey{subject: id.Subject}
	}
	return k.addrKey(r)
}

// addrKey is the client address's key, whoever the caller is.
func (k keyer) addrKey(r *http.Request) clientKey {
	a := k.clientIP(r)
	if a.Is6() && k.ipv6Prefix < 128 {
		if p, err := a.Prefix(k.ipv6Prefix); err == nil {
			a = p.Addr()
		}
	}
	return clientKey{addr: a}
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the rightmost address
// of the forwarded chain that is not a trusted proxy (all trusted: the leftmost). A chain
// entry that is not an address ends the walk at the last good hop. A peer address that
// cannot be parsed (not TCP) gives the zero Addr: such requests share one budget.
func (k keyer) clientIP(r *http.Request) netip.Addr {
	peer := parseHost(r.RemoteAddr)
	if !k.isTrusted(peer) {
		return peer
	}
	client := peer
	values := r.Header.Values(k.header)
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var elem string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				elem, v = v[j+1:], v[:j]
			} else {
				elem, v = v, ""
			}
			if k.header == HeaderForwarded {
				elem = forwardedFor(elem)
			}
			a := parseHost(elem)
			if !a.IsValid() {
				return client
			}
			client = a
			if !k.isTrusted(a) {
				return client
			}
		}
	}
	return client
}

func (k keyer) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range k.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the for= parameter of one RFC 7239 Forwarded element, or "".
func forwardedFor(elem string) string {
	for elem != "" {
		var pair string
		pair, elem, _ = strings.Cut(elem, ";")
		name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(name, "for") {
			return value
		}
	}
	return ""
}

// parseHost parses an address as peers and proxies write it: bare, with a port, bracketed
// IPv6 with or without a port, optionally double-quoted (Forwarded). It returns the address
// without zone, IPv4-mapped IPv6 unmapped, or the zero Addr.
func parseHost(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return netip.Addr{}
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || (end+1 < len(s) && s[end+1] != ':') {
			return netip.Addr{}
		}
		s = s[1:end]
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		s = s[:i] // IPv4 with a port: exactly one colon
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}
