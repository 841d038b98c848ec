// Package strictjson decodes request bodies that must be exactly one well-formed JSON value, rejecting everything lenient parsers let through.
package strictjson

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// DefaultMaxDepth is the nesting limit used when Decode is called with maxDepth <= 0.
const DefaultMaxDepth = 64

// MaxDepthLimit is the largest nesting limit Decode honours; larger maxDepth
// values are clamped to it. It equals the hard limit of the underlying
// tokenizer, so that depth violations are always reported as ReasonTooDeep.
const MaxDepthLimit = 10000

// DefaultMaxNumberLength is the longest number literal, in bytes, Decode accepts when
// Limits.MaxNumberLength is <= 0.
const DefaultMaxNumberLength = 1000

// DefaultMaxNumberExponent is the largest exponent magnitude, as written, Decode accepts
// when Limits.MaxNumberExponent is <= 0.
const DefaultMaxNumberExponent = 1000

// Limits bounds what Decode accepts beyond the JSON grammar (RFC 8259 section 9 lets a
// parser limit nesting and the range and precision of numbers). The zero value means the
// defaults.
type Limits struct {
	// MaxDepth caps the nesting of objects and arrays. Default DefaultMaxDepth (64); at
	// most MaxDepthLimit.
	MaxDepth int
	// MaxNumberLength caps one number literal, in bytes (sign, digits, fraction and
	// exponent). Default DefaultMaxNumberLength (1000). Exact decimal arithmetic on a
	// number costs time quadratic in its length: this keeps every later use of a number
	// cheap.
	MaxNumberLength int
	// MaxNumberExponent caps the magnitude of a number literal's exponent as written
	// (1e999999 has 999999). Default DefaultMaxNumberExponent (1000). Exact arithmetic on
	// 1e999999 builds a million-digit integer.
	MaxNumberExponent int
	// MaxContainers caps the objects and arrays of one input (ReasonTooManyContainers),
	// counted before anything is allocated. Default DefaultMaxContainers (100000). A Go map
	// costs some 300 bytes even when it holds one member, so a body of tiny objects would
	// otherwise decode to some 40 times its size.
	MaxContainers int
}

// DefaultMaxContainers is the number of objects and arrays Decode accepts when
// Limits.MaxContainers is <= 0.
const DefaultMaxContainers = 100_000

// withDefaults returns l with every unset field at its default and MaxDepth clamped.
func (l Limits) withDefaults() Limits {
	switch {
	case l.MaxDepth <= 0:
		l.MaxDepth = DefaultMaxDepth
	case l.MaxDepth > MaxDepthLimit:
		l.MaxDepth = MaxDepthLimit
	}
	if l.MaxNumberLength <= 0 {
		l.MaxNumberLength = DefaultMaxNumberLength
	}
	if l.MaxNumberExponent <= 0 {
		l.MaxNumberExponent = DefaultMaxNumberExponent
	}
	if l.MaxContainers <= 0 {
		l.MaxContainers = DefaultMaxContainers
	}
	return l
}

// NumberWithin reports whether a number literal (JSON grammar assumed, as in a decoded
// json.Number or a query parameter read as one) is within l's number limits; unset limits
// are the defaults. It runs in time linear in the literal's length.
func (l Limits) NumberWithin(lit string) bool {
	l = l.withDefaults()
	if len(lit) > l.MaxNumberLength {
		return false
	}
	i := strings.IndexAny(lit, "eE")
	if i < 0 {
		return true
	}
	exp := strings.TrimLeft(strings.TrimLeft(lit[i+1:], "+-"), "0")
	if len(exp) > 9 {
		return false
	}
	e, err := strconv.Atoi(exp)
	return err == nil && e <= l.MaxNumberExponent || exp == ""
}

