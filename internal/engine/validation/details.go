package validation

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

func asValidationError(err error) (*jsonschema.ValidationError, bool) {
	return errors.AsType[*jsonschema.ValidationError](err)
}

// collector gathers the details of one request, at most max of them. Once a violation
// beyond the cap is found it is full: validation stops and the error says that more were
// found.
type collector struct {
	out  []apierror.Detail
	max  int
	more bool
}

// add appends d, or marks the collector full when the cap is reached.
func (c *collector) add(d apierror.Detail) {
	if len(c.out) >= c.max {
		c.more = true
		return
	}
	c.out = append(c.out, d)
}

// full reports whether a violation beyond the cap was found: nothing more is looked at.
func (c *collector) full() bool { return c.more }

// violations adds the details of a JSON Schema validation error tree to out: one detail per
// violated keyword, each located by field (prefix plus the instance path, e.g.
// body.items[0].quantity). It never includes schema text or Go error strings.
func (v *Validator) violations(prefix string, instance any, ve *jsonschema.ValidationError, out *collector) {
	n := len(out.out)
	v.collect(prefix, instance, ve, out)
	if len(out.out) == n && !out.full() {
		out.add(apierror.Detail{Field: prefix, Constraint: "schema", Message: "is invalid"})
	}
}

func (v *Validator) collect(prefix string, instance any, ve *jsonschema.ValidationError, out *collector) {
	if out.full() {
		return
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		// Report the branch the value was evidently meant for (the one whose discriminating
		// const/enum matched); without one, say that no alternative matched.
		if branch := intendedBranch(ve); branch != nil {
			v.collect(prefix, instance, branch, out)
			return
		}
		loc := ve.InstanceLocation
		msg := "must match exactly one of the allowed alternatives"
		constraint := "oneOf"
		if _, ok := k.(*kind.AnyOf); ok {
			msg, constraint = "must match at least one of the allowed alternatives", "anyOf"
		}
		if o, ok := k.(*kind.OneOf); ok && len(o.Subschemas) > 1 {
			msg = "matches more than one of the allowed alternatives"
		}
		out.add(apierror.Detail{Field: field(prefix, instance, loc), Constraint: constraint, Message: msg})
		return
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			v.collect(prefix, instance, c, out)
		}
		return
	}
	leaf(prefix, instance, ve, out)
	if _, ok := ve.ErrorKind.(*kind.Format); ok {
		v.afterFormat(prefix, instance, ve, out)
	}
}

// afterFormat reports the keywords the full engine did not evaluate because a format
// failed first (it stops at the first failing format): the value is validated again against
// the same schema with formats not asserted.
func (v *Validator) afterFormat(prefix string, instance any, ve *jsonschema.ValidationError, out *collector) {
	s, err := v.formatless.compile(ve.SchemaURL)
	if err != nil {
		return
	}
	value, ok := valueAt(instance, ve.InstanceLocation)
	if !ok {
		return
	}
	if err := s.Validate(value); err != nil {
		if nested, ok := asValidationError(err); ok {
			v.collect(field(prefix, instance, ve.InstanceLocation), value, nested, out)
		}
	}
}

// intendedBranch returns the only alternative that did not fail on a const or enum directly
// inside it (a discriminator such as {"method": {"const": "card"}}), or nil.
func intendedBranch(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	var found *jsonschema.ValidationError
	depth := len(ve.InstanceLocation)
	for _, c := range ve.Causes {
		if discriminatorMismatch(c, depth) {
			continue
		}
		if found != nil {
			return nil
		}
		found = c
	}
	return found
}

func discriminatorMismatch(ve *jsonschema.ValidationError, depth int) bool {
	switch ve.ErrorKind.(type) {
	case *kind.Const, *kind.Enum:
		if len(ve.InstanceLocation) == depth+1 {
			return true
		}
	case *kind.Type:
		if len(ve.InstanceLocation) == depth {
			return true // not even the right type: not the intended branch
		}
	}
	for _, c := range ve.Causes {
		if discriminatorMismatch(c, depth) {
			return true
		}
	}
	return false
}

