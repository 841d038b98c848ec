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

func TestCheckQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, raw, field string // field "": accepted
	}{
		{"plain", "page=2&pageSize=5&q=mug", ""},
		{"encoded UTF-8 and plus", "q=caf%C3%A9+au+lait", ""},
		{"empty pairs and values", "&&q=&page=1&", ""},
		{"bad escape in a value", "q=%zz", "query.q"},
		{"truncated escape", "page=1&q=%4", "query.q"},
		{"semicolon separator", "pageSize=5;page=2", "query.pageSize"},
		{"semicolon in a name", "a;b=1", "query"},
		{"invalid UTF-8", "q=%ff%fe", "query.q"},
		{"NUL", "q=a%00b", "query.q"},
		{"NUL in a name", "a%00=1", "query"},
		{"bad escape in a name", "%zz=1", "query"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			d := CheckQuery(tt.raw)
			switch {
			case tt.field == "" && d != nil:
				t.Fatalf("CheckQuery(%q) = %+v, want nil", tt.raw, *d)
			case tt.field != "" && d == nil:
				t.Fatalf("CheckQuery(%q) = nil, want a detail on %s", tt.raw, tt.field)
			case d != nil && (d.Field != tt.field || d.Constraint != "encoding" || d.Message == ""):
				t.Fatalf("CheckQuery(%q) = %+v, want field %s", tt.raw, *d, tt.field)
			}
		})
	}
}
