package validation

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// The fast path. A contract's schemas are also compiled into a tree of plain Go checks for
// the JSON Schema 2020-12 keywords a contract commonly uses. It decides valid or invalid
// without allocating and hands over to the full engine (santhosh-tekuri/jsonschema) when it
// is unsure (numbers beyond float64's exact range) or when a value is invalid, so the
// details and the final verdict always come from the full engine. A schema using any keyword
// outside the fast subset is not fast-compiled at all: the full engine alone validates it.
// A differential fuzz test keeps the two engines in agreement.

type verdict uint8

const (
	valid verdict = iota
	invalid
	unsure
)

type typeMask uint8

const (
	tNull typeMask = 1 << iota
	tBoolean
	tObject
	tArray
	tNumber
	tInteger
	tString
)

var typeNames = map[string]typeMask{
	"null": tNull, "boolean": tBoolean, "object": tObject, "array": tArray,
	"number": tNumber, "integer": tInteger, "string": tString,
}

// node is one compiled schema. Zero values mean "keyword absent".
type node struct {
	always, never bool // the boolean schemas true and false
	ref           *node
	types         typeMask
	enum          []any
	hasConst      bool
	constVal      any

	minLen, maxLen int // -1: absent
	pattern        *regexp.Regexp
	format         func(any) verdict
	// formatStr and formatNum are format for a string and a number (nil: any passes), for
	// checks that have no decoded value to hand (see fastraw.go).
	formatStr func(string) verdict
	formatNum func(json.Number) verdict

	min, max, exMin, exMax *float64
	multipleOf             float64

	props    map[string]*node
	propList []prop // props, for iteration without ranging over the instance
	required []string
	// members is props and required by name, for the check over bytes (fastraw.go): one
	// lookup per member of the instance; reqMask has a bit per distinct required name.
	members      strictjson.Names[memberInfo]
	reqMask      uint64
	indexed      bool // members and reqMask are built (false: over 64 required names)
	additional   *node
	minProps     int
	maxProps     int // -1: absent
	items        *node
	minItems     int
	maxItems     int // -1: absent
	uniqueItems  bool
	allOf, anyOf []*node
	oneOf        []*node
	not          *node

	// full is the same schema compiled by the full engine, which explain asks about the
	// parts of an invalid value it does not split itself.
	full *jsonschema.Schema
}

// unsupported are the JSON Schema 2020-12 keywords outside the fast subset: a schema using
// one is validated by the full engine alone. Keywords unknown to JSON Schema (annotations,
// OpenAPI's discriminator, x- extensions) are ignored by both engines.
var unsupported = map[string]bool{
	"$id": true, "$anchor": true, "$dynamicRef": true, "$dynamicAnchor": true,
	"$recursiveRef": true, "$recursiveAnchor": true, "$vocabulary": true, "$schema": true,
	"prefixItems": true, "contains": true, "minContains": true, "maxContains": true,
	"patternProperties": true, "propertyNames": true, "dependentRequired": true,
	"dependentSchemas": true, "dependencies": true, "if": true, "then": true, "else": true,
	"unevaluatedItems": true, "unevaluatedProperties": true, "additionalItems": true,
	"contentSchema": true,
}

// memberInfo is what an object schema says of one member name: its declared property's node
// (nil when only required), and its bit in the node's reqMask (0 when not required).
type memberInfo struct {
	node *node
	req  uint64
}

// indexMembers builds n.members from n.props and n.required; false when n requires more
// than 64 distinct names (the check over bytes then leaves such objects to the tree).
func (n *node) indexMembers() bool {
	if n.props == nil && n.required == nil {
		return true
	}
	byName := make(map[string]memberInfo, len(n.props)+len(n.required))
	for name, c := range n.props {
		byName[name] = memberInfo{node: c}
	}
	bit := 0
	for _, name := range n.required {
		m := byName[name]
		if m.req != 0 {
			continue // listed twice
		}
		if bit == 64 {
			n.reqMask = 0
			return false
		}
		m.req = 1 << bit
		n.reqMask |= m.req
		bit++
		byName[name] = m
	}
	n.members = strictjson.NewNames(byName)
	return true
}

// prop is one declared property.
type prop struct {
	name string
	node *node
}

// fastCompiler compiles schemas of one contract, sharing nodes per JSON pointer (so
// recursive schemas terminate).
type fastCompiler struct {
	doc         any
	nodes       map[string]*node
	formats     map[string]formatChecks
	fullFormats map[string]func(any) verdict
	full        *jsonschema.Compiler
	// journal lists the pointers compiled by the current top-level compile, so that a
	// failure removes every node built meanwhile (some may point at the failed one).
	journal []string
	depth   int
}

