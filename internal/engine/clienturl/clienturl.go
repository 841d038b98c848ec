// Package clienturl builds the URLs of the generated upstream clients' requests (gen/<upstream>,
// oapi-codegen with internal/tooling/codegen's client template) without parsing the server URL
// and resolving each operation's path against it on every call: a client computes its server's
// prefix once (ServerPrefix) and joins each operation's path to it (JoinPath) wherever that
// gives the very URL the stock client builds (url.Parse, fmt.Sprintf, URL.Parse, String); where
// it would not, these functions return "" and the client takes the stock way.
package clienturl

import (
	"net/url"
	"strings"
)

// ServerPrefix is server's URL up to the end of its path, the prefix of every operation's URL,
// when joining an operation's path to it gives the URL url.URL.Parse and String give (a scheme,
// a host, no opaque part, query nor fragment, an escaped path ending in '/' that holds only
// RFC 3986 path characters and no "." or ".." segment), or "".
func ServerPrefix(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.OmitHost || u.ForceQuery || u.RawQuery != "" || u.Fragment != "" {
		return ""
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || !plainPath(p) {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host}).String() + p
}

// Resolve is the URL the stock client builds for an operation: path (the operation's, its
// parameters substituted and escaped) made relative and resolved against server's URL. The
// clients use it where ServerPrefix or JoinPath give "".
func Resolve(server, path string) (*url.URL, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(path, "/") {
		path = "." + path
	}
	return u.Parse(path)
}

// JoinPath is prefix (a ServerPrefix) followed by format without its leading '/', each %s
// replaced by the next of params (escaped already): what fmt.Sprintf(format, params...)
// resolved against the server's URL gives, when format has exactly one %s per parameter and no
// other verb and the joined path holds only RFC 3986 path characters and valid %XX escapes and
// no "." or ".." segment (which URL resolution would rewrite). Otherwise it is "".
func JoinPath(prefix, format string, params ...string) string {
	if format == "" || format[0] != '/' {
		return ""
	}
	n := len(prefix) + len(format)
	for _, p := range params {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(prefix)
	next := 0
	for i := 1; i < len(format); i++ {
		if format[i] != '%' {
			b.WriteByte(format[i])
			continue
		}
		if i+1 == len(format) || format[i+1] != 's' || next == len(params) {
			return ""
		}
		b.WriteString(params[next])
		next++
		i++
	}
	if next != len(params) {
		return ""
	}
	s := b.String()
	if !plainPath(s[len(prefix):]) {
		return ""
	}
	return s
}

// WithQuery is target followed by '?' and the query fragments joined with '&', or target when
// they join to "" (url.URL.String's rule for an empty RawQuery), built in one allocation.
func WithQuery(target string, fragments []string) string {
	n := 0
	for i, f := range fragments {
		if i > 0 {
			n++
		}
		n += len(f)
	}
	if n == 0 {
		return target
	}
	var b strings.Builder
	b.Grow(len(target) + 1 + n)
	b.WriteString(target)
	b.WriteByte('?')
	for i, f := range fragments {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(f)
	}
	return b.String()
}

// plainPath reports whether p, an escaped path, holds only RFC 3986 path characters
// (unreserved, sub-delims, ':', '@', '/') and valid %XX escapes, and no "." or ".." segment: a
// path that url.Parse keeps as it is and url.URL.ResolveReference does not rewrite.
func plainPath(p string) bool {
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if s := p[start:i]; s == "." || s == ".." {
				return false
			}
			start = i + 1
			continue
		}
		switch c := p[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0:
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
