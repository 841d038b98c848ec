package validation

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// explainSeeds are invalid bodies whose details explain must report exactly as the full
// engine does.
var explainSeeds = append(slices.Clone(agreementSeeds),
	`{"items":[0,"x",null,true,[],{}],"payment":{"method":"card","cardToken":"tok_1234"}}`,
	`{"items":[{"productId":"PRD-1","quantity":0},{"productId":"prd_0002","quantity":"x","gift":true}],"currency":"EUR","note":7,"extra":1,"payment":{"method":"card","cardToken":"bad"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1e400}],"payment":{"method":"card"}}`,
	`{"items":[{"productId":"prd_0001","quantity":12345678901234567890}],"payment":{"method":"invoice"}}`,
	`{"items":[{}],"b":1,"a":2,"payment":{"method":"card","cardToken":"tok_1234","z":1}}`,
	`{"note":"`+strings.Repeat("é", 501)+`"}`,
	`{"items":[],"payment":{}}`,
	`{"items":[],"payment":{"method":5,"cardToken":"tok_1234"}}`,
	`{"items":[],"payment":{"method":"card","cardToken":5,"x":1,"y":[1,2]}}`,
	`{"items":[],"payment":{"method":"invoice","purchaseOrder":"","cardToken":"tok_1234"}}`,
	`{"items":[],"payment":{"method":null}}`,
	`{"items":[],"payment":"card"}`,
	`{"items":[`+strings.TrimSuffix(strings.Repeat(`{"productId":"prd_0001","quantity":1},`, 51), ",")+`],"payment":{"method":"card","cardToken":"tok_1234"}}`,
)

type detailKey struct {
	field, constraint, message, received string
}

