package binding

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// proj is the projection of a JSON value onto a public schema. The zero value keeps a value
// as is. Projection never changes a kept value's bytes: numbers and strings pass through
// exactly as the upstream wrote them.
type proj struct {
	// object is set when the schema constrains objects (properties, additionalProperties
	// or type object): only props, and extra for the other members, are kept.
	object bool
	props  map[string]*proj
	names  strictjson.Names[*proj] // props, for the lookup of each member
	// extra projects the members props does not name; nil drops them.
	extra *proj
	// items projects array elements; nil keeps them as is.
	items *proj
}

var keepAll = &proj{}

// projector compiles schemas into projections once, sharing the projection of a set of
// schemas, so that recursive schemas ($ref cycles) give cyclic projections.
type projector struct {
	memo map[string]*proj
}

func newProjector() *projector { return &projector{memo: map[string]*proj{}} }

// compile returns the projection onto the union of the given schemas.
func (pc *projector) compile(schemas []*openapi3.Schema) *proj {
	flat := flatten(schemas)
	if len(flat) == 0 {
		return keepAll
	}
	key := setKey(flat)
	if p, ok := pc.memo[key]; ok {
		return p
	}
	p := &proj{}
	pc.memo[key] = p // before recursing: a cycle finds it
	p.object = declaresObject(flat)
	if p.object {
		byName := map[string][]*openapi3.Schema{}
		var names []string
		var extra []*openapi3.Schema
		extraAll := false
		for _, s := range flat {
			for name, ref := range s.Properties {
				if _, seen := byName[name]; !seen {
					names = append(names, name)
				}
				if ref != nil && ref.Value != nil {
					byName[name] = append(byName[name], ref.Value)
				} else {
					byName[name] = append(byName[name], nil)
				}
			}
			ap := s.AdditionalProperties
			switch {
			case ap.Schema != nil && ap.Schema.Value != nil:
				extra = append(extra, ap.Schema.Value)
			case ap.Has != nil && *ap.Has:
				extraAll = true
			}
		}
		p.props = make(map[string]*proj, len(names))
		for _, name := range names {
			list := byName[name]
			if slices.Contains(list, nil) {
				p.props[name] = keepAll
				continue
			}
			p.props[name] = pc.compile(list)
		}
		p.names = strictjson.NewNames(p.props)
		switch {
		case extraAll:
			p.extra = keepAll
		case len(extra) > 0:
			p.extra = pc.compile(extra)
		}
	}
	var items []*openapi3.Schema
	for _, s := range flat {
		if s.Items != nil && s.Items.Value != nil {
			items = append(items, s.Items.Value)
		}
	}
	if len(items) > 0 {
		p.items = pc.compile(items)
	}
	return p
}

// flatten returns the schemas and, recursively, their allOf, oneOf and anyOf branches, each
// once: the projection keeps the union of what any of them declares.
func flatten(schemas []*openapi3.Schema) []*openapi3.Schema {
	var out []*openapi3.Schema
	seen := map[*openapi3.Schema]bool{}
	var add func(s *openapi3.Schema)
	add = func(s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
			for _, ref := range list {
				if ref != nil {
					add(ref.Value)
				}
			}
		}
	}
	for _, s := range schemas {
		add(s)
	}
	return out
}

// declaresObject reports whether any of the schemas constrains objects' members.
func declaresObject(flat []*openapi3.Schema) bool {
	for _, s := range flat {
		ap := s.AdditionalProperties
		if len(s.Properties) > 0 || ap.Has != nil || ap.Schema != nil || (s.Type != nil && s.Type.Includes(openapi3.TypeObject)) {
			return true
		}
	}
	return false
}

// declaresField reports whether an object of the schemas may hold member name.
func declaresField(flat []*openapi3.Schema, name string) bool {
	for _, s := range flat {
		ap := s.AdditionalProperties
		if s.Properties[name] != nil || ap.Schema != nil || (ap.Has != nil && *ap.Has) {
			return true
		}
	}
	return false
}

