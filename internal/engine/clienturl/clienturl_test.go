package clienturl_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/clienturl"
)

// stock is the URL oapi-codegen's stock client builds for an operation path on server
// (clienturl.Resolve; codegen's TestRequestBuildersMatchStock holds the generated clients,
// Resolve included, to the stock template's requests).
func stock(t *testing.T, server, path string) string {
	t.Helper()
	u, err := clienturl.Resolve(server, path)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

func TestServerPrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ server, want string }{
		{"http://127.0.0.1:9101/", "http://127.0.0.1:9101/"},
		{"http://h/base/", "http://h/base/"},
		{"https://u:p%40ss@h:8443/a%20b/", "https://u:p%40ss@h:8443/a%20b/"},
		{"http://[::1]:80/x/", "http://[::1]:80/x/"},
		{"http://h/a b/", "http://h/a%20b/"}, // url.Parse escapes the space, as the stock resolution does
		{"http://h/base", ""},                // no trailing slash: resolution would drop "base"
		{"http://h/a/../b/", ""},             // ResolveReference removes dot segments
		{"http://h/./b/", ""},
		{"http://h/?x=1", ""},
		{"http://h/#f", ""},
		{"h/no-scheme/", ""},
		{"mailto:x@h/", ""},
		{"http:///path/", ""},
		{"%zz", ""},
	} {
		if got := clienturl.ServerPrefix(tc.server); got != tc.want {
			t.Errorf("ServerPrefix(%q) = %q, want %q", tc.server, got, tc.want)
		}
	}
}

// JoinPath gives the stock URL wherever it gives one, and "" for every path the stock
// resolution would rewrite or a format that is not one %s per parameter.
func TestJoinPath(t *testing.T) {
	t.Parallel()
	for _, server := range []string{"http://h/", "https://u@h:8443/a%20b/c/"} {
		prefix := clienturl.ServerPrefix(server)
		for _, tc := range []struct {
			format string
			params []string
			ok     bool
		}{
			{"/items/%s", []string{"p-1001"}, true},
			{"/items/%s", []string{"a%2Fb"}, true},
			{"/items/%s/parts/%s/%s", []string{"", "-1", "x"}, true},
			{"/files/%s.json", []string{".."}, true},
			{"/", nil, true},
			{"/search", nil, true},
			{"/a/%s", []string{"~!$&'()*+,;=:@"}, true},
			{"/items/%s", []string{".."}, false}, // a dot segment
			{"/items/%s", []string{"."}, false},
			{"/items/%s", []string{"a?b"}, false},
			{"/items/%s", []string{"a#b"}, false},
			{"/items/%s", []string{"a b"}, false},
			{"/items/%s", []string{"%zz"}, false},
			{"/items/%s", []string{"%4"}, false},
			{"/items/%s", []string{`{"k":"v"}`}, false},
			{"/items/%s", []string{"é"}, false},
			{"/items/%d", []string{"1"}, false}, // not a %s verb
			{"/items/%s/%s", []string{"1"}, false},
			{"/items/%s", []string{"1", "2"}, false},
			{"/items/100%", nil, false},
			{"items/%s", []string{"1"}, false},
			{"", nil, false},
		} {
			args := make([]any, len(tc.params))
			for i, p := range tc.params {
				args[i] = p
			}
			got := clienturl.JoinPath(prefix, tc.format, tc.params...)
			if !tc.ok {
				if got != "" {
					t.Errorf("JoinPath(%q, %q, %s) = %q, want \"\"", prefix, tc.format, strings.Join(tc.params, ", "), got)
				}
				continue
			}
			if want := stock(t, server, fmt.Sprintf(tc.format, args...)); got != want {
				t.Errorf("JoinPath(%q, %q, %s) = %q, the stock client builds %q", prefix, tc.format, strings.Join(tc.params, ", "), got, want)
			}
		}
	}
}

func TestWithQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fragments []string
		want      string
	}{
		{nil, "http://h/x"},
		{[]string{}, "http://h/x"},
		{[]string{""}, "http://h/x"},
		{[]string{"a=1"}, "http://h/x?a=1"},
		{[]string{"a=1", "b=2&c=3"}, "http://h/x?a=1&b=2&c=3"},
		{[]string{"", ""}, "http://h/x?&"},
	} {
		if got := clienturl.WithQuery("http://h/x", tc.fragments); got != tc.want {
			t.Errorf("WithQuery(%q) = %q, want %q", tc.fragments, got, tc.want)
		}
	}
}
