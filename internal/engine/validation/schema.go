package validation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

// docURL names the contract inside the JSON Schema compiler; schemas are compiled by JSON
// pointer into it, so $refs resolve exactly as the contract wrote them.
const docURL = "contractgate:///openapi.json"

// newCompiler returns a JSON Schema 2020-12 compiler (the dialect of OpenAPI 3.1) holding the
// whole contract as one resource, asserting formats, with the OpenAPI integer formats checked.
func newCompiler(doc *openapi3.T) (*jsonschema.Compiler, any, error) {
	raw, err := doc.MarshalJSON()
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the contract: %w", err)
	}
	tree, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("decoding the contract: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "int32", Validate: intRange(math.MinInt32, math.MaxInt32)})
	c.RegisterFormat(&jsonschema.Format{Name: "int64", Validate: intRange(math.MinInt64, math.MaxInt64)})
	c.RegisterFormat(&jsonschema.Format{Name: "double", Validate: finite(64)})
	c.RegisterFormat(&jsonschema.Format{Name: "float", Validate: finite(32)})
	if err := c.AddResource(docURL, tree); err != nil {
		return nil, nil, fmt.Errorf("adding the contract to the schema compiler: %w", err)
	}
	return c, tree, nil
}

// schema is a compiled schema: the full JSON Schema 2020-12 engine, and the fast path
// when the schema stays within its subset (nil otherwise).
type schema struct {
	full *jsonschema.Schema
	fast *node
}

// compilers holds both engines for one contract.
type compilers struct {
	full *jsonschema.Compiler
	fast *fastCompiler
}

// compile compiles the schema at a JSON pointer of the contract with both engines.
func (c *compilers) compile(pointer string) (*schema, error) {
	full, err := c.full.Compile(docURL + "#" + pointer)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", pointer, err)
	}
	fast, err := c.fast.compile(pointer)
	if err == nil {
		err = c.fullNodes()
	}
	if err != nil {
		fast = nil // outside the fast subset: the full engine validates alone
	}
	return &schema{full: full, fast: fast}, nil
}

// fullNodes compiles, with the full engine, every fast node that has no full schema yet.
func (c *compilers) fullNodes() error {
	for pointer, n := range c.fast.nodes {
		if n.full != nil {
			continue
		}
		full, err := c.full.Compile(docURL + "#" + pointer)
		if err != nil {
			return fmt.Errorf("compiling %s: %w", pointer, err)
		}
		n.full = full
	}
	return nil
}

// explain adds the details of v's violations to w's collector, stopping when it is full;
// a valid v adds nothing.
func (s *schema) explain(w *walk, v any) {
	if s.fast != nil {
		if s.fast.check(v) != valid {
			w.explain(s.fast, v)
		}
		return
	}
	// Outside the fast subset: the full engine builds its whole error tree; only the
	// details are capped.
	err := s.full.Validate(v)
	if err == nil {
		return
	}
	if ve, ok := asValidationError(err); ok {
		w.v.violations(w.field(), v, ve, w.c)
		return
	}
	w.c.add(apierror.Detail{Field: w.field(), Constraint: "schema", Message: "is invalid"})
}

var errOutOfRange = errors.New("out of range")

// intRange checks that a JSON number fits an integer format. A number with a fraction or
// exponent counts by its value (1.0 and 1e0 are the integer 1). Non-numbers and non-integral
// numbers pass: the type keyword reports those.
func intRange(lo, hi int64) func(any) error {
	within := intRangeOf(lo, hi)
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok || within(string(n)) {
			return nil
		}
		return errOutOfRange
	}
}

// intRangeOf is intRange for a number literal: false when it is out of range.
func intRangeOf(lo, hi int64) func(string) bool {
	return func(s string) bool {
		if !strings.ContainsAny(s, ".eE") {
			i, err := strconv.ParseInt(s, 10, 64)
			return err == nil && i >= lo && i <= hi // err: beyond int64
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return false
		}
		if f != math.Trunc(f) {
			return true
		}
		return !(f < float64(lo) || f > float64(hi) || (hi == math.MaxInt64 && f >= math.MaxInt64))
	}
}

// finite checks that a JSON number is representable as a finite float of the given size.
func finite(bits int) func(any) error {
	within := finiteOf(bits)
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok || within(string(n)) {
			return nil
		}
		return errOutOfRange
	}
}

// finiteOf is finite for a number literal: false when it is not representable.
func finiteOf(bits int) func(string) bool {
	return func(s string) bool {
		_, err := strconv.ParseFloat(s, bits)
		return err == nil
	}
}

// formatless compiles schemas of the contract with formats not asserted, on demand and
// cached: used only to complete the details of an invalid request (see afterFormat).
type formatless struct {
	c     *jsonschema.Compiler
	mu    sync.Mutex
	cache map[string]*jsonschema.Schema
}

func newFormatless(tree any) (*formatless, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, tree); err != nil {
		return nil, err
	}
	return &formatless{c: c, cache: map[string]*jsonschema.Schema{}}, nil
}

func (f *formatless) compile(url string) (*jsonschema.Schema, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.cache[url]; ok {
		return s, nil
	}
	s, err := f.c.Compile(url)
	if err != nil {
		return nil, err
	}
	f.cache[url] = s
	return s, nil
}

// Schemas compiles the schemas of one OpenAPI document by JSON pointer with both engines
// (the fast path and the full JSON Schema 2020-12 engine): for other packages, such as the
// upstream response checks. Compile once at start-up; Schema is safe for concurrent use.
type Schemas struct {
	c *compilers
	v *Validator // for the details of violations
}

// NewSchemas prepares the compilers of doc.
func NewSchemas(doc *openapi3.T) (*Schemas, error) {
	full, tree, err := newCompiler(doc)
	if err != nil {
		return nil, err
	}
	fl, err := newFormatless(tree)
	if err != nil {
		return nil, err
	}
	return &Schemas{c: &compilers{full: full, fast: newFastCompiler(tree, full)}, v: &Validator{formatless: fl}}, nil
}

// Compile compiles the schema at a JSON pointer of the document, e.g.
// /paths/~1products/get/responses/200/content/application~1json/schema.
func (s *Schemas) Compile(pointer string) (*Schema, error) {
	sc, err := s.c.compile(pointer)
	if err != nil {
		return nil, err
	}
	return &Schema{s: sc, v: s.v}, nil
}

// Schema is one compiled schema.
type Schema struct {
	s *schema
	v *Validator
}

// SchemaMaxDetails is how many violations Schema.Validate reports at most.
const SchemaMaxDetails = 5

// Validate returns nil when v (a strictjson / jsonschema tree) is valid, else a
// *SchemaError naming the first violations found (at most SchemaMaxDetails): the work and
// memory it costs stay bounded however many violations v holds.
func (s *Schema) Validate(v any) error {
	c := &collector{max: SchemaMaxDetails}
	s.s.explain(&walk{v: s.v, c: c, prefix: "body"}, v)
	if len(c.out) == 0 {
		return nil
	}
	return &SchemaError{Details: c.out, More: c.more}
}

// SchemaError lists the first violations of a value found by Schema.Validate.
type SchemaError struct {
	// Details are the violations, located from "body".
	Details []apierror.Detail
	// More is true when there were more violations than Details.
	More bool
}

// Error lists the violations: "body.items[0].quantity: must be at most 100; ...".
func (e *SchemaError) Error() string {
	var b strings.Builder
	for i, d := range e.Details {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.Field)
		b.WriteString(": ")
		b.WriteString(d.Message)
	}
	if e.More {
		b.WriteString("; and more")
	}
	return b.String()
}
