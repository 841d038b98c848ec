package validation

import (
	"fmt"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// TestRawMembers: the check over bytes looks members up in one table of declared and
// required names; it agrees with the tree for names required and declared, required but not
// declared, and past 64 required names (left to the tree).
func TestRawMembers(t *testing.T) {
	var many, manyBody strings.Builder
	for i := range 65 {
		fmt.Fprintf(&many, "%sn%d", map[bool]string{true: ", ", false: ""}[i > 0], i)
		fmt.Fprintf(&manyBody, `"n%d":%d,`, i, i)
	}
	spec := `openapi: 3.1.0
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Both:
      type: object
      required: [a, b]
      properties: {a: {type: string}}
      additionalProperties: {type: integer}
    Undeclared:
      type: object
      required: [b]
      properties: {a: {type: string}}
      additionalProperties: false
    Many:
      type: object
      required: [` + many.String() + `]
`
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := NewSchemas(doc)
	if err != nil {
		t.Fatal(err)
	}
	manyAll := "{" + manyBody.String() + `"x":1}`
	tests := []struct {
		schema, body string
		valid        bool
		decided      bool // the bytes path decides it (valid only)
	}{
		{"Both", `{"a":"x","b":1}`, true, true},
		{"Both", `{"b":1,"a":"x","c":2}`, true, true},
		{"Both", `{"a":"x"}`, false, false},
		{"Both", `{"b":1}`, false, false},
		{"Both", `{"a":"x","b":"y"}`, false, false},
		{"Undeclared", `{"a":"x","b":1}`, false, false},
		{"Undeclared", `{"a":"x"}`, false, false},
		{"Undeclared", `{}`, false, false},
		{"Many", manyAll, true, false},
		{"Many", `{"n0":1}`, false, false},
	}
	for _, tt := range tests {
		s, err := schemas.Compile("/components/schemas/" + tt.schema)
		if err != nil {
			t.Fatal(err)
		}
		if s.s.fast == nil {
			t.Fatalf("%s is not fast-compiled", tt.schema)
		}
		v, err := strictjson.Decode([]byte(tt.body), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Validate(v) == nil; got != tt.valid {
			t.Errorf("%s %.40s: Validate = %v, want %v", tt.schema, tt.body, got, tt.valid)
		}
		if got := ValidJSON([]byte(tt.body), s); got != tt.decided {
			t.Errorf("%s %.40s: ValidJSON = %v, want %v", tt.schema, tt.body, got, tt.decided)
		}
		assertRawAgrees(t, s.s, tt.body)
	}
}
