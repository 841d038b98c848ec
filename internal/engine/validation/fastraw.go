package validation

import (
	"bytes"
	"encoding/json"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// The fast path over bytes. ValidJSON runs the fast tree (fasteval.go) over the JSON text
// itself rather than over a decoded tree, so that a valid value costs no allocation at all:
// for answers checked on their way out (internal/engine/binding), where the tree would be
// built only to be validated. It decides "valid" only; everything else (invalid, unsure,
// and the parts it does not handle, such as escaped member names or uniqueItems) is left to
// the caller's decode and Validate, which give the verdict and its details. A differential
// test keeps it in agreement with the tree path.

// ValidJSON reports whether data is what strictjson.Decode(data, 0) accepts and its value is
// valid for every one of schemas (Schema.Validate returns nil), when the fast path can tell
// so from the bytes alone. false means "not decided here": decode data and Validate it for
// the verdict and the details. A schema outside the fast subset is never decided here.
// ValidJSON does not allocate on its valid path.
func ValidJSON(data []byte, schemas ...*Schema) bool {
	for _, s := range schemas {
		if s == nil || s.s.fast == nil {
			return false
		}
	}
	v, ok := strictjson.Accepts(data)
	if !ok {
		return false
	}
	return validRaw(v, schemas)
}

// ValidAccepted is ValidJSON for a value the caller knows strictjson.Accepts accepts, with
// no surrounding whitespace (the value Accepts returns, or a projection of one that keeps
// members and elements verbatim and whose limits are checked): it skips that pass.
func ValidAccepted(value []byte, schemas ...*Schema) bool {
	for _, s := range schemas {
		if s == nil || s.s.fast == nil {
			return false
		}
	}
	if len(value) == 0 {
		return false
	}
	return validRaw(value, schemas)
}

// validRaw runs the fast checks of schemas (each fast-compiled) over v, one value
// strictjson.Accepts accepts.
func validRaw(v []byte, schemas []*Schema) bool {
	rc := rawPool.Get().(*rawCheck)
	defer rc.put()
	rc.b = v
	for _, s := range schemas {
		if r, _ := rc.value(s.s.fast, 0); r != valid {
			return false
		}
	}
	return true
}

// rawCheck is the state of checking one JSON text: the text, and scratch space for the
// unquoted form of the string being checked; pooled.
type rawCheck struct {
	b   []byte
	buf []byte
}

var rawPool = sync.Pool{New: func() any { return new(rawCheck) }}

func (rc *rawCheck) put() {
	rc.b = nil
	if cap(rc.buf) > 64<<10 {
		rc.buf = nil
	}
	rawPool.Put(rc)
}

// view returns b as a string without copying it: for calls that do not keep their argument.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// value checks the value starting at rc.b[i] against n, as n.check checks its decoded form,
// except that it may answer unsure where check decides. On valid, end is the index after
// the value.
func (rc *rawCheck) value(n *node, i int) (r verdict, end int) {
	if n.always {
		return valid, strictjson.SkipValue(rc.b, i)
	}
	if n.never {
		return invalid, 0
	}
	end = -1
	if n.ref != nil {
		if r, end = rc.value(n.ref, i); r != valid {
			return r, 0
		}
	}
	var e int
	switch rc.b[i] {
	case '{':
		r, e = rc.object(n, i)
	case '[':
		r, e = rc.array(n, i)
	case '"':
		r, e = rc.str(n, i)
	case 't', 'f', 'n':
		r, e = rc.literal(n, i)
	default:
		r, e = rc.number(n, i)
	}
	if r != valid {
		return r, 0
	}
	if e >= 0 {
		end = e
	}
	for _, s := range n.allOf {
		if r, e = rc.value(s, i); r != valid {
			return r, 0
		}
		end = e
	}
	if n.anyOf != nil {
		any := invalid
		for _, s := range n.anyOf {
			if x, e := rc.value(s, i); x != invalid {
				any = x
				if x == valid {
					end = e
					break
				}
			}
		}
		if any != valid {
			return any, 0
		}
	}
	if n.oneOf != nil {
		matched := 0
		for _, s := range n.oneOf {
			switch x, e := rc.value(s, i); x {
			case valid:
				matched++
				end = e
			case unsure:
				return unsure, 0
			}
		}
		if matched != 1 {
			return invalid, 0
		}
	}
	if n.not != nil {
		switch x, _ := rc.value(n.not, i); x {
		case valid:
			return invalid, 0
		case unsure:
			return unsure, 0
		}
	}
	if end < 0 {
		end = strictjson.SkipValue(rc.b, i)
	}
	return valid, end
}

// types checks the type keyword for a value of JSON type t (not a number).
func (n *node) typeOK(t typeMask) bool {
	return n.types == 0 || n.types&t != 0
}

// object checks the object at rc.b[i]; end -1 when it did not read it.
func (rc *rawCheck) object(n *node, i int) (verdict, int) {
	if !n.typeOK(tObject) {
		return invalid, 0
	}
	if n.enum != nil || n.hasConst {
		return unsure, 0 // comparing containers: the tree decides
	}
	if n.props == nil && n.required == nil && n.additional == nil && n.minProps <= 0 && n.maxProps < 0 {
		return valid, -1
	}
	if !n.indexed {
		return unsure, 0
	}
	b := rc.b
	var seen uint64 // the required members present, by their bits in n.reqMask
	count := 0
	i++
	for {
		i = strictjson.SkipSpace(b, i)
		if b[i] == '}' {
			i++
			break
		}
		if b[i] == ',' {
			i = strictjson.SkipSpace(b, i+1)
		}
		ne := strictjson.SkipString(b, i)
		name := b[i+1 : ne-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			return unsure, 0
		}
		i = strictjson.SkipSpace(b, strictjson.SkipSpace(b, ne)+1) // past the ':'
		count++
		child := n.additional
		if m, ok := n.members.Find(name); ok {
			seen |= m.req
			if m.node != nil {
				child = m.node
			}
		}
		if child == nil {
			i = strictjson.SkipValue(b, i)
			continue
		}
		r, e := rc.value(child, i)
		if r != valid {
			return r, 0
		}
		i = e
	}
	if count < n.minProps || n.maxProps >= 0 && count > n.maxProps || seen != n.reqMask {
		return invalid, 0
	}
	return valid, i
}

// array checks the array at rc.b[i]; end -1 when it did not read it.
func (rc *rawCheck) array(n *node, i int) (verdict, int) {
	if !n.typeOK(tArray) {
		return invalid, 0
	}
	if n.enum != nil || n.hasConst || n.uniqueItems {
		return unsure, 0 // comparing containers: the tree decides
	}
	if n.items == nil && n.minItems <= 0 && n.maxItems < 0 {
		return valid, -1
	}
	b := rc.b
	count := 0
	i++
	for {
		i = strictjson.SkipSpace(b, i)
		if b[i] == ']' {
			i++
			break
		}
		if b[i] == ',' {
			i = strictjson.SkipSpace(b, i+1)
		}
		count++
		if n.items == nil {
			i = strictjson.SkipValue(b, i)
			continue
		}
		r, e := rc.value(n.items, i)
		if r != valid {
			return r, 0
		}
		i = e
	}
	if count < n.minItems || n.maxItems >= 0 && count > n.maxItems {
		return invalid, 0
	}
	return valid, i
}

// str checks the string at rc.b[i].
func (rc *rawCheck) str(n *node, i int) (verdict, int) {
	if !n.typeOK(tString) {
		return invalid, 0
	}
	end := strictjson.SkipString(rc.b, i)
	if n.minLen < 0 && n.maxLen < 0 && n.pattern == nil && n.formatStr == nil && n.enum == nil && !n.hasConst {
		return valid, end
	}
	raw := rc.b[i:end]
	s := view(raw[1 : len(raw)-1])
	if bytes.IndexByte(raw, '\\') >= 0 {
		var err error
		if rc.buf, err = jsontext.AppendUnquote(rc.buf[:0], raw); err != nil {
			return unsure, 0
		}
		s = view(rc.buf) // valid until the next string is unquoted
	}
	if n.hasConst {
		if c, ok := n.constVal.(string); !ok || c != s {
			return invalid, 0
		}
	}
	if n.enum != nil && !inEnumString(n.enum, s) {
		return invalid, 0
	}
	if r := n.checkString(s); r != valid {
		return r, 0
	}
	if n.formatStr != nil {
		if r := n.formatStr(s); r != valid {
			return r, 0
		}
	}
	return valid, end
}

func inEnumString(enum []any, s string) bool {
	for _, e := range enum {
		if x, ok := e.(string); ok && x == s {
			return true
		}
	}
	return false
}

// literal checks true, false or null at rc.b[i].
func (rc *rawCheck) literal(n *node, i int) (verdict, int) {
	var v any // nil, true or false: boxing a bool does not allocate
	t, end := tNull, i+4
	switch rc.b[i] {
	case 't':
		v, t = true, tBoolean
	case 'f':
		v, t, end = false, tBoolean, i+5
	}
	if !n.typeOK(t) {
		return invalid, 0
	}
	if n.hasConst && jsonEqual(v, n.constVal) != valid {
		return invalid, 0
	}
	if n.enum != nil && !inEnum(n.enum, v) {
		return invalid, 0
	}
	return valid, end
}

// number checks the number at rc.b[i].
func (rc *rawCheck) number(n *node, i int) (verdict, int) {
	end := strictjson.NumberEnd(rc.b, i)
	num := json.Number(view(rc.b[i:end]))
	if n.types != 0 {
		t := tNumber
		if n.types&tInteger != 0 && n.types&tNumber == 0 {
			switch isIntegral(num) {
			case valid:
				t |= tInteger
			case unsure:
				return unsure, 0
			}
		}
		if n.types&t == 0 {
			return invalid, 0
		}
	}
	if n.hasConst {
		c, ok := n.constVal.(json.Number)
		if !ok {
			return invalid, 0
		}
		if r := numberEqual(num, c); r != valid {
			return r, 0
		}
	}
	if n.enum != nil {
		found := invalid
		for _, e := range n.enum {
			if x, ok := e.(json.Number); ok {
				if eq := numberEqual(num, x); eq != invalid {
					found = eq
					if eq == valid {
						break
					}
				}
			}
		}
		if found != valid {
			return found, 0
		}
	}
	if r := n.checkNumber(num); r != valid {
		return r, 0
	}
	if n.formatNum != nil {
		if r := n.formatNum(num); r != valid {
			return r, 0
		}
	}
	return valid, end
}
