package speclint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// docURL names the contract inside the schema compiler; its schemas are compiled by JSON
// pointer into it, so "#/components/..." references resolve as in the contract.
const docURL = "speclint:///openapi.json"

// exampleChecker validates every example in the raw document against the schema beside it.
// It walks the document itself (not kin-openapi's model) so that it knows each schema's
// JSON pointer; references to parameters, responses, request bodies and headers are
// skipped where used and checked once where they are defined (as components), while a
// $ref to components/examples is followed, since its schema is the one where it is used.
type exampleChecker struct {
	root     map[string]any
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
	findings []Finding
}

// checkExamples applies the valid-examples rule to the YAML or JSON contract in data.
func checkExamples(data []byte) ([]Finding, error) {
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parsing the contract: %w", err)
	}
	encoded, err := json.Marshal(stringKeys(raw))
	if err != nil {
		return nil, fmt.Errorf("encoding the contract as JSON: %w", err)
	}
	tree, err := jsonschema.UnmarshalJSON(bytes.NewReader(encoded))
	if err != nil {
		return nil, fmt.Errorf("decoding the contract: %w", err)
	}
	root, ok := tree.(map[string]any)
	if !ok {
		return nil, errors.New("the contract is not a JSON object")
	}
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	comp.RegisterFormat(&jsonschema.Format{Name: "int32", Validate: intRange(math.MinInt32, math.MaxInt32)})
	comp.RegisterFormat(&jsonschema.Format{Name: "int64", Validate: intRange(math.MinInt64, math.MaxInt64)})
	if err := comp.AddResource(docURL, root); err != nil {
		return nil, fmt.Errorf("adding the contract to the schema compiler: %w", err)
	}
	c := &exampleChecker{root: root, compiler: comp, compiled: map[string]*jsonschema.Schema{}}

	for _, kind := range []string{"paths", "webhooks"} {
		items := object(root[kind])
		for _, key := range sortedKeys(items) {
			c.pathItem("/"+kind+"/"+escape(key), key)
		}
	}
	comps := object(root["components"])
	for _, name := range sortedKeys(object(comps["schemas"])) {
		c.schema("/components/schemas/"+escape(name), "components.schemas."+name, "schema")
	}
	for _, name := range sortedKeys(object(comps["parameters"])) {
		c.parameter("/components/parameters/"+escape(name), "components.parameters."+name)
	}
	for _, name := range sortedKeys(object(comps["headers"])) {
		c.header("/components/headers/"+escape(name), "components.headers."+name, "header")
	}
	for _, name := range sortedKeys(object(comps["requestBodies"])) {
		c.content("/components/requestBodies/"+escape(name)+"/content", "components.requestBodies."+name, "request body")
	}
	for _, name := range sortedKeys(object(comps["responses"])) {
		c.response("/components/responses/"+escape(name), "components.responses."+name, "response")
	}
	for _, name := range sortedKeys(object(comps["pathItems"])) {
		c.pathItem("/components/pathItems/"+escape(name), "components.pathItems."+name)
	}
	return c.findings, nil
}

var methods = []string{"get", "head", "options", "trace", "put", "post", "patch", "delete", "query"}

// pathItem checks the parameters and operations of the path item at ptr.
func (c *exampleChecker) pathItem(ptr, path string) {
	item := object(c.at(ptr))
	if item == nil || item["$ref"] != nil {
		return
	}
	for i := range array(item["parameters"]) {
		c.parameter(fmt.Sprintf("%s/parameters/%d", ptr, i), path)
	}
	for _, method := range methods {
		op := object(item[method])
		if op == nil {
			continue
		}
		at := ptr + "/" + method
		where := strings.ToUpper(method) + " " + path
		if id, _ := op["operationId"].(string); id != "" {
			where += " (" + id + ")"
		}
		for i := range array(op["parameters"]) {
			c.parameter(fmt.Sprintf("%s/parameters/%d", at, i), where)
		}
		if body := object(op["requestBody"]); body != nil && body["$ref"] == nil {
			c.content(at+"/requestBody/content", where, "request body")
		}
		responses := object(op["responses"])
		for _, code := range sortedKeys(responses) {
			c.response(at+"/responses/"+escape(code), where, "response "+code)
		}
	}
}

// response checks a response's content and headers (a $ref is checked at its target).
func (c *exampleChecker) response(ptr, where, label string) {
	r := object(c.at(ptr))
	if r == nil || r["$ref"] != nil {
		return
	}
	c.content(ptr+"/content", where, label)
	for _, name := range sortedKeys(object(r["headers"])) {
		c.header(ptr+"/headers/"+escape(name), where, label+" header "+name)
	}
}

// parameter checks a parameter's schema, examples and content.
func (c *exampleChecker) parameter(ptr, where string) {
	p := object(c.at(ptr))
	if p == nil || p["$ref"] != nil {
		return
	}
	name, _ := p["name"].(string)
	in, _ := p["in"].(string)
	c.header(ptr, where, fmt.Sprintf("%s parameter %q", in, name))
}

// header checks a header (or a parameter: they share these fields).
func (c *exampleChecker) header(ptr, where, label string) {
	h := object(c.at(ptr))
	if h == nil || h["$ref"] != nil {
		return
	}
	if h["schema"] != nil {
		c.schema(ptr+"/schema", where, label+" schema")
		c.examples(h, ptr+"/schema", where, label)
	}
	c.content(ptr+"/content", where, label)
}

// content checks each media type of a content map.
func (c *exampleChecker) content(ptr, where, label string) {
	media := object(c.at(ptr))
	for _, mt := range sortedKeys(media) {
		m := object(media[mt])
		if m == nil || m["schema"] == nil {
			continue
		}
		at := ptr + "/" + escape(mt)
		c.schema(at+"/schema", where, label+" "+mt+" schema")
		c.examples(m, at+"/schema", where, label+" "+mt)
	}
}

