package apierror

import (
	"testing"
)

func TestPrefersProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"application/json", false},
		{"*/*", false},
		{"application/problem+json", true},
		{"application/problem+json, application/json;q=0.5", true},
		{"application/json, application/problem+json", false},
		{"application/json;q=0.1, application/problem+json;q=0.9", true},
		{"application/problem+json;q=0", false},
		{"text/html, application/problem+json", true},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			t.Parallel()
			if got := prefersProblem(tt.accept); got != tt.want {
				t.Fatalf("prefersProblem(%q) = %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}
