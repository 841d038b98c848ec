package binding

import (
	"bytes"
	"errors"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
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

// projectBoth projects answer with the tokenizer and, when strictjson.Accepts accepts it,
// off its bytes too, and fails when the two disagree: the output, or the kind of error.
// It returns the tokenizer's projection and whether the answer was accepted.
func projectBoth(t testing.TB, o *Op, answer []byte) (data []byte, accepted bool, err error) {
	t.Helper()
	data, err = new(scanner).project(nil, answer, o.c.field, o.c.project)
	v, accepted := strictjson.Accepts(answer)
	if !accepted {
		return data, false, err
	}
	fast, ferr := new(scanner).projectAccepted(nil, v, o.c.field, o.c.project)
	switch {
	case (err == nil) != (ferr == nil) || errors.Is(err, errNoField) != errors.Is(ferr, errNoField) || errors.Is(err, errTooDeep) != errors.Is(ferr, errTooDeep):
		t.Fatalf("tokenizer: %v, over the bytes: %v: %q", err, ferr, answer)
	case err == nil && !bytes.Equal(data, fast):
		t.Fatalf("tokenizer: %s\nover the bytes: %s\nanswer: %q", data, fast, answer)
	}
	return data, true, err
}