func newFastCompiler(doc any, full *jsonschema.Compiler) *fastCompiler {
	return &fastCompiler{doc: doc, nodes: map[string]*node{}, formats: map[string]formatChecks{}, fullFormats: map[string]func(any) verdict{}, full: full}
}

// compile returns the fast node of the schema at pointer, or an error naming the first
// keyword outside the fast subset. On an error, every node built by this call is dropped:
// nodes reached through references may point at the unfinished one.
func (fc *fastCompiler) compile(pointer string) (*node, error) {
	if n, ok := fc.nodes[pointer]; ok {
		return n, nil
	}
	raw, err := resolvePointer(fc.doc, pointer)
	if err != nil {
		return nil, err
	}
	if fc.depth == 0 {
		fc.journal = fc.journal[:0]
	}
	fc.depth++
	n := &node{minLen: -1, maxLen: -1, maxProps: -1, maxItems: -1}
	fc.nodes[pointer] = n
	fc.journal = append(fc.journal, pointer)
	err = fc.fill(n, raw, pointer)
	fc.depth--
	if err != nil {
		if fc.depth == 0 {
			for _, p := range fc.journal {
				delete(fc.nodes, p)
			}
			fc.journal = fc.journal[:0]
		}
		return nil, err
	}
	return n, nil
}

func (fc *fastCompiler) fill(n *node, raw any, at string) error {
	switch s := raw.(type) {
	case bool:
		n.always, n.never = s, !s
		return nil
	case map[string]any:
		for k, v := range s {
			if err := fc.keyword(n, s, k, v, at); err != nil {
				return err
			}
		}
		n.indexed = n.indexMembers()
		return nil
	}
	return fmt.Errorf("%s: not a schema", at)
}

func (fc *fastCompiler) keyword(n *node, s map[string]any, k string, v any, at string) error {
	sub := func(name string) string { return at + "/" + escapeToken(name) }
	var err error
	switch k {
	case "$ref":
		ref, _ := v.(string)
		if !strings.HasPrefix(ref, "#/") {
			return fmt.Errorf("%s: $ref %q outside the contract", at, ref)
		}
		n.ref, err = fc.compile(refPointer(ref))
	case "type":
		switch t := v.(type) {
		case string:
			n.types |= typeNames[t]
		case []any:
			for _, x := range t {
				name, _ := x.(string)
				n.types |= typeNames[name]
			}
		}
		if n.types&tNumber != 0 {
			n.types |= tInteger
		}
	case "enum":
		n.enum, _ = v.([]any)
	case "const":
		n.hasConst, n.constVal = true, v
	case "minLength":
		n.minLen, err = intOf(v)
	case "maxLength":
		n.maxLen, err = intOf(v)
	case "pattern":
		str, _ := v.(string)
		n.pattern, err = regexp.Compile(str)
	case "minimum":
		n.min, err = floatOf(v)
	case "maximum":
		n.max, err = floatOf(v)
	case "exclusiveMinimum":
		n.exMin, err = floatOf(v)
	case "exclusiveMaximum":
		n.exMax, err = floatOf(v)
	case "multipleOf":
		var f *float64
		if f, err = floatOf(v); err == nil {
			n.multipleOf = *f
		}
	case "properties":
		props, _ := v.(map[string]any)
		n.props = make(map[string]*node, len(props))
		for name := range props {
			if n.props[name], err = fc.compile(sub("properties") + "/" + escapeToken(name)); err != nil {
				return err
			}
			n.propList = append(n.propList, prop{name, n.props[name]})
		}
		slices.SortFunc(n.propList, func(a, b prop) int { return strings.Compare(a.name, b.name) })
	case "required":
		list, _ := v.([]any)
		for _, r := range list {
			name, _ := r.(string)
			n.required = append(n.required, name)
		}
	case "additionalProperties":
		n.additional, err = fc.compile(sub(k))
	case "minProperties":
		n.minProps, err = intOf(v)
	case "maxProperties":
		n.maxProps, err = intOf(v)
	case "items":
		n.items, err = fc.compile(sub(k))
	case "minItems":
		n.minItems, err = intOf(v)
	case "maxItems":
		n.maxItems, err = intOf(v)
	case "uniqueItems":
		n.uniqueItems, _ = v.(bool)
	case "allOf", "anyOf", "oneOf":
		list, _ := v.([]any)
		nodes := make([]*node, len(list))
		for i := range list {
			if nodes[i], err = fc.compile(fmt.Sprintf("%s/%d", sub(k), i)); err != nil {
				return err
			}
		}
		switch k {
		case "allOf":
			n.allOf = nodes
		case "anyOf":
			n.anyOf = nodes
		default:
			n.oneOf = nodes
		}
	case "not":
		n.not, err = fc.compile(sub(k))
	case "format":
		var f formatChecks
		if f, err = fc.formatChecks(v); err == nil {
			n.format, n.formatStr, n.formatNum = f.any, f.str, f.num
		}
	default:
		if unsupported[k] {
			return fmt.Errorf("%s: keyword %q is validated by the full engine only", at, k)
		}
	}
	if err != nil {
		return fmt.Errorf("%s/%s: %w", at, k, err)
	}
	return nil
}