// examples validates the example and examples of a media type, parameter or header
// against the schema at schemaPtr.
func (c *exampleChecker) examples(node map[string]any, schemaPtr, where, label string) {
	if ex, ok := node["example"]; ok {
		c.validate(schemaPtr, ex, where, label+" example")
	}
	named := object(node["examples"])
	for _, name := range sortedKeys(named) {
		ex := object(named[name])
		what := fmt.Sprintf("%s example %q", label, name)
		if ref, ok := ex["$ref"].(string); ok {
			what += " (" + ref + ")"
			target, found := strings.CutPrefix(ref, "#")
			if !found {
				continue // an external example: not this rule's to fetch
			}
			if ex = object(c.at(target)); ex == nil {
				c.report(where, what+" refers to nothing")
				continue
			}
		}
		if value, ok := ex["value"]; ok {
			c.validate(schemaPtr, value, where, what)
		}
	}
}

// schemaMaps, schemaSingles and schemaLists are the JSON Schema 2020-12 keywords that hold
// subschemas (a map of them, one, or a list of them).
var (
	schemaMaps    = []string{"properties", "patternProperties", "$defs", "dependentSchemas"}
	schemaSingles = []string{"items", "additionalProperties", "unevaluatedItems", "unevaluatedProperties", "not", "contains", "propertyNames", "if", "then", "else", "contentSchema"}
	schemaLists   = []string{"prefixItems", "allOf", "anyOf", "oneOf"}
)

// schema validates a schema's own example and examples, and those of its subschemas. A
// $ref is not followed: its target is checked where it is defined.
func (c *exampleChecker) schema(ptr, where, label string) {
	s := object(c.at(ptr))
	if s == nil {
		return // a boolean schema
	}
	if ex, ok := s["example"]; ok {
		c.validate(ptr, ex, where, label+" example")
	}
	for i, ex := range array(s["examples"]) {
		c.validate(ptr, ex, where, fmt.Sprintf("%s examples[%d]", label, i))
	}
	for _, kw := range schemaMaps {
		for _, key := range sortedKeys(object(s[kw])) {
			sub := label + "." + key
			if kw != "properties" {
				sub = label + "." + kw + "." + key
			}
			c.schema(ptr+"/"+kw+"/"+escape(key), where, sub)
		}
	}
	for _, kw := range schemaSingles {
		if s[kw] != nil {
			c.schema(ptr+"/"+kw, where, label+"."+kw)
		}
	}
	for _, kw := range schemaLists {
		for i := range array(s[kw]) {
			c.schema(fmt.Sprintf("%s/%s/%d", ptr, kw, i), where, fmt.Sprintf("%s.%s[%d]", label, kw, i))
		}
	}
}

// validate reports value if it does not validate against the schema at schemaPtr.
func (c *exampleChecker) validate(schemaPtr string, value any, where, what string) {
	sch, ok := c.compiled[schemaPtr]
	if !ok {
		var err error
		sch, err = c.compiler.Compile(docURL + "#" + schemaPtr)
		if err != nil {
			c.report(where, fmt.Sprintf("%s: its schema (#%s) does not compile: %v", what, schemaPtr, err))
		}
		c.compiled[schemaPtr] = sch
	}
	if sch == nil {
		return
	}
	err := sch.Validate(value)
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		c.report(where, fmt.Sprintf("%s: %v", what, err))
		return
	}
	c.report(where, what+" does not match its schema: "+strings.Join(leaves(ve), "; "))
}

func (c *exampleChecker) report(where, message string) {
	c.findings = append(c.findings, Finding{Rule: RuleValidExamples, Where: where, Message: message})
}

// leaves describes the innermost causes of a validation error ("at '/meta/duration':
// minimum: got -1, want 0"), sorted (the engine's order follows map iteration), without
// duplicates.
func leaves(ve *jsonschema.ValidationError) []string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			if msg := e.Error(); !slices.Contains(out, msg) {
				out = append(out, msg)
			}
			return
		}
		for _, cause := range e.Causes {
			walk(cause)
		}
	}
	walk(ve)
	slices.Sort(out)
	return out
}

// at returns the node at a JSON pointer into the document, or nil.
func (c *exampleChecker) at(ptr string) any {
	var node any = c.root
	if ptr == "" {
		return node
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case map[string]any:
			node = n[tok]
		case []any:
			var i int
			if _, err := fmt.Sscanf(tok, "%d", &i); err != nil || i < 0 || i >= len(n) {
				return nil
			}
			node = n[i]
		default:
			return nil
		}
	}
	return node
}

// escape encodes a JSON pointer token.
func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func array(v any) []any {
	a, _ := v.([]any)
	return a
}

// stringKeys turns YAML mappings with non-string keys (an unquoted 200) into JSON objects.
func stringKeys(v any) any {
	switch n := v.(type) {
	case map[string]any:
		for k, e := range n {
			n[k] = stringKeys(e)
		}
		return n
	case map[any]any:
		m := make(map[string]any, len(n))
		for k, e := range n {
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		for i, e := range n {
			n[i] = stringKeys(e)
		}
		return n
	default:
		return v
	}
}

// intRange asserts the OpenAPI formats int32 and int64 on integers.
func intRange(lo, hi int64) func(any) error {
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return nil
		}
		i, ok := new(big.Int).SetString(n.String(), 10)
		if !ok {
			return nil // not an integer: the type keyword's business
		}
		if i.Cmp(big.NewInt(lo)) < 0 || i.Cmp(big.NewInt(hi)) > 0 {
			return fmt.Errorf("%s is out of range [%d, %d]", n, lo, hi)
		}
		return nil
	}
}