// utf8BOM is the UTF-8 encoding of U+FEFF.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decoder bundles a reusable tokenizer with the buffer it reads from and
// scratch space; decoders are pooled so that a Decode call allocates little
// beyond the returned tree.
type decoder struct {
	dec      jsontext.Decoder
	in       bytes.Buffer
	data     []byte
	maxDepth int
	limits   Limits

	// sizes holds the number of elements (members) of every array (object) of
	// the input, in the order they open, counted by a first pass over the bytes
	// (see scan) so that each is allocated once with its final size; next is the
	// index of the next container to open.
	sizes []int32
	next  int

	// shared is a copy of data that strings in the tree are sliced from (see
	// maxSharedText); it is made on first use, if share is set.
	shared string
	share  bool
}

// maxPooledSizes bounds the scratch space kept by a pooled decoder.
const maxPooledSizes = 1 << 12

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// Decode is DecodeLimits with the given nesting limit and the default number limits.
func Decode(data []byte, maxDepth int) (any, error) {
	return DecodeLimits(data, Limits{MaxDepth: maxDepth})
}

// DecodeLimits parses data as exactly one JSON value and returns it as the generic tree
// map[string]any / []any / string / json.Number / bool / nil (numbers as json.Number, so that
// github.com/santhosh-tekuri/jsonschema/v6 can validate them exactly).
//
// Decode is strict: it accepts only RFC 8259 JSON encoded as UTF-8, rejects
// duplicate object member names, unpaired surrogate escapes, a leading byte
// order mark, anything but whitespace after the value, nesting deeper than
// l.MaxDepth, and number literals beyond l's number limits (ReasonNumberTooLarge).
// Every error it returns is a *SyntaxError, which matches ErrMalformed.
// The returned tree does not alias data; its strings may share one copy of it.
// Decode is safe for concurrent use.
func DecodeLimits(data []byte, l Limits) (any, error) {
	l = l.withDefaults()
	if bytes.HasPrefix(data, utf8BOM) {
		return nil, &SyntaxError{Reason: ReasonByteOrderMark}
	}

	d := decoderPool.Get().(*decoder)
	// A *bytes.Buffer lets jsontext tokenize data in place, without copying it.
	d.in = *bytes.NewBuffer(data)
	// Duplicate names are found with the object's own map (see object): the tokenizer's
	// check would keep a second set of every object's names.
	d.dec.Reset(&d.in, jsontext.AllowDuplicateNames(true))
	d.data, d.maxDepth, d.limits = data, l.MaxDepth, l
	d.share = len(data) <= maxSharedText

	var v any
	var err error
	d.sizes, d.next = d.sizes[:0], 0
	if d.sizes, err = scan(data, d.sizes, l.MaxContainers); err == nil {
		v, err = d.decodeTop()
	}

	// Drop every reference to data and to the tree before pooling the decoder.
	d.in = bytes.Buffer{}
	d.dec.Reset(&d.in)
	d.data, d.shared = nil, ""
	if cap(d.sizes) > maxPooledSizes {
		d.sizes = nil
	}
	decoderPool.Put(d)
	return v, err
}

// decodeTop decodes the single top-level value and checks what follows it.
func (d *decoder) decodeTop() (any, error) {
	kind := d.dec.PeekKind()
	if kind == 0 {
		_, err := d.dec.ReadToken() // returns the error PeekKind ran into
		if err == io.EOF {          // only whitespace before the end of input
			return nil, &SyntaxError{Offset: int64(len(d.data)), Reason: ReasonEmpty}
		}
		return nil, d.classify(err)
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}

	end := int(d.dec.InputOffset())
	rest := end
	for rest < len(d.data) && isSpace(d.data[rest]) {
		rest++
	}
	if rest < len(d.data) {
		// jsontext treats its input as a stream of values, so "01", "1.5.2" or
		// "truex" read as a number or literal followed by more input. A number
		// or literal running straight into characters that could continue it
		// is one malformed token, not a value followed by trailing data.
		if kind != '"' && kind != '{' && kind != '[' && rest == end && continuesToken(d.data[rest]) {
			return nil, &SyntaxError{Offset: int64(rest), Reason: ReasonInvalidSyntax, what: describeAt(d.data, int64(rest))}
		}
		return nil, &SyntaxError{Offset: int64(rest), Reason: ReasonTrailingData}
	}
	return v, nil
}