// formatChecks is the check of one format: for any value, and for a string and a number
// (nil: every string, or number, passes). any is built from str and num, so that all three
// agree by construction.
type formatChecks struct {
	any func(any) verdict
	str func(string) verdict
	num func(json.Number) verdict
}

// formatCheck returns the check of a format: cheap ones inline, the rest through a one-keyword
// schema of the full engine (so both engines agree by construction); unknown formats pass,
// as in the full engine.
func (fc *fastCompiler) formatCheck(v any) (func(any) verdict, error) {
	f, err := fc.formatChecks(v)
	return f.any, err
}

// formatChecks is formatCheck with the string and number checks.
func (fc *fastCompiler) formatChecks(v any) (formatChecks, error) {
	name, _ := v.(string)
	if f, ok := fc.formats[name]; ok {
		return f, nil
	}
	var f formatChecks
	switch name {
	case "int32", "int64", "double", "float":
		check := map[string]func(string) bool{"int32": intRangeOf(math.MinInt32, math.MaxInt32), "int64": intRangeOf(math.MinInt64, math.MaxInt64), "double": finiteOf(64), "float": finiteOf(32)}[name]
		// A plain integer of at most exactDigits digits is within int64, float and double:
		// only int32's range needs a look, without strconv.
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if name == "int32" {
			lo, hi = math.MinInt32, math.MaxInt32
		}
		f.num = func(x json.Number) verdict {
			if i, ok := smallInt(string(x)); ok {
				return boolVerdict(i >= lo && i <= hi)
			}
			if !check(string(x)) {
				return invalid
			}
			return valid
		}
	case "date-time":
		// Decides only the plain RFC 3339 shape; anything unusual (leap seconds, odd
		// offsets) goes to the full engine.
		full, err := fc.fullFormat(name)
		if err != nil {
			return formatChecks{}, err
		}
		f.str = func(s string) verdict {
			if plainDateTime(s) {
				return valid
			}
			return full(s)
		}
	case "uuid":
		f.str = func(s string) verdict {
			if isUUID(s) {
				return valid
			}
			return invalid
		}
	default:
		full, err := fc.fullFormat(name)
		if err != nil {
			return formatChecks{}, err
		}
		f.str = func(s string) verdict { return full(s) }
	}
	str, num := f.str, f.num
	f.any = func(x any) verdict {
		switch v := x.(type) {
		case string:
			if str != nil {
				return str(v)
			}
		case json.Number:
			if num != nil {
				return num(v)
			}
		}
		return valid
	}
	fc.formats[name] = f
	return f, nil
}

// fullFormat checks a format with a one-keyword schema of the full engine, so that both
// engines agree by construction.
func (fc *fastCompiler) fullFormat(name string) (func(any) verdict, error) {
	if f, ok := fc.fullFormats[name]; ok {
		return f, nil
	}
	url := "contractgate:///format/" + name
	if err := fc.full.AddResource(url, map[string]any{"format": name}); err != nil {
		return nil, err
	}
	s, err := fc.full.Compile(url)
	if err != nil {
		return nil, err
	}
	f := func(x any) verdict {
		if _, ok := x.(string); !ok {
			return valid
		}
		if s.Validate(x) != nil {
			return invalid
		}
		return valid
	}
	fc.fullFormats[name] = f
	return f, nil
}

// plainDateTime reports whether s is an RFC 3339 date-time of the everyday shape
// 2006-01-02T15:04:05[.frac](Z|+hh:mm), with every field in range (time.Parse checks the
// calendar). Leap seconds and other rarities are left to the full engine.
func plainDateTime(s string) bool {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return false
		}
		rest = rest[i:]
	}
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		if rest[1] > '2' || rest[1] == '2' && rest[2] > '3' || rest[4] > '5' {
			return false
		}
	default:
		return false
	}
	if s[17] > '5' { // seconds 60 (leap) and beyond: the full engine decides
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func intOf(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number")
	}
	i, err := strconv.Atoi(string(n))
	return i, err
}

func floatOf(v any) (*float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, fmt.Errorf("not a number")
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return &f, err
}

func escapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func resolvePointer(doc any, pointer string) (any, error) {
	cur := doc
	if pointer == "" {
		return cur, nil
	}
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("%s: not found", pointer)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("%s: not found", pointer)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%s: not found", pointer)
		}
	}
	return cur, nil
}