func setKey(flat []*openapi3.Schema) string {
	keys := make([]string, len(flat))
	for i, s := range flat {
		keys[i] = fmt.Sprintf("%p", s)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// maxDepth bounds the nesting of the data the projection walks into, as request bodies
// are bounded (strictjson.DefaultMaxDepth); the kept parts are held to it by validation.
const maxDepth = 64

// errTooDeep is an upstream answer nested deeper than maxDepth.
var errTooDeep = errors.New("data nested too deep")

// scanner is the state of projecting one answer: the buffer an answer is read into when the
// policies did not read it whole, the tokenizer for an answer strictjson.Accepts does not
// vouch for, and scratch space; pooled.
type scanner struct {
	in   bytes.Buffer
	lim  io.LimitedReader
	src  bytes.Buffer // the answer, for dec: jsontext reads a bytes.Buffer in place
	dec  *jsontext.Decoder
	name []byte
}

// reset points the decoder at the answer.
func (sc *scanner) reset(answer []byte) {
	sc.src = *bytes.NewBuffer(answer)
	if sc.dec == nil {
		sc.dec = jsontext.NewDecoder(&sc.src)
		return
	}
	sc.dec.Reset(&sc.src)
}

// value appends the projection of the next value onto p to out.
func (sc *scanner) value(out []byte, p *proj, depth int) ([]byte, error) {
	dec := sc.dec
	switch dec.PeekKind() {
	case '{':
		if !p.object {
			break
		}
		if depth >= maxDepth {
			return out, errTooDeep
		}
		if _, err := dec.ReadToken(); err != nil {
			return out, err
		}
		out = append(out, '{')
		first := true
		for dec.PeekKind() != '}' {
			name, err := dec.ReadValue()
			if err != nil {
				return out, err
			}
			child, err := p.member(sc, name)
			if err != nil {
				return out, err
			}
			if child == nil {
				if err := dec.SkipValue(); err != nil {
					return out, err
				}
				continue
			}
			if !first {
				out = append(out, ',')
			}
			first = false
			out = append(out, name...)
			out = append(out, ':')
			if out, err = sc.value(out, child, depth+1); err != nil {
				return out, err
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return out, err
		}
		return append(out, '}'), nil
	case '[':
		if p.items == nil {
			break
		}
		if depth >= maxDepth {
			return out, errTooDeep
		}
		if _, err := dec.ReadToken(); err != nil {
			return out, err
		}
		out = append(out, '[')
		for first := true; dec.PeekKind() != ']'; first = false {
			if !first {
				out = append(out, ',')
			}
			var err error
			if out, err = sc.value(out, p.items, depth+1); err != nil {
				return out, err
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return out, err
		}
		return append(out, ']'), nil
	}
	v, err := dec.ReadValue()
	if err != nil {
		return out, err
	}
	return append(out, v...), nil
}

// member returns the projection of the member with the raw (quoted) name, nil to drop it.
func (p *proj) member(sc *scanner, raw []byte) (*proj, error) {
	name, err := sc.unquote(raw)
	if err != nil {
		return nil, err
	}
	if c, ok := p.names.Find(name); ok {
		return c, nil
	}
	return p.extra, nil
}

// unquote returns the name a raw (quoted) member name spells, valid until the next call.
func (sc *scanner) unquote(raw []byte) ([]byte, error) {
	name := raw[1 : len(raw)-1]
	if bytes.IndexByte(name, '\\') < 0 {
		return name, nil
	}
	var err error
	sc.name, err = jsontext.AppendUnquote(sc.name[:0], raw)
	return sc.name, err
}

// errNoField is an upstream answer without the field the binding takes as data.
var errNoField = errors.New("no such field")

// project appends to out the projection onto p of the upstream answer, or of its top-level
// member field when field is not "". The answer must be exactly one JSON value.
func (sc *scanner) project(out, answer []byte, field string, p *proj) ([]byte, error) {
	sc.reset(answer)
	dec := sc.dec
	var err error
	if field == "" {
		out, err = sc.value(out, p, 0)
	} else {
		out, err = sc.field(out, field, p)
	}
	if err != nil {
		return out, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the answer")
		}
		return out, err
	}
	return out, nil
}

func (sc *scanner) field(out []byte, field string, p *proj) ([]byte, error) {
	dec := sc.dec
	if k := dec.PeekKind(); k != '{' {
		if _, err := dec.ReadToken(); err != nil {
			return out, err
		}
		return out, fmt.Errorf("answer is not an object: %w", errNoField)
	}
	if _, err := dec.ReadToken(); err != nil {
		return out, err
	}
	found := false
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue()
		if err != nil {
			return out, err
		}
		name, err := sc.unquote(raw)
		if err != nil {
			return out, err
		}
		if found || string(name) != field {
			if err := dec.SkipValue(); err != nil {
				return out, err
			}
			continue
		}
		found = true
		if out, err = sc.value(out, p, 0); err != nil {
			return out, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return out, err
	}
	if !found {
		return out, errNoField
	}
	return out, nil
}

// projectAccepted is project for an answer strictjson.Accepts accepted (v, the value it
// returned): the same projection, read off the bytes without a tokenizer, since they are
// known to be one strict JSON value within the limits. A differential fuzz test keeps the two
// in agreement.
func (sc *scanner) projectAccepted(out, v []byte, field string, p *proj) ([]byte, error) {
	if field == "" {
		out, _, err := sc.walk(out, v, 0, p, 0)
		return out, err
	}
	if v[0] != '{' {
		return out, fmt.Errorf("answer is not an object: %w", errNoField)
	}
	for i := 1; ; {
		i = strictjson.SkipSpace(v, i)
		if v[i] == '}' {
			return out, errNoField
		}
		if v[i] == ',' {
			i = strictjson.SkipSpace(v, i+1)
		}
		end := strictjson.SkipString(v, i)
		name, err := sc.unquote(v[i:end])
		if err != nil {
			return out, err
		}
		i = strictjson.SkipSpace(v, strictjson.SkipSpace(v, end)+1) // past the ':'
		if string(name) != field {
			i = strictjson.SkipValue(v, i)
			continue
		}
		out, _, err = sc.walk(out, v, i, p, 0) // names are unique: no other member is field
		return out, err
	}
}

// walk appends the projection onto p of the value at b[i] to out, and returns the index
// after it; b is accepted text (see projectAccepted).
func (sc *scanner) walk(out, b []byte, i int, p *proj, depth int) ([]byte, int, error) {
	switch b[i] {
	case '{':
		if !p.object {
			break
		}
		if depth >= maxDepth {
			return out, 0, errTooDeep
		}
		out = append(out, '{')
		first := true
		for i++; ; {
			i = strictjson.SkipSpace(b, i)
			if b[i] == '}' {
				return append(out, '}'), i + 1, nil
			}
			if b[i] == ',' {
				i = strictjson.SkipSpace(b, i+1)
			}
			end := strictjson.SkipString(b, i)
			raw := b[i:end]
			i = strictjson.SkipSpace(b, strictjson.SkipSpace(b, end)+1) // past the ':'
			child, err := p.member(sc, raw)
			if err != nil {
				return out, 0, err
			}
			if child == nil {
				i = strictjson.SkipValue(b, i)
				continue
			}
			if !first {
				out = append(out, ',')
			}
			first = false
			out = append(append(out, raw...), ':')
			if out, i, err = sc.walk(out, b, i, child, depth+1); err != nil {
				return out, 0, err
			}
		}
	case '[':
		if p.items == nil {
			break
		}
		if depth >= maxDepth {
			return out, 0, errTooDeep
		}
		out = append(out, '[')
		for i, first := i+1, true; ; first = false {
			i = strictjson.SkipSpace(b, i)
			if b[i] == ']' {
				return append(out, ']'), i + 1, nil
			}
			if b[i] == ',' {
				i = strictjson.SkipSpace(b, i+1)
			}
			if !first {
				out = append(out, ',')
			}
			var err error
			if out, i, err = sc.walk(out, b, i, p.items, depth+1); err != nil {
				return out, 0, err
			}
		}
	}
	end := strictjson.SkipValue(b, i)
	return append(out, b[i:end]...), end, nil
}
