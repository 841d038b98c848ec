package validation

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/routes"
	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// param is one compiled parameter check.
type param struct {
	name     string // as declared; canonical MIME form for headers
	in       string // path, query or header
	field    string // "query.pageSize", for details
	required bool
	kind     string // JSON type the string is read as: string, integer, number, boolean, array
	itemKind string // for arrays
	explode  bool   // for query arrays: repeated keys (true) or comma separated (false)
	def      string // default, applied to the query when absent ("" = none)
	schema   *schema
}

func compileParams(c *compilers, op *routes.Operation, skip []string) ([]*param, error) {
	var out []*param
	seen := map[string]bool{}
	add := func(refs openapi3.Parameters, base string) error {
		for i, ref := range refs {
			p := ref.Value
			if p == nil || seen[p.In+":"+p.Name] {
				continue
			}
			seen[p.In+":"+p.Name] = true
			name := p.Name
			if p.In == openapi3.ParameterInHeader {
				name = http.CanonicalHeaderKey(name)
				if slices.Contains(skip, name) {
					continue
				}
			}
			if p.In == openapi3.ParameterInCookie {
				continue
			}
			pointer := fmt.Sprintf("%s/parameters/%d", base, i)
			if ref.Ref != "" {
				pointer = refPointer(ref.Ref)
			}
			if p.Schema == nil || p.Schema.Value == nil {
				return fmt.Errorf("parameter %s has no schema", p.Name)
			}
			s, err := c.compile(pointer + "/schema")
			if err != nil {
				return err
			}
			cp := &param{
				name:     name,
				in:       p.In,
				field:    p.In + "." + name,
				required: p.Required || p.In == openapi3.ParameterInPath,
				kind:     kindOf(p.Schema.Value),
				explode:  p.Explode == nil || *p.Explode,
				schema:   s,
			}
			if cp.kind == "array" && p.Schema.Value.Items != nil && p.Schema.Value.Items.Value != nil {
				cp.itemKind = kindOf(p.Schema.Value.Items.Value)
			}
			if d := p.Schema.Value.Default; d != nil && p.In == openapi3.ParameterInQuery && cp.kind != "array" {
				cp.def = defaultString(d)
			}
			out = append(out, cp)
		}
		return nil
	}
	// Operation parameters override path-item parameters of the same name and location.
	if err := add(op.Op.Parameters, op.Pointer); err != nil {
		return nil, err
	}
	if err := add(op.PathItem.Parameters, op.Pointer[:strings.LastIndexByte(op.Pointer, '/')]); err != nil {
		return nil, err
	}
	return out, nil
}

// defaultString renders a parameter default as it would appear in a query string: numbers
// in plain notation (1000000, not 1e+06).
func defaultString(d any) string {
	switch v := d.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return string(v)
	}
	return fmt.Sprint(d)
}

// kindOf is the JSON type a parameter's string is read as: the schema's first non-null type.
func kindOf(s *openapi3.Schema) string {
	if s.Type != nil {
		for _, t := range *s.Type {
			if t != "null" {
				return t
			}
		}
	}
	return "string"
}

// validateParams checks every parameter, adding the details to out; missing defaults are
// added to the query so that the generated handler binds them.
func (v *Validator) validateParams(c echo.Context, op *operation, out *collector) error {
	var query url.Values
	for _, p := range op.params {
		var values []string
		switch p.in {
		case openapi3.ParameterInPath:
			raw := c.Param(p.name)
			if strings.IndexByte(raw, '/') >= 0 {
				// Echo lets a route's last path parameter swallow further segments;
				// the contract's parameters never span segments.
				return apierror.ErrRouteNotFound
			}
			s, err := url.PathUnescape(raw)
			if err != nil {
				return apierror.ErrInvalidPath.Wrap(err)
			}
			values = []string{s}
		case openapi3.ParameterInQuery:
			if query == nil {
				query = c.QueryParams()
			}
			values = query[p.name]
			if len(values) == 0 && p.def != "" {
				query.Set(p.name, p.def)
				continue
			}
		case openapi3.ParameterInHeader:
			values = c.Request().Header.Values(p.name)
		}
		if len(values) == 0 {
			if p.required {
				out.add(apierror.Detail{Field: p.field, Constraint: "required", Message: "is required"})
			}
			continue
		}
		value, d := p.read(values, v.numbers)
		if d != nil {
			out.add(*d)
			continue
		}
		p.schema.explain(&walk{v: v, c: out, prefix: p.field}, value)
	}
	return nil
}

// read turns the parameter's string values into the JSON value its schema validates.
// Numbers beyond the limits of JSON bodies are refused as they are there.
func (p *param) read(values []string, limits strictjson.Limits) (any, *apierror.Detail) {
	if p.kind == "array" {
		if !p.explode || p.in != openapi3.ParameterInQuery {
			if len(values) > 1 {
				return nil, p.notSingle(values)
			}
			values = strings.Split(values[0], ",")
		}
		items := make([]any, len(values))
		for i, s := range values {
			if d := numberLimits(p.itemKind, s, limits); d != nil {
				d.Field = fmt.Sprintf("%s[%d]", p.field, i)
				return nil, d
			}
			v, ok := scalar(p.itemKind, s)
			if !ok {
				return nil, &apierror.Detail{Field: fmt.Sprintf("%s[%d]", p.field, i), Constraint: "type", Message: "must be " + article(p.itemKind), Received: clip(s)}
			}
			items[i] = v
		}
		return items, nil
	}
	if len(values) > 1 {
		return nil, p.notSingle(values)
	}
	if d := numberLimits(p.kind, values[0], limits); d != nil {
		d.Field = p.field
		return nil, d
	}
	v, ok := scalar(p.kind, values[0])
	if !ok {
		return nil, &apierror.Detail{Field: p.field, Constraint: "type", Message: "must be " + article(p.kind), Received: clip(values[0])}
	}
	return v, nil
}

func (p *param) notSingle(values []string) *apierror.Detail {
	return &apierror.Detail{Field: p.field, Constraint: "type", Message: fmt.Sprintf("must be given once, got %d values", len(values))}
}

// numberLimits refuses a number parameter whose literal is beyond limits (length,
// exponent), before any arithmetic on it; nil when s is not refused.
func numberLimits(kind, s string, limits strictjson.Limits) *apierror.Detail {
	if (kind == "integer" || kind == "number") && !limits.NumberWithin(s) {
		return &apierror.Detail{Constraint: "format", Message: fmt.Sprintf(
			"must be a number of at most %d characters, with an exponent of at most %d", limits.MaxNumberLength, limits.MaxNumberExponent)}
	}
	return nil
}

// scalar reads s as a JSON value of the given type.
func scalar(kind, s string) (any, bool) {
	switch kind {
	case "integer":
		if !isIntegerLiteral(s) {
			return nil, false
		}
		return json.Number(s), true
	case "number":
		if _, err := strconv.ParseFloat(s, 64); err != nil || !isNumberLiteral(s) {
			return nil, false
		}
		return json.Number(s), true
	case "boolean":
		switch s {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		return nil, false
	case "object":
		return nil, false
	}
	return s, true
}

func isIntegerLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isNumberLiteral rejects what strconv accepts but JSON does not (Inf, NaN, hex, '+', '_').
func isNumberLiteral(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '-' || c == '.' || c == 'e' || c == 'E' || c == '+' && i > 0) {
			return false
		}
	}
	return true
}
