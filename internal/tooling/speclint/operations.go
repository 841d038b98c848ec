package speclint

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// checkOperation applies every per-operation rule to op.
func checkOperation(doc *openapi3.T, o operation) []Finding {
	var out []Finding
	add := func(rule, format string, args ...any) {
		out = append(out, Finding{Rule: rule, Where: o.where(), Message: fmt.Sprintf(format, args...)})
	}

	if strings.TrimSpace(o.op.OperationID) == "" {
		add(RuleOperationID, "has no operationId")
	}
	if strings.TrimSpace(o.op.Summary) == "" {
		add(RuleOperationSummary, "has no summary")
	}

	params := o.parameters()
	for _, status := range requiredErrorStatuses(doc, o, params) {
		if !declares(o.op.Responses, status.code) {
			add(RuleErrorResponses, "does not declare the %s response (%s)", status.code, status.why)
		}
	}
	for _, m := range errorEnvelopeProblems(o.op.Responses) {
		add(RuleErrorEnvelope, "%s", m)
	}
	for _, m := range sharedComponentProblems(o.op.Responses) {
		add(RuleSharedComponents, "%s", m)
	}

	if body := o.op.RequestBody; body != nil && body.Value != nil {
		for _, mt := range sortedKeys(body.Value.Content) {
			media := body.Value.Content[mt]
			if media == nil || media.Schema == nil {
				continue
			}
			for _, m := range openObjects(media.Schema) {
				add(RuleStrictRequestBody, "request body %s: %s", mt, m)
			}
		}
	}

	for _, p := range params {
		if p.In != openapi3.ParameterInPath {
			continue
		}
		switch {
		case p.Schema == nil || p.Schema.Value == nil:
			add(RulePathParameterConstraint, "path parameter %q has no schema to constrain it", p.Name)
		case !constrained(p.Schema.Value):
			add(RulePathParameterConstraint, "path parameter %q has neither a pattern nor a format", p.Name)
		}
	}

	for _, m := range paginationProblems(o, params) {
		add(RulePagination, "%s", m)
	}
	return out
}

type requiredStatus struct{ code, why string }

// requiredErrorStatuses are the error responses o must declare.
func requiredErrorStatuses(doc *openapi3.T, o operation, params []*openapi3.Parameter) []requiredStatus {
	out := []requiredStatus{{"500", "every operation can fail unexpectedly"}}
	if len(params) > 0 || o.op.RequestBody != nil {
		out = append(out, requiredStatus{"422", "it takes parameters or a request body, which are validated"})
	}
	if secured(doc, o.op) {
		out = append(out,
			requiredStatus{"401", "it is secured"},
			requiredStatus{"403", "it is secured, and a caller may lack a scope"})
	}
	return out
}

// secured reports whether the operation's effective security requires credentials: it
// has at least one requirement and no empty (anonymous) alternative.
func secured(doc *openapi3.T, op *openapi3.Operation) bool {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	return len(reqs) > 0 && !slices.ContainsFunc(reqs, func(r openapi3.SecurityRequirement) bool { return len(r) == 0 })
}

// declares reports whether responses has the status code or its range ("5XX").
func declares(responses *openapi3.Responses, code string) bool {
	if responses == nil {
		return false
	}
	return responses.Value(code) != nil || responses.Value(code[:1]+"XX") != nil || responses.Value(code[:1]+"xx") != nil
}

// errorEnvelopeProblems describes each 4xx, 5xx or default response that is not the
// envelope.
func errorEnvelopeProblems(responses *openapi3.Responses) []string {
	if responses == nil {
		return nil
	}
	var out []string
	for _, code := range responses.Keys() {
		if code != "default" && !strings.HasPrefix(code, "4") && !strings.HasPrefix(code, "5") {
			continue
		}
		ref := responses.Value(code)
		if ref == nil || ref.Value == nil {
			continue
		}
		name := "response " + code
		if ref.Ref != "" {
			name += " (" + ref.Ref + ")"
		}
		if len(ref.Value.Content) == 0 {
			out = append(out, name+" has no content; error responses are the shared ErrorEnvelope ($ref: "+ErrorEnvelopeRef+")")
			continue
		}
		for _, mt := range sortedKeys(ref.Value.Content) {
			if isProblem(mt) {
				continue // RFC 9457 is the alternative representation of the same error
			}
			if media := ref.Value.Content[mt]; media == nil || media.Schema == nil {
				out = append(out, fmt.Sprintf("%s %s has no schema; it must be the shared ErrorEnvelope ($ref: %s)", name, mt, ErrorEnvelopeRef))
			}
		}
	}
	return out
}

