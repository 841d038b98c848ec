package mcp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Argument names that are not the contract's parameter names.
const (
	// BodyArgument is the argument holding the operation's JSON request body.
	BodyArgument = "body"
	// IdempotencyKeyArgument is the argument holding the Idempotency-Key header.
	IdempotencyKeyArgument = "idempotencyKey"
)

// idempotencyHeader is the header IdempotencyKeyArgument fills.
const idempotencyHeader = "Idempotency-Key"

// componentSchemas is where the contract's named schemas are; a tool's schemas carry the
// ones they use under $defs.
const componentSchemas = "#/components/schemas/"

// argument is one tool argument: where it goes in the operation's request.
type argument struct {
	name  string // the argument's name
	in    string // "path", "query", "header" or "body"
	param string // the parameter's (or header's) name in the contract
	// explode: an array query argument repeats the parameter (form, explode: true, the
	// default) rather than joining its items with commas.
	explode bool
}

// inputSchema returns the operation's arguments and their JSON Schema (2020-12, as OpenAPI
// 3.1's schemas are): an object with a property per path, query and header parameter (the
// Idempotency-Key header as idempotencyKey) and the JSON body as `body`; required as the
// contract requires them; no other property.
func inputSchema(op *routes.Operation, doc *openapi3.T) ([]argument, json.RawMessage, error) {
	defs := newDefs(doc)
	props := map[string]any{}
	var required []string
	var args []argument
	add := func(a argument, schema *openapi3.SchemaRef, description string, req bool) error {
		if _, dup := props[a.name]; dup {
			return fmt.Errorf("%s: two arguments named %q", Extension, a.name)
		}
		s := map[string]any{}
		if schema != nil {
			v, err := defs.convert(schema)
			if err != nil {
				return fmt.Errorf("%s: argument %q: %w", Extension, a.name, err)
			}
			s = v
		}
		if _, has := s["description"]; !has && description != "" {
			s["description"] = description
		}
		props[a.name] = s
		if req {
			required = append(required, a.name)
		}
		args = append(args, a)
		return nil
	}
	for _, p := range parameters(op) {
		a := argument{name: p.Name, in: p.In, param: p.Name, explode: p.Explode == nil || *p.Explode}
		switch p.In {
		case openapi3.ParameterInPath, openapi3.ParameterInQuery:
		case openapi3.ParameterInHeader:
			if http.CanonicalHeaderKey(p.Name) == idempotencyHeader {
				a.name = IdempotencyKeyArgument
			}
		default:
			return nil, nil, fmt.Errorf("%s: parameter %q in %s cannot be a tool argument", Extension, p.Name, p.In)
		}
		if err := add(a, p.Schema, p.Description, p.Required || p.In == openapi3.ParameterInPath); err != nil {
			return nil, nil, err
		}
	}
	if rb := op.Op.RequestBody; rb != nil && rb.Value != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil {
			return nil, nil, fmt.Errorf("%s: the request body is not application/json", Extension)
		}
		if err := add(argument{name: BodyArgument, in: "body"}, mt.Schema, rb.Value.Description, rb.Value.Required); err != nil {
			return nil, nil, err
		}
	}
	schema := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		schema["required"] = required
	}
	if len(defs.done) > 0 {
		schema["$defs"] = defs.done
	}
	raw, err := json.Marshal(schema)
	return args, raw, err
}

// outputSchema returns the JSON Schema of the `data` of the operation's first success
// answer (2xx, application/json) when it is an object, else nil.
func outputSchema(op *routes.Operation, doc *openapi3.T) (json.RawMessage, error) {
	if op.Op.Responses == nil {
		return nil, nil
	}
	codes := make([]string, 0, op.Op.Responses.Len())
	for code := range op.Op.Responses.Map() {
		if len(code) == 3 && code[0] == '2' {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	for _, code := range codes {
		r := op.Op.Responses.Value(code)
		if r == nil || r.Value == nil {
			continue
		}
		mt := r.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
			continue
		}
		data := mt.Schema.Value.Properties["data"]
		if data == nil || data.Value == nil || data.Value.Type == nil || !data.Value.Type.Is(openapi3.TypeObject) {
			// An output schema must be an object for clients before SEP-2106 (MCP
			// 2025-11-25 and earlier): a list's data is structured content without one.
			return nil, nil
		}
		defs := newDefs(doc)
		s, err := defs.convert(data)
		if err != nil {
			return nil, fmt.Errorf("%s: output schema: %w", Extension, err)
		}
		if len(defs.done) > 0 {
			s["$defs"] = defs.done
		}
		return json.Marshal(s)
	}
	return nil, nil
}

// parameters returns the operation's parameters: the path item's, overridden by the
// operation's own of the same name and location.
func parameters(op *routes.Operation) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	seen := map[string]bool{}
	for _, list := range []openapi3.Parameters{op.Op.Parameters, op.PathItem.Parameters} {
		for _, p := range list {
			if p == nil || p.Value == nil || seen[p.Value.In+" "+p.Value.Name] {
				continue
			}
			seen[p.Value.In+" "+p.Value.Name] = true
			out = append(out, p.Value)
		}
	}
	return out
}

// defs converts the contract's schemas into self-contained JSON Schemas: a $ref to a named
// schema of the contract becomes a $ref into the tool schema's $defs, which holds every
// named schema it reaches (recursive schemas included).
type defs struct {
	doc  *openapi3.T
	done map[string]any
}

func newDefs(doc *openapi3.T) *defs { return &defs{doc: doc, done: map[string]any{}} }

// convert returns s as a JSON Schema object whose $refs point into d's $defs.
func (d *defs) convert(s *openapi3.SchemaRef) (map[string]any, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	if err := d.rewrite(tree); err != nil {
		return nil, err
	}
	return tree, nil
}

// rewrite points every $ref in v into $defs, adding the named schemas it reaches.
func (d *defs) rewrite(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if ref, ok := child.(string); ok && k == "$ref" {
				name, ok := strings.CutPrefix(ref, componentSchemas)
				if !ok {
					return fmt.Errorf("$ref %q: only %s... is supported", ref, componentSchemas)
				}
				v[k] = "#/$defs/" + name
				if err := d.add(name); err != nil {
					return err
				}
				continue
			}
			if err := d.rewrite(child); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range v {
			if err := d.rewrite(child); err != nil {
				return err
			}
		}
	}
	return nil
}

// add puts the named schema (converted) in $defs, once.
func (d *defs) add(name string) error {
	if _, ok := d.done[name]; ok {
		return nil
	}
	var s *openapi3.SchemaRef
	if d.doc.Components != nil {
		s = d.doc.Components.Schemas[name]
	}
	if s == nil || s.Value == nil {
		return fmt.Errorf("no schema %q in the contract", name)
	}
	d.done[name] = nil // taken: a recursive reference stops here
	tree, err := d.convert(&openapi3.SchemaRef{Value: s.Value})
	if err != nil {
		return err
	}
	d.done[name] = tree
	return nil
}

// annotations are the tool's hints, from the operation's method and idempotency.
func annotations(op *routes.Operation, args []argument) *sdk.ToolAnnotations {
	a := &sdk.ToolAnnotations{Title: op.Op.Summary}
	switch op.Method {
	case http.MethodGet, http.MethodHead:
		a.ReadOnlyHint, a.IdempotentHint = true, true
	case http.MethodPut, http.MethodDelete:
		a.IdempotentHint = true
	}
	for _, arg := range args {
		if arg.name == IdempotencyKeyArgument {
			a.IdempotentHint = true // a repeat with the same key replays the answer
		}
	}
	return a
}
