package binding

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// raw is the extension's shape; every field is optional here and checked by parse.
type raw struct {
	Service   *string
	Operation *string
	Params    map[string]string
	Body      *string
	Data      *string
}

func parse(op *openapi3.Operation) (*Binding, bool, error) {
	if op == nil {
		return nil, false, nil
	}
	ext, ok := op.Extensions[Extension]
	if !ok {
		return nil, false, nil
	}
	fail := func(field, format string, args ...any) error {
		at := Extension
		if field != "" {
			at += "." + field
		}
		return fmt.Errorf("operation %s: %s: %s", opName(op), at, fmt.Sprintf(format, args...))
	}
	r, err := decode(ext, fail)
	if err != nil {
		return nil, true, err
	}
	b := &Binding{Params: r.Params, Data: "body"}
	if r.Service == nil || *r.Service == "" {
		return nil, true, fail("service", "required")
	}
	b.Service = *r.Service
	if r.Operation == nil || *r.Operation == "" {
		return nil, true, fail("operation", "required")
	}
	b.Operation = *r.Operation
	for name, src := range r.Params {
		if name == "" {
			return nil, true, fail("params", "empty parameter name")
		}
		if err := checkSource(src); err != nil {
			return nil, true, fail("params."+name, "%v", err)
		}
	}
	if r.Body != nil {
		if *r.Body != "body" {
			return nil, true, fail("body", "must be body (the public body as is), got %q", *r.Body)
		}
		b.Body = *r.Body
	}
	if r.Data != nil {
		d := *r.Data
		field, isField := strings.CutPrefix(d, "body.")
		switch {
		case d == "body":
		case isField && field != "" && !strings.Contains(field, "."):
		default:
			return nil, true, fail("data", "must be body or body.<field> (a top-level field), got %q", d)
		}
		b.Data = d
	}
	return b, true, nil
}

// Source places of a parameter source.
const (
	SourcePath   = "path"
	SourceQuery  = "query"
	SourceHeader = "header"
	SourceAuth   = "auth"
	SourceConst  = "const"
)

// ParseSource splits a parameter source into its place (path, query, header, auth, const)
// and its name (or, for const, its value): "query.limit" -> ("query", "limit"),
// "auth.subject" -> ("auth", "subject"), "const:10" -> ("const", "10").
func ParseSource(src string) (place, name string, err error) {
	if v, ok := strings.CutPrefix(src, "const:"); ok {
		return SourceConst, v, nil
	}
	place, name, ok := strings.Cut(src, ".")
	switch {
	case !ok || name == "":
	case place == SourceAuth && name == "subject":
		return place, name, nil
	case place == SourcePath || place == SourceQuery || place == SourceHeader:
		return place, name, nil
	}
	return "", "", fmt.Errorf("unknown source %q (path.<name>, query.<name>, header.<name>, auth.subject, const:<value>)", src)
}

func checkSource(src string) error {
	_, _, err := ParseSource(src)
	return err
}

func opName(op *openapi3.Operation) string {
	if op.OperationID == "" {
		return "(no operationId)"
	}
	return op.OperationID
}

// decode reads the extension (as kin-openapi holds it: decoded YAML) field by field, so that
// an error names the field.
func decode(ext any, fail func(field, format string, args ...any) error) (*raw, error) {
	js, err := json.Marshal(ext)
	if err != nil {
		return nil, fail("", "%v", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(js, &fields); err != nil || fields == nil {
		return nil, fail("", "must be an object")
	}
	r := &raw{}
	str := func(name string, dst **string) error {
		v, ok := fields[name]
		if !ok {
			return nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fail(name, "must be a string")
		}
		*dst = &s
		return nil
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch name {
		case "service":
			err = str(name, &r.Service)
		case "operation":
			err = str(name, &r.Operation)
		case "body":
			err = str(name, &r.Body)
		case "data":
			err = str(name, &r.Data)
		case "params":
			var params map[string]json.RawMessage
			if json.Unmarshal(fields[name], &params) != nil || params == nil {
				return nil, fail(name, "must be an object (upstream parameter name: source)")
			}
			r.Params = make(map[string]string, len(params))
			for k, v := range params {
				var src string
				if json.Unmarshal(v, &src) != nil {
					return nil, fail("params."+k, "must be a string")
				}
				r.Params[k] = src
			}
		default:
			return nil, fail(name, "unknown field (service, operation, params, body, data)")
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}
