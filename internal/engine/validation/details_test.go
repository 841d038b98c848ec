package validation

import (
	"strings"
	"testing"
)

func TestFieldPaths(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", 1_000_000)
	clipped := strings.Repeat("k", maxFieldKey) + "…"
	tests := []struct {
		desc     string
		instance any
		loc      []string
		want     string
	}{
		{"root", map[string]any{}, nil, "body"},
		{"plain", map[string]any{"items": []any{map[string]any{"q": 1}}}, []string{"items", "0", "q"}, "body.items[0].q"},
		{"long name clipped", map[string]any{long: 1}, []string{long}, "body." + clipped},
		{"name of exactly the cap", nil, []string{strings.Repeat("k", maxFieldKey)}, "body." + strings.Repeat("k", maxFieldKey)},
		{"utf-8 not split", nil, []string{strings.Repeat("k", maxFieldKey-1) + "é"}, "body." + strings.Repeat("k", maxFieldKey-1) + "…"},
		{"dot quoted", map[string]any{"a.b": 1}, []string{"a.b"}, `body["a.b"]`},
		{"bracket quoted", map[string]any{"a[0]": 1}, []string{"a[0]"}, `body["a[0]"]`},
		{"quote quoted", nil, []string{`a"b`}, `body["a\"b"]`},
		{"empty name quoted", map[string]any{"": 1}, []string{""}, `body[""]`},
		{"control character quoted", nil, []string{"a\nb"}, `body["a\nb"]`},
		{"long dotted name clipped and quoted", nil, []string{long + "."}, `body["` + clipped + `"]`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := field("body", tt.instance, tt.loc); got != tt.want {
				t.Fatalf("field = %.200q, want %.200q", got, tt.want)
			}
			// The fast path's walk renders the same.
			w := &walk{prefix: "body"}
			cur := tt.instance
			for _, s := range tt.loc {
				if a, ok := cur.([]any); ok {
					w.path = append(w.path, seg{idx: 0})
					cur = a[0]
					continue
				}
				w.path = append(w.path, seg{key: s, idx: -1})
				if m, ok := cur.(map[string]any); ok {
					cur = m[s]
				}
			}
			if got := w.field(); got != tt.want {
				t.Fatalf("walk.field = %.200q, want %.200q", got, tt.want)
			}
			if last := tt.loc; len(last) == 1 {
				if got := member("body", last[0]); got != tt.want {
					t.Fatalf("member = %.200q, want %.200q", got, tt.want)
				}
			}
		})
	}
}

func TestFieldPathBoundedWhenDeep(t *testing.T) {
	t.Parallel()
	var loc []string
	for range 64 { // the default nesting limit
		loc = append(loc, strings.Repeat("k", 1000))
	}
	got := field("body", nil, loc)
	if len(got) > maxFieldPath+len("…") || !strings.HasSuffix(got, "…") {
		t.Fatalf("field of %d bytes (%.40q...), want at most %d and clipped", len(got), got, maxFieldPath)
	}
	w := &walk{prefix: "body"}
	for _, k := range loc {
		w.path = append(w.path, seg{key: k, idx: -1})
	}
	if w.field() != got {
		t.Fatalf("walk.field differs from field")
	}
}
