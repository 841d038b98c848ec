package edge

import "testing"

func TestSafePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		want bool
	}{
		{"/v1/products", true},
		{"/v1/products/prd_0001", true},
		{"/v1/products/a.b", true},
		{"/v1/..products", true},
		{"/v1/products/%41", true},
		{"/v1/products/..", false},
		{"/v1/products/../orders", false},
		{"/v1/./products", false},
		{"/v1/products/.", false},
		{"/v1/products/%2e%2e", false},
		{"/v1/products/%2E%2E/x", false},
		{"/v1/products/%252e%252e", false},
		{"/v1/products/a%2fb", false},
		{"/v1/products/a%2Fb", false},
		{"/v1/products/a%5cb", false},
		{"/v1/products/a%00", false},
		{"/v1/products/a\\b", false},
		{"/v1/products/%", false},
		{"/v1/products/%4", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			if got := SafePath(tt.path); got != tt.want {
				t.Fatalf("SafePath(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}
