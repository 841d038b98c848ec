package binding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// raw is the extension's JSON shape; unknown fields are errors.
type raw struct {
	Service   *string           `json:"service"`
	Operation *string           `json:"operation"`
	Params    map[string]string `json:"params"`
	Body      *string           `json:"body"`
	Data      *string           `json:"data"`
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
		return fmt.Errorf("operation %s: %s.%s: %s", opName(op), Extension, field, fmt.Sprintf(format, args...))
	}
	js, err := json.Marshal(ext)
	if err != nil {
		return nil, true, fmt.Errorf("operation %s: %s: %w", opName(op), Extension, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var r raw
	if err := dec.Decode(&r); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			return nil, true, fail(ute.Field, "must be %s", kindName(ute.Type.Kind().String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return nil, true, fail(name, "unknown field (service, operation, params, body, data)")
		default:
			return nil, true, fmt.Errorf("operation %s: %s: must be an object: %w", opName(op), Extension, err)
		}
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

func kindName(k string) string {
	switch k {
	case "map":
		return "an object"
	case "string":
		return "a string"
	default:
		return k
	}
}
