package routes

import (
	"strings"
	"testing"
)

func TestMethod(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"GET", "GET"}, {"HEAD", "HEAD"}, {"POST", "POST"}, {"PUT", "PUT"}, {"PATCH", "PATCH"},
		{"DELETE", "DELETE"}, {"CONNECT", "CONNECT"}, {"OPTIONS", "OPTIONS"}, {"TRACE", "TRACE"},
		{"get", OtherMethod}, {"PROPFIND", OtherMethod}, {"", OtherMethod},
		{strings.Repeat("X", 32<<10), OtherMethod}, {"GET\x00", OtherMethod},
	}
	for _, tt := range tests {
		if got := Method(tt.in); got != tt.want {
			t.Errorf("Method(%.20q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
