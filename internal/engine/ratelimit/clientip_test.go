package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestParseHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:8080", "192.0.2.1"},
		{" 192.0.2.1 ", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{`"[2001:db8::1]:443"`, "2001:db8::1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"fe80::1%eth0", "fe80::1"},
		{"unknown", ""},
		{"_hidden", ""},
		{"[2001:db8::1]x", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got := parseHost(tt.in)
		if (tt.want == "" && got.IsValid()) || (tt.want != "" && got != netip.MustParseAddr(tt.want)) {
			t.Errorf("parseHost(%q) = %v, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	xff := keyer{header: HeaderXForwardedFor, trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	fwd := keyer{header: HeaderForwarded, trusted: xff.trusted}
	tests := []struct {
		desc   string
		k      keyer
		peer   string
		values []string
		want   string
	}{
		{"untrusted peer", xff, "192.0.2.1:1", []string{"203.0.113.1"}, "192.0.2.1"},
		{"trusted peer, no header", xff, "10.0.0.1:1", nil, "10.0.0.1"},
		{"rightmost untrusted", xff, "10.0.0.1:1", []string{"198.51.100.1, 203.0.113.1, 10.0.0.2"}, "203.0.113.1"},
		{"all trusted: leftmost", xff, "10.0.0.1:1", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"garbage stops at the last good hop", xff, "10.0.0.1:1", []string{"203.0.113.1, nonsense, 10.0.0.2"}, "10.0.0.2"},
		{"empty element stops", xff, "10.0.0.1:1", []string{"203.0.113.1,"}, "10.0.0.1"},
		{"lines are joined in order", xff, "10.0.0.1:1", []string{"203.0.113.1", "198.51.100.1"}, "198.51.100.1"},
		{"IPv6 proxy", xff, "[fd00::1]:1", []string{"2001:db8::7"}, "2001:db8::7"},
		{"Forwarded", fwd, "10.0.0.1:1", []string{`for=198.51.100.1, for="[2001:db8::9]:80";proto=https;by=10.0.0.1`}, "2001:db8::9"},
		{"Forwarded case and spaces", fwd, "10.0.0.1:1", []string{`proto=http; FOR=203.0.113.5`}, "203.0.113.5"},
		{"Forwarded obfuscated", fwd, "10.0.0.1:1", []string{`for=_hidden`}, "10.0.0.1"},
		{"unparsable peer", xff, "@", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.values {
				r.Header.Add(tt.k.header, v)
			}
			got := tt.k.clientIP(r)
			if (tt.want == "" && got.IsValid()) || (tt.want != "" && got != netip.MustParseAddr(tt.want)) {
				t.Fatalf("clientIP = %v, want %q", got, tt.want)
			}
		})
	}
}

func TestSFString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"default": `"default"`, `a"b\c`: `"a\"b\\c"`, "": "", "é": ""} {
		if got, ok := sfString(in); got != want && (ok || want != "") {
			t.Errorf("sfString(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
