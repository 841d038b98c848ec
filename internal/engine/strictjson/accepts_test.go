package strictjson_test

import (
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// Accepts never says yes to what Decode refuses, and says yes to the common valid shapes.
func TestAcceptsAgreesWithDecode(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{` {"a":[1,2.5,"x\"y"],"b":{"c":null}} `, true},
		{`"\u00e9"`, true},
		{"\xEF\xBB\xBF{}", false}, // byte order mark
		{`{"a":1,"a":2}`, false},  // duplicate names
		{`{"a":1} {}`, false},     // trailing data
		{"\"\xff\"", false},       // invalid UTF-8
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), false}, // deeper than the default
		{"1" + strings.Repeat("0", 1001), false},                   // number over the length limit
		{`1e9999`, false},                                          // exponent over the limit
		{``, false},
	}
	for _, tt := range tests {
		_, got := strictjson.Accepts([]byte(tt.in))
		if got != tt.want {
			t.Errorf("Accepts(%.40q) = %v, want %v", tt.in, got, tt.want)
		}
		if _, err := strictjson.Decode([]byte(tt.in), 0); got && err != nil {
			t.Errorf("Accepts(%.40q) but Decode refuses it: %v", tt.in, err)
		}
	}
}

// WithinDefaultLimits is Accepts for a value the tokenizer accepts.
func TestWithinDefaultLimits(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"a":[1,2.5,"x\"y[["],"b":{"c":null}}`, true},
		{`[1e1000,1E-1000,-1e+999]`, true},
		{`1e1001`, false},
		{`[1,2,1E+00001001]`, false},
		{"1" + strings.Repeat("0", 999), true},
		{"-1" + strings.Repeat("0", 999), false},
		{"1." + strings.Repeat("0", 999), false},
		{strings.Repeat("[", 64) + strings.Repeat("]", 64), true},
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), false},
		{`{"[[[[":"]]]]"}`, true},
	}
	for _, tt := range tests {
		if got := strictjson.WithinDefaultLimits([]byte(tt.in)); got != tt.want {
			t.Errorf("WithinDefaultLimits(%.40q) = %v, want %v", tt.in, got, tt.want)
		}
		if _, ok := strictjson.Accepts([]byte(tt.in)); ok != tt.want {
			t.Errorf("Accepts(%.40q) = %v, want %v", tt.in, ok, tt.want)
		}
	}
}