// value decodes the next value into the generic tree. depth is the number of
// containers enclosing it.
func (d *decoder) value(depth int) (any, error) {
	switch d.dec.PeekKind() {
	case '{':
		return d.object(depth)
	case '[':
		return d.array(depth)
	case '"':
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, d.classify(err)
		}
		if len(raw) <= 3 {
			if v := shortString(raw); v != nil {
				return v, nil
			}
		}
		return d.stringValue(raw), nil
	case '0':
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, d.classify(err)
		}
		if len(raw) > d.limits.MaxNumberLength || !d.limits.NumberWithin(string(raw)) {
			return nil, &SyntaxError{Offset: d.dec.InputOffset() - int64(len(raw)), Path: string(d.dec.StackPointer()),
				Reason: ReasonNumberTooLarge, limit: d.limits.MaxNumberLength, limit2: d.limits.MaxNumberExponent}
		}
		if v := smallNumber(raw); v != nil {
			return v, nil
		}
		return d.numberValue(raw), nil
	case 't', 'f', 'n':
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, d.classify(err)
		}
		switch raw[0] {
		case 't':
			return true, nil
		case 'f':
			return false, nil
		}
		return nil, nil
	}
	return nil, d.readError()
}

// object decodes a JSON object; the next token is its '{'.
func (d *decoder) object(depth int) (any, error) {
	size := d.size()
	if err := d.open(depth); err != nil {
		return nil, err
	}
	obj := make(map[string]any, size)
	for {
		switch d.dec.PeekKind() {
		case '}':
			if _, err := d.dec.ReadToken(); err != nil {
				return nil, d.classify(err)
			}
			return obj, nil
		case '"':
		default:
			return nil, d.readError()
		}
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, d.classify(err)
		}
		name := d.stringValue(raw)
		if _, dup := obj[name]; dup {
			return nil, &SyntaxError{Offset: d.dec.InputOffset() - int64(len(raw)), Reason: ReasonDuplicateKey,
				Path: string(d.dec.StackPointer())}
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj[name] = v
	}
}

// array decodes a JSON array; the next token is its '['.
func (d *decoder) array(depth int) (any, error) {
	size := d.size()
	if err := d.open(depth); err != nil {
		return nil, err
	}
	if size == 0 && d.dec.PeekKind() == ']' {
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, d.classify(err)
		}
		return emptyArray, nil
	}
	arr := make([]any, 0, size) // appends beyond size only if the count was off (invalid input)
	for d.dec.PeekKind() != ']' {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, d.classify(err)
	}
	return arr, nil
}

// size returns the counted size of the next container to open.
func (d *decoder) size() int {
	if d.next >= len(d.sizes) {
		return 0
	}
	n := d.sizes[d.next]
	d.next++
	return int(n)
}

// emptyArray is every empty array of every tree: an empty slice cannot be written to, so
// sharing it is safe, and boxing it once saves an allocation per [].
var emptyArray any = []any{}

// scan appends to sizes the number of elements (members) of every array (object) of data,
// in the order they open, in one pass over the bytes, and fails with
// ReasonTooManyContainers when there are more than maxContainers. The counts are exact for
// valid JSON; for anything else they are only hints (the tokenizer reports the error).
func scan(data []byte, sizes []int32, maxContainers int) ([]int32, error) {
	// The open containers, by index into sizes (objects negated, minus one); deeper ones
	// are not counted.
	var stack [64]int
	depth := 0
	top := func() (int, bool, bool) { // index, is an object, counted
		if depth <= 0 || depth > len(stack) {
			return 0, false, false
		}
		if i := stack[depth-1]; i < 0 {
			return -i - 1, true, true
		} else {
			return i, false, true
		}
	}
	afterValue := false // a comma counts only after a value: no hint from "[,,,,"
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case ':':
			// An object's members are its colons: a list of names without values
			// ({"a","b",...}) gives no hint.
			if at, obj, ok := top(); ok && obj {
				sizes[at]++
			}
			afterValue = false
			continue
		case ']', '}':
			depth--
			afterValue = true
			continue
		case ',':
			if at, obj, ok := top(); ok && !obj && afterValue {
				sizes[at]++
			}
			afterValue = false
			continue
		}
		// A value (or a member name) starts here.
		if at, obj, ok := top(); ok && !obj && sizes[at] == 0 {
			sizes[at] = 1
		}
		afterValue = true
		switch c {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if len(sizes) == maxContainers {
				return sizes, &SyntaxError{Offset: int64(i), Reason: ReasonTooManyContainers, limit: maxContainers}
			}
			if depth >= 0 && depth < len(stack) {
				stack[depth] = len(sizes)
				if c == '{' {
					stack[depth] = -len(sizes) - 1
				}
			}
			depth++
			sizes = append(sizes, 0)
			afterValue = false
		}
	}
	return sizes, nil
}

