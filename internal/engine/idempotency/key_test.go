package idempotency

import (
	"errors"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, want string
		ok             bool
	}{
		{"uuid", "8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{"quoted", `"abc"`, "abc", true},
		{"quoted with escapes", `"a\"b\\c"`, `a"b\c`, true},
		{"max length", strings.Repeat("k", 255), strings.Repeat("k", 255), true},
		{"printable punctuation and space", "a b~!", "a b~!", true},
		{"empty", "", "", false},
		{"empty quoted", `""`, "", false},
		{"too long", strings.Repeat("k", 256), "", false},
		{"control character", "a\tb", "", false},
		{"non ascii", "ключ", "", false},
		{"bad escape", `"a\nb"`, "", false},
		{"inner quote", `"a"b"`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParseKey(tt.in)
			if tt.ok != (err == nil) || got != tt.want {
				t.Fatalf("ParseKey(%q) = %q, %v", tt.in, got, err)
			}
			if err != nil && !errors.Is(err, apierror.ErrIdempotencyKeyInvalid) {
				t.Fatalf("error %v is not IDEMPOTENCY_KEY_INVALID", err)
			}
		})
	}
}