// sharedComponentProblems describes each response that does not use the shared components
// (components.yaml) where the engine writes them: every 4xx, 5xx or default JSON response
// is the shared ErrorEnvelope, and every 2xx JSON envelope (an object schema with success
// or meta) has the shared Meta as meta (directly or as an allOf member).
func sharedComponentProblems(responses *openapi3.Responses) []string {
	if responses == nil {
		return nil
	}
	var out []string
	for _, code := range responses.Keys() {
		isError := code == "default" || strings.HasPrefix(code, "4") || strings.HasPrefix(code, "5")
		if !isError && !strings.HasPrefix(code, "2") {
			continue
		}
		ref := responses.Value(code)
		if ref == nil || ref.Value == nil {
			continue
		}
		name := "response " + code
		if ref.Ref != "" {
			name += " (" + ref.Ref + ")"
		}
		for _, mt := range sortedKeys(ref.Value.Content) {
			media := ref.Value.Content[mt]
			if !isJSON(mt) || isProblem(mt) || media == nil || media.Schema == nil {
				continue // error-envelope reports a missing schema
			}
			if isError {
				if !isShared(media.Schema.Ref, "ErrorEnvelope") {
					out = append(out, fmt.Sprintf("%s %s uses %s; error responses must use the shared ErrorEnvelope ($ref: %s)",
						name, mt, describe(media.Schema), ErrorEnvelopeRef))
				}
				continue
			}
			s := media.Schema.Value
			if s == nil || (s.Properties["success"] == nil && s.Properties["meta"] == nil) {
				continue // not an envelope
			}
			switch meta := s.Properties["meta"]; {
			case meta == nil:
				out = append(out, fmt.Sprintf("%s %s is an envelope without meta; success envelopes are {success, data, meta} with the shared Meta ($ref: %s)",
					name, mt, MetaRef))
			case !sharedMeta(meta):
				out = append(out, fmt.Sprintf("%s %s: meta uses %s; success envelopes must use the shared Meta ($ref: %s)",
					name, mt, describe(meta), MetaRef))
			}
		}
	}
	return out
}

// sharedMeta reports whether meta is the shared Meta, or an allOf with it as a member.
func sharedMeta(meta *openapi3.SchemaRef) bool {
	if isShared(meta.Ref, "Meta") {
		return true
	}
	return meta.Ref == "" && meta.Value != nil && slices.ContainsFunc(meta.Value.AllOf, func(m *openapi3.SchemaRef) bool {
		return m != nil && isShared(m.Ref, "Meta")
	})
}

// isShared reports whether ref points at the schema name of the shared components file
// (any path to a file named components.yaml, as written in the contract).
func isShared(ref, name string) bool {
	u, err := url.Parse(ref)
	return err == nil && u.Path != "" && path.Base(u.Path) == SharedComponentsFile &&
		u.Fragment == "/components/schemas/"+name
}

func mediaBase(mt string) string {
	base, _, _ := strings.Cut(mt, ";")
	return strings.ToLower(strings.TrimSpace(base))
}

func isProblem(mt string) bool { return mediaBase(mt) == "application/problem+json" }

func isJSON(mt string) bool {
	b := mediaBase(mt)
	return b == "application/json" || strings.HasSuffix(b, "+json")
}

// describe names a schema for messages: its $ref, or "an inline schema".
func describe(s *openapi3.SchemaRef) string {
	if s.Ref != "" {
		return "$ref " + s.Ref
	}
	return "an inline schema"
}

