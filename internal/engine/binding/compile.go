package binding

import (
	"fmt"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
)

// compiled is what a bound operation needs per request, resolved once by New.
type compiled struct{}

func newSet(public *openapi3.T, upstreams map[string]*openapi3.T) (*Set, error) {
	return &Set{ops: map[string]*Op{}}, nil
}

func (s *Set) op(operationID string) (*Op, error) {
	o, ok := s.ops[operationID]
	if !ok {
		return nil, fmt.Errorf("binding: operation %s has no %s", operationID, Extension)
	}
	return o, nil
}

func (s *Set) bound() []string {
	ids := make([]string, 0, len(s.ops))
	for id := range s.ops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