func leaf(prefix string, instance any, ve *jsonschema.ValidationError, out *collector) {
	loc := ve.InstanceLocation
	at := field(prefix, instance, loc)
	d := apierror.Detail{Field: at}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			if out.full() {
				return
			}
			out.add(apierror.Detail{Field: member(at, m), Constraint: "required", Message: "is required"})
		}
		return
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			if out.full() {
				return
			}
			out.add(apierror.Detail{Field: member(at, p), Constraint: "additionalProperties", Message: "is not allowed"})
		}
		return
	case *kind.FalseSchema:
		d.Constraint, d.Message = "false", "is not allowed"
	case *kind.Type:
		d.Constraint = "type"
		wants := make([]string, len(k.Want))
		for i, w := range k.Want {
			wants[i] = article(w)
		}
		d.Message = "must be " + strings.Join(wants, " or ")
	case *kind.Minimum:
		d.Constraint, d.Message = "minimum", "must be at least "+rat(k.Want)
	case *kind.Maximum:
		d.Constraint, d.Message = "maximum", "must be at most "+rat(k.Want)
	case *kind.ExclusiveMinimum:
		d.Constraint, d.Message = "exclusiveMinimum", "must be greater than "+rat(k.Want)
	case *kind.ExclusiveMaximum:
		d.Constraint, d.Message = "exclusiveMaximum", "must be less than "+rat(k.Want)
	case *kind.MultipleOf:
		d.Constraint, d.Message = "multipleOf", "must be a multiple of "+rat(k.Want)
	case *kind.MinLength:
		d.Constraint, d.Message = "minLength", fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		d.Constraint, d.Message = "maxLength", fmt.Sprintf("must be at most %d characters long", k.Want)
	case *kind.MinItems:
		d.Constraint, d.Message = "minItems", fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		d.Constraint, d.Message = "maxItems", fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.UniqueItems:
		d.Constraint, d.Message = "uniqueItems", "must not contain duplicate items"
	case *kind.MinProperties:
		d.Constraint, d.Message = "minProperties", fmt.Sprintf("must have at least %d properties", k.Want)
	case *kind.MaxProperties:
		d.Constraint, d.Message = "maxProperties", fmt.Sprintf("must have at most %d properties", k.Want)
	case *kind.Pattern:
		d.Constraint, d.Message = "pattern", "must match the pattern "+k.Want
	case *kind.Enum:
		d.Constraint, d.Message = "enum", "must be one of: "+list(k.Want)
	case *kind.Const:
		d.Constraint, d.Message = "const", "must be "+display(k.Want)
	case *kind.Format:
		d.Constraint = "format"
		switch k.Want {
		case "int32", "int64":
			d.Message = "must fit in a " + strings.TrimPrefix(k.Want, "int") + "-bit integer"
		case "double", "float":
			d.Message = "must be a finite number"
		default:
			d.Message = "must be a valid " + k.Want
		}
	default:
		kw := ve.ErrorKind.KeywordPath()
		d.Constraint, d.Message = "schema", "is invalid"
		if len(kw) > 0 {
			d.Constraint = kw[len(kw)-1]
		}
	}
	if v, ok := valueAt(instance, loc); ok {
		d.Received = scalarOrNil(v)
	}
	out.add(d)
}

// field renders an instance location as prefix.key[3].key, walking the instance to tell
// array indexes from object keys. Member names are written by appendKey (clipped, quoted
// when ambiguous) and the whole path by clipPath, so a detail's field is bounded whatever
// the body's keys.
func field(prefix string, instance any, loc []string) string {
	if len(loc) == 0 {
		return prefix
	}
	var b strings.Builder
	b.WriteString(prefix)
	cur := instance
	for _, seg := range loc {
		switch c := cur.(type) {
		case []any:
			b.WriteByte('[')
			b.WriteString(seg)
			b.WriteByte(']')
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(c) {
				cur = c[i]
			} else {
				cur = nil
			}
		case map[string]any:
			appendKey(&b, seg)
			cur = c[seg]
		default:
			appendKey(&b, seg)
			cur = nil
		}
		if b.Len() > maxFieldPath {
			break
		}
	}
	return clipPath(b.String())
}

// member returns the field path of member name under the object at path at.
func member(at, name string) string {
	var b strings.Builder
	b.WriteString(at)
	appendKey(&b, name)
	return clipPath(b.String())
}

// maxFieldKey caps one member name in a detail's field (bytes, before "…").
const maxFieldKey = 128

// maxFieldPath caps a detail's whole field (bytes, before "…"): deep paths of long names
// (up to the nesting limit) stay bounded too.
const maxFieldPath = 512

// appendKey writes one member name of a field path: .name, or ["name"] (Go-quoted) when the
// name is empty or holds a character that would make the path ambiguous (. [ ] " or a
// control character). Names longer than maxFieldKey bytes are clipped with "…".
func appendKey(b *strings.Builder, key string) {
	quote := key == ""
	for i := 0; i < len(key) && !quote; i++ {
		switch c := key[i]; {
		case c == '.', c == '[', c == ']', c == '"', c < 0x20, c == 0x7f:
			quote = true
		}
	}
	key = clipTo(key, maxFieldKey)
	if !quote {
		b.WriteByte('.')
		b.WriteString(key)
		return
	}
	b.WriteByte('[')
	b.WriteString(strconv.Quote(key))
	b.WriteByte(']')
}

// clipPath clips a field path to maxFieldPath bytes with "…".
func clipPath(path string) string { return clipTo(path, maxFieldPath) }

func valueAt(instance any, loc []string) (any, bool) {
	cur := instance
	for _, seg := range loc {
		switch c := cur.(type) {
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		default:
			return nil, false
		}
	}
	return cur, true
}

// maxReceived caps a received string echoed back in a detail.
const maxReceived = 128

// scalarOrNil returns v when it is safe to echo back (a scalar), else nil (omitted).
func scalarOrNil(v any) any {
	switch x := v.(type) {
	case string:
		return clip(x)
	case bool:
		return x
	case json.Number:
		// Only what every JSON client decodes: a finite float64 (so not 1e400).
		if f, err := strconv.ParseFloat(string(x), 64); err != nil || math.IsInf(f, 0) {
			return nil
		}
		return x
	}
	return nil
}

func clip(s string) string { return clipTo(s, maxReceived) }

// clipTo returns s, or its first n bytes (never splitting a UTF-8 sequence) and "…".
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

func article(t string) string {
	switch t {
	case "integer":
		return "an integer"
	case "object":
		return "an object"
	case "array":
		return "an array"
	case "null":
		return "null"
	case "":
		return "a value"
	}
	return "a " + t
}

func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func display(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "the allowed value"
	}
	return string(b)
}

func list(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		if str, ok := v.(string); ok {
			s[i] = str
		} else {
			s[i] = display(v)
		}
	}
	return strings.Join(s, ", ")
}
