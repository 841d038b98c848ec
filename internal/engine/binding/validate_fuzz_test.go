package binding

import (
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// FuzzValidateProjected keeps the projection off an accepted answer's bytes in agreement with
// the tokenizer's, and Op.validate's fast path (validation.ValidAccepted over the projected
// bytes) with decoding the projection and validating the tree.
func FuzzValidateProjected(f *testing.F) {
	for _, seed := range []string{
		string(productAnswer()),
		`{"id":"p1","name":"Mug","priceCents":1}`,
		`{"id":"p1","name":"","priceCents":1}`,
		`{"id":"p1","name":"Mug","priceCents":-1}`,
		`{"id":"p1","name":"Mug","priceCents":1.5}`,
		`{"id":"p1","name":"Mug","priceCents":1e2,"tags":["a",1]}`,
		`{"id":"p1","name":"M\u00fcg","priceCents":1,"prices":{"de":{"amount":1,"currency":"EU\u0052"}}}`,
		`{"id":"p1","name":"Mug","priceCents":1,"category":{"name":"a","parent":{"name":"b","parent":{}}}}`,
		`{"id":"p1","name":"Mug","priceCents":1,"variants":[{"sku":"a","price":{"amount":1,"currency":"EURO"}}]}`,
		`{"id":"p1","name":"Mug","priceCents":9223372036854775808}`,
		`{"id":"p1","name":"Mug","priceCents":1,"extra":[[[[{"a":null}]]]]}`,
		`{"id":"p1","name":"Mug","priceCents":1,"extra":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
		`{"id":"p1","name":"Mug","priceCents":1e9999}`,
		" {\t\"id\" : \"p1\" ,\r\n \"na\\u006de\" : \"Mug\\\"\" , \"priceCents\" : 1 , \"tags\" : [ \"a\" , \"b\" ] , \"dimensions\" : { \"width\" : 1.5 , \"x\" : [ { } ] } } ",
		`{"id":"p1","name":"Mug","priceCents":1,"variants":[],"prices":{},"category":{"parent":{"parent":{"name":"\\"}}}}`,
		`{"id":"p1","name":"Mug","priceCents":1,"extra":{"n":1e-999,"m":1E+0001}}`,
	} {
		f.Add(seed)
	}
	o := mustOp(f, fixtureSet(f), "getProduct")
	f.Fuzz(func(t *testing.T, body string) {
		data, accepted, err := projectBoth(t, o, []byte(body))
		if err != nil {
			return
		}
		// validate checks only the limits before the fast path: what the projection kept is
		// strict by construction.
		if _, ok := strictjson.Accepts(data); ok != strictjson.WithinDefaultLimits(data) {
			t.Fatalf("Accepts = %v but WithinDefaultLimits = %v: %s", ok, !ok, data)
		}
		slow := true
		v, err := strictjson.Decode(data, 0)
		if err != nil {
			slow = false
		} else {
			for _, s := range o.c.schemas {
				if s.Validate(v) != nil {
					slow = false
				}
			}
		}
		if validation.ValidJSON(data, o.c.schemas...) && !slow {
			t.Fatalf("the fast path accepts what the tree rejects: %s", data)
		}
		if got := o.validate(data, accepted) == nil; got != slow {
			t.Fatalf("validate = %v, the tree says %v: %s", got, slow, data)
		}
	})
}
