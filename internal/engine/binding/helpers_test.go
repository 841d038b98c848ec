package binding

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// fixtures loads the fixture contracts afresh (tests may change them).
func fixtures(t testing.TB) (*openapi3.T, map[string]*openapi3.T) {
	t.Helper()
	load := func(file string) *openapi3.T {
		doc, err := openapi3.NewLoader().LoadFromFile(file)
		if err != nil {
			t.Fatalf("loading %s: %v", file, err)
		}
		return doc
	}
	return load("testdata/public.yaml"), map[string]*openapi3.T{"catalog": load("testdata/catalog.yaml")}
}

// fixtureSet compiles the fixture contracts.
func fixtureSet(t testing.TB) *Set {
	t.Helper()
	public, ups := fixtures(t)
	s, err := New(public, ups)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mustOp(t testing.TB, s *Set, id string) *Op {
	t.Helper()
	o, err := s.Op(id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