// constrained reports whether a path parameter's schema limits its values by pattern or
// format (directly or in an allOf member).
func constrained(s *openapi3.Schema) bool {
	if s.Pattern != "" || s.Format != "" {
		return true
	}
	for _, a := range s.AllOf {
		if a != nil && a.Value != nil && constrained(a.Value) {
			return true
		}
	}
	return false
}

// openObjects walks a request body schema and describes every object schema in it that
// does not set additionalProperties: false, by where it sits ("body.items[]").
func openObjects(root *openapi3.SchemaRef) []string {
	var out []string
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef, at string)
	walk = func(ref *openapi3.SchemaRef, at string) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if isObject(s) && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has || s.AdditionalProperties.Schema != nil) {
			name := at
			if ref.Ref != "" {
				name += " (" + ref.Ref + ")"
			}
			out = append(out, fmt.Sprintf("object schema at %s does not set additionalProperties: false", name))
		}
		for _, p := range sortedKeys(s.Properties) {
			walk(s.Properties[p], at+"."+p)
		}
		for _, p := range sortedKeys(s.PatternProperties) {
			walk(s.PatternProperties[p], at+".<"+p+">")
		}
		walk(s.AdditionalProperties.Schema, at+".<additionalProperties>")
		walk(s.Items, at+"[]")
		for i, item := range s.PrefixItems {
			walk(item, fmt.Sprintf("%s[%d]", at, i))
		}
		for _, c := range []struct {
			kw   string
			list openapi3.SchemaRefs
		}{{"allOf", s.AllOf}, {"anyOf", s.AnyOf}, {"oneOf", s.OneOf}} {
			for i, member := range c.list {
				walk(member, fmt.Sprintf("%s<%s[%d]>", at, c.kw, i))
			}
		}
	}
	walk(root, "body")
	return out
}

// isObject reports whether s describes JSON objects: its type includes object, or it has
// no type and declares properties.
func isObject(s *openapi3.Schema) bool {
	if s.Type != nil && !s.Type.IsEmpty() {
		return s.Type.Includes(openapi3.TypeObject)
	}
	return len(s.Properties) > 0 || len(s.PatternProperties) > 0 || s.AdditionalProperties.Schema != nil || len(s.Required) > 0
}

// paginationProblems describes what a list operation lacks; it returns nothing for an
// operation that is not a list.
func paginationProblems(o operation, params []*openapi3.Parameter) []string {
	ok := o.op.Responses.Value("200")
	if ok == nil || ok.Value == nil {
		return nil
	}
	media := ok.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil || media.Schema.Value == nil {
		return nil
	}
	data := property(media.Schema.Value, "data", 0)
	if data == nil || data.Value == nil || !data.Value.Type.Includes(openapi3.TypeArray) {
		return nil
	}

	var out []string
	query := map[string]*openapi3.Parameter{}
	for _, p := range params {
		if p.In == openapi3.ParameterInQuery {
			query[p.Name] = p
		}
	}
	if query["page"] == nil {
		out = append(out, "lists items (200 data is an array) but has no page query parameter")
	}
	switch size := query["pageSize"]; {
	case size == nil:
		out = append(out, "lists items (200 data is an array) but has no pageSize query parameter")
	case size.Schema == nil || size.Schema.Value == nil || size.Schema.Value.Max == nil:
		out = append(out, "query parameter pageSize has no maximum; page sizes must be bounded")
	}
	meta := property(media.Schema.Value, "meta", 0)
	if meta == nil || meta.Value == nil || property(meta.Value, "pagination", 0) == nil {
		out = append(out, "lists items (200 data is an array) but its 200 response does not declare meta.pagination")
	}
	return out
}

// property finds a declared property of s, looking into allOf members too.
func property(s *openapi3.Schema, name string, depth int) *openapi3.SchemaRef {
	if s == nil || depth > 16 {
		return nil
	}
	if p := s.Properties[name]; p != nil {
		return p
	}
	for _, a := range s.AllOf {
		if a == nil {
			continue
		}
		if p := property(a.Value, name, depth+1); p != nil {
			return p
		}
	}
	return nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