// readError consumes the token at which PeekKind failed (or which is not
// allowed here) and returns the resulting error.
func (d *decoder) readError() error {
	_, err := d.dec.ReadToken()
	if err == nil || err == io.EOF {
		// Not expected: PeekKind only fails where ReadToken fails, and
		// io.EOF only occurs before the top-level value.
		return &SyntaxError{Offset: d.dec.InputOffset(), Reason: ReasonInvalidSyntax}
	}
	return d.classify(err)
}

// open consumes the '{' or '[' that starts a container nested inside depth
// others, and fails if that exceeds the depth limit.
func (d *decoder) open(depth int) error {
	_, err := d.dec.ReadToken()
	if depth < d.maxDepth {
		if err != nil {
			return d.classify(err)
		}
		return nil
	}
	e := &SyntaxError{Reason: ReasonTooDeep, limit: d.maxDepth}
	var serr *jsontext.SyntacticError
	switch {
	case err == nil:
		e.Offset = d.dec.InputOffset() - 1 // the delimiter is one byte long
		e.Path = string(d.dec.StackPointer())
	case errors.As(err, &serr):
		// At MaxDepthLimit, jsontext refuses the delimiter itself.
		e.Offset, e.Path = serr.ByteOffset, string(serr.JSONPointer)
	default:
		e.Offset = d.dec.InputOffset()
	}
	return e
}

// classify turns an error from the tokenizer into a *SyntaxError.
func (d *decoder) classify(err error) *SyntaxError {
	var serr *jsontext.SyntacticError
	if !errors.As(err, &serr) {
		// Reading from a bytes.Buffer cannot fail, so this is not expected.
		return &SyntaxError{Offset: d.dec.InputOffset(), Reason: ReasonInvalidSyntax}
	}
	e := &SyntaxError{Offset: serr.ByteOffset, Path: string(serr.JSONPointer)}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		e.Reason = ReasonTruncated
	case errors.Is(err, jsontext.ErrDuplicateName):
		e.Reason = ReasonDuplicateKey
	case encodingErrorAt(d.data, serr.ByteOffset):
		e.Reason = ReasonInvalidUTF8
	default:
		e.Reason = ReasonInvalidSyntax
		e.what = describeAt(d.data, serr.ByteOffset)
	}
	return e
}

// encodingErrorAt reports whether the tokenizer error located at off is an
// encoding problem: a byte that does not start a valid UTF-8 sequence, or a
// UTF-16 surrogate escape (which only fails when it is unpaired).
//
// jsontext reports both problems with error values from an internal package
// (an unexported sentinel and an internal error type) that cannot be matched
// with errors.Is or errors.As. Rather than matching on error strings, this
// inspects the input at the precise offset jsontext reports for them.
func encodingErrorAt(data []byte, off int64) bool {
	if off < 0 || off >= int64(len(data)) {
		return false
	}
	b := data[off:]
	if r, n := utf8.DecodeRune(b); r == utf8.RuneError && n <= 1 {
		return true
	}
	if len(b) >= 6 && b[0] == '\\' && b[1] == 'u' && (b[2] == 'd' || b[2] == 'D') {
		switch b[3] {
		case '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'A', 'B', 'C', 'D', 'E', 'F':
			return true
		}
	}
	return false
}

// isSpace reports whether c is JSON insignificant whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// continuesToken reports whether c could continue a number or literal.
func continuesToken(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
		c == '.' || c == '+' || c == '-' || c == '_'
}
