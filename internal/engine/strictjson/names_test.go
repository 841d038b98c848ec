package strictjson_test

import (
	"fmt"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// Names finds every name it was built from, names that hash alike included, and nothing else.
func TestNames(t *testing.T) {
	m := map[string]int{"": 1, "id": 2, "name": 3, "nbme": 4, "nabe": 5, "priceCents": 6, "é": 7}
	for i := range 40 { // same length, first, middle and last byte: one hash for all
		m[fmt.Sprintf("a%02dxa", i)] = 100 + i
	}
	names := strictjson.NewNames(m)
	for name, want := range m {
		if got, ok := names.Find([]byte(name)); !ok || got != want {
			t.Errorf("Find(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"i", "ids", "nam", "a40xa", "Name", "e"} {
		if got, ok := names.Find([]byte(name)); ok {
			t.Errorf("Find(%q) = %d, want none", name, got)
		}
	}
	var empty strictjson.Names[int]
	if _, ok := empty.Find([]byte("id")); ok {
		t.Error("the zero Names finds a name")
	}
	if _, ok := strictjson.NewNames(map[string]int{}).Find(nil); ok {
		t.Error("an empty Names finds the empty name")
	}
}