func keys(ds []apierror.Detail) []detailKey {
	out := make([]detailKey, len(ds))
	for i, d := range ds {
		out[i] = detailKey{d.Field, d.Constraint, d.Message, fmt.Sprint(d.Received)}
	}
	slices.SortFunc(out, func(a, b detailKey) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return out
}

// assertExplainAgrees fails when explain's details differ from the full engine's; it
// returns how many there were.
func assertExplainAgrees(t *testing.T, v *Validator, s *schema, body string) int {
	t.Helper()
	value, err := strictjson.Decode([]byte(body), 64)
	if err != nil {
		return 0
	}
	want := &collector{max: 1 << 20}
	if err := s.full.Validate(value); err != nil {
		ve, ok := asValidationError(err)
		if !ok {
			t.Fatal(err)
		}
		v.violations("body", value, ve, want)
	}
	got := &collector{max: 1 << 20}
	s.explain(&walk{v: v, c: got, prefix: "body"}, value)
	if g, w := keys(got.out), keys(want.out); !slices.Equal(g, w) {
		t.Fatalf("explain: %v\nfull engine: %v\nbody: %s", g, w, body)
	}
	return len(got.out)
}

func explainSetup(tb testing.TB) (*Validator, *schema) {
	tb.Helper()
	doc, err := enginetest.Shop()
	if err != nil {
		tb.Fatal(err)
	}
	return compileSchema(tb, doc, "/components/schemas/CreateOrderRequest")
}

// compileSchema compiles the schema at pointer of doc with both engines (the fast one must
// take it) and returns it with a Validator able to explain its violations.
func compileSchema(tb testing.TB, doc *openapi3.T, pointer string) (*Validator, *schema) {
	tb.Helper()
	full, tree, err := newCompiler(doc)
	if err != nil {
		tb.Fatal(err)
	}
	fl, err := newFormatless(tree)
	if err != nil {
		tb.Fatal(err)
	}
	c := &compilers{full: full, fast: newFastCompiler(tree, full)}
	s, err := c.compile(pointer)
	if err != nil || s.fast == nil {
		tb.Fatalf("%s: %v (fast %v)", pointer, err, s != nil && s.fast != nil)
	}
	return &Validator{formatless: fl}, s
}

func TestExplainAgreesWithFullEngine(t *testing.T) {
	t.Parallel()
	v, s := explainSetup(t)
	n := 0
	for _, body := range explainSeeds {
		// A seed that does not decode would compare nothing.
		if _, err := strictjson.Decode([]byte(body), 64); err != nil {
			t.Errorf("seed does not decode (%v): %.200s", err, body)
		}
		n += assertExplainAgrees(t, v, s, body)
	}
	if n < len(explainSeeds) {
		t.Errorf("the seeds explain %d violations in all; want at least one per seed on average", n)
	}
}

// FuzzExplainAgreesWithFullEngine is the differential test of the details.
func FuzzExplainAgreesWithFullEngine(f *testing.F) {
	for _, seed := range explainSeeds {
		f.Add(seed)
	}
	v, s := explainSetup(f)
	f.Fuzz(func(t *testing.T, body string) { _ = assertExplainAgrees(t, v, s, body) })
}

// TestExplainStopsAtTheCap: the walk stops once a violation beyond the cap is found, and
// the details kept are the same whatever the map order.
func TestExplainStopsAtTheCap(t *testing.T) {
	t.Parallel()
	v, s := explainSetup(t)
	body := `{"items":[` + strings.TrimSuffix(strings.Repeat(`0,`, 1000), ",") + `],"z":1,"y":2,"x":3,"payment":{"method":"card","cardToken":"tok_1234"}}`
	value, err := strictjson.Decode([]byte(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	var first []detailKey
	for range 20 {
		c := &collector{max: 5}
		s.explain(&walk{v: v, c: c, prefix: "body"}, value)
		if len(c.out) != 5 || !c.more {
			t.Fatalf("%d details, more %v: want 5 and more", len(c.out), c.more)
		}
		if first == nil {
			first = keys(c.out)
		} else if !slices.Equal(first, keys(c.out)) {
			t.Fatalf("details vary between runs: %v, then %v", first, keys(c.out))
		}
	}
	unknown := &collector{max: 2}
	obj, _ := strictjson.Decode([]byte(`{"items":[{"productId":"prd_0001","quantity":1}],"payment":{"method":"card","cardToken":"tok_1234"},"d":1,"c":1,"b":1,"a":1}`), 0)
	s.explain(&walk{v: v, c: unknown, prefix: "body"}, obj)
	if got := keys(unknown.out); len(got) != 2 || got[0].field != "body.a" || got[1].field != "body.b" || !unknown.more {
		t.Fatalf("unknown members with cap 2: %v, more %v; want body.a, body.b and more", got, unknown.more)
	}
}

// TestFindDuplicateAgreesWithFullEngine: the linear-time duplicate search of long arrays
// decides uniqueItems as the full engine does, or says it cannot tell.
func TestFindDuplicateAgreesWithFullEngine(t *testing.T) {
	t.Parallel()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem:///u.json", map[string]any{"uniqueItems": true}); err != nil {
		t.Fatal(err)
	}
	full, err := c.Compile("mem:///u.json")
	if err != nil {
		t.Fatal(err)
	}
	filler := func(n int) string { // n distinct strings
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `"f%d",`, i)
		}
		return b.String()
	}
	for _, tail := range []string{
		`1, 2, 3`, `1, 1.0`, `0, -0`, `1, "1"`, `true, false, null`, `true, true`, `null, null`,
		`"a", "a"`, `1e2, 100`, `0.1, 0.10`, `1e400, 1e400`, `12345678901234567890, 12345678901234567891`,
		`[1], [1]`, `{"a":1}, {"a":2}`, `2.5, 2.50000000000000`, `"", ""`,
	} {
		for _, n := range []int{3, 40} {
			body := "[" + filler(n) + tail + "]"
			v, err := strictjson.Decode([]byte(body), 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _, found := findDuplicate(v.([]any))
			fullDup := full.Validate(v) != nil
			if found != unsure && (found == valid) != fullDup {
				t.Errorf("%d fillers then %s: findDuplicate %v, full engine duplicate %v", n, tail, found, fullDup)
			}
		}
	}
}

// compositeDoc uses the keywords the storefront contract does not: anyOf, allOf, not,
// uniqueItems, additionalProperties with a schema, recursion, exclusive bounds.
const compositeDoc = `
openapi: 3.1.0
info: {title: composite, version: "1"}
paths: {}
components:
  schemas:
    Thing:
      type: object
      properties:
        kind: {type: string, enum: [a, b]}
        any: {anyOf: [{type: string, maxLength: 2}, {type: integer, minimum: 5}]}
        notnum: {not: {type: number}}
        all: {allOf: [{type: object, required: [a]}, {properties: {a: {type: integer, multipleOf: 3}}}]}
        tags: {type: array, uniqueItems: true, items: {type: string, minLength: 1}}
        shape:
          oneOf:
            - {type: object, properties: {t: {const: sq}, side: {type: number}}, required: [t, side], additionalProperties: false}
            - {type: object, properties: {t: {enum: [ci]}, r: {type: number, exclusiveMinimum: 0}}, required: [t, r]}
        list: {type: array, items: {$ref: '#/components/schemas/Thing'}, maxItems: 3}
        when: {type: string, format: date-time}
      additionalProperties: {type: integer, maximum: 9}
      minProperties: 1
      maxProperties: 6
`

var compositeSeeds = []string{
	`{}`, `[]`, `{"kind":"c"}`, `{"any":"abc"}`, `{"any":3}`, `{"any":7}`, `{"any":[1]}`, `{"notnum":1}`, `{"notnum":"x"}`,
	`{"all":{}}`, `{"all":{"a":4}}`, `{"all":{"a":"x"}}`, `{"all":5}`, `{"tags":["a","a"]}`, `{"tags":["a",""]}`, `{"tags":[1,1]}`,
	`{"shape":{"t":"sq"}}`, `{"shape":{"t":"ci","r":0}}`, `{"shape":{"t":"tri"}}`, `{"shape":{"t":"sq","side":1,"x":1}}`, `{"shape":{}}`,
	`{"shape":{"t":5}}`, `{"shape":[]}`, `{"list":[{},{"kind":"x"},{"list":[{"x":10}]},{}]}`, `{"x":10,"y":"s","z":1.5}`,
	`{"when":"yesterday","x":"y"}`, `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}`,
	`{"list":[{"shape":{"t":"ci","r":-1},"tags":[[1],[1]]}]}`, `{"any":12345678901234567890}`, `{"all":{"a":1e400}}`,
}

func compositeSetup(tb testing.TB) (*Validator, *schema) {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(compositeDoc))
	if err != nil {
		tb.Fatal(err)
	}
	return compileSchema(tb, doc, "/components/schemas/Thing")
}

func TestExplainAgreesWithFullEngineOnComposition(t *testing.T) {
	t.Parallel()
	v, s := compositeSetup(t)
	n := 0
	for _, body := range compositeSeeds {
		n += assertExplainAgrees(t, v, s, body)
	}
	if n < len(compositeSeeds) {
		t.Fatalf("only %d details for %d invalid seeds", n, len(compositeSeeds))
	}
}

// FuzzExplainComposition is the differential test of the details on compositeDoc.
func FuzzExplainComposition(f *testing.F) {
	for _, seed := range compositeSeeds {
		f.Add(seed)
	}
	v, s := compositeSetup(f)
	f.Fuzz(func(t *testing.T, body string) { _ = assertExplainAgrees(t, v, s, body) })
}
