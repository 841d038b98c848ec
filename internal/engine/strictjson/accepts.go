package strictjson

import (
	"bytes"
	"io"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
)

// Accepts reports whether Decode(data, 0) would accept data: exactly one well-formed JSON
// value (RFC 8259, UTF-8, no duplicate member names, no unpaired surrogate escapes, no byte
// order mark) within the default limits (nesting, containers, number literals). It builds
// nothing: value is data without its surrounding whitespace, for a validator that reads the
// bytes. false means "maybe not": Decode gives the verdict and the error.
//
// One pass of its own over the bytes decides; the rare shapes it leaves (an escaped member
// name, an object of more than maxLinearNames members) go to the tokenizer Decode uses. A
// differential fuzz test keeps the two in agreement.
func Accepts(data []byte) (value []byte, ok bool) {
	if bytes.HasPrefix(data, utf8BOM) {
		return nil, false
	}
	a := acceptorPool.Get().(*acceptor)
	a.b, a.i, a.n, a.containers, a.undecided = data, SkipSpace(data, 0), 0, 0, false
	start := a.i
	ok = a.i < len(data) && a.value(0)
	end := a.i
	ok = ok && SkipSpace(data, end) == len(data)
	undecided := a.undecided
	a.b = nil
	acceptorPool.Put(a)
	if undecided {
		return acceptsTokenizer(data)
	}
	if !ok {
		return nil, false
	}
	return data[start:end], true
}

// acceptsTokenizer is Accepts by the tokenizer Decode uses, and a limits pass.
func acceptsTokenizer(data []byte) (value []byte, ok bool) {
	t := tokenizerPool.Get().(*tokenizer)
	t.in = *bytes.NewBuffer(data) // jsontext reads the slice in place
	t.dec.Reset(&t.in)            // the defaults: strict UTF-8, duplicate names rejected
	_, err := t.dec.ReadValue()
	if err == nil {
		_, err = t.dec.ReadToken()
	}
	t.in = bytes.Buffer{}
	t.dec.Reset(&t.in)
	tokenizerPool.Put(t)
	if err != io.EOF {
		return nil, false
	}
	v := bytes.Trim(data, " \t\r\n")
	return v, len(v) > 0 && WithinDefaultLimits(v)
}

// maxLinearNames is the most members an object may have for Accepts to look for duplicate
// names itself (by comparing each with those before it); larger objects go to the tokenizer.
const maxLinearNames = 32

// acceptor is the state of Accepts' pass; pooled.
type acceptor struct {
	b          []byte
	i          int
	containers int
	// names[:n] holds the member names (as offsets into b, start and end) read so far of
	// every open object, innermost last. Written by index, so that a name costs no write of
	// the slice itself.
	names [][2]int
	n     int
	// undecided is set when the pass meets what it leaves to the tokenizer.
	undecided bool
}

var acceptorPool = sync.Pool{New: func() any { return &acceptor{names: make([][2]int, 64)} }}

// value reads the value at a.b[a.i] (a.i < len(a.b)), nested in depth containers.
func (a *acceptor) value(depth int) bool {
	switch c := a.b[a.i]; {
	case c == '{':
		return a.object(depth + 1)
	case c == '[':
		return a.array(depth + 1)
	case c == '"':
		_, ok := a.str()
		return ok
	case c == 't':
		return a.literal("true")
	case c == 'f':
		return a.literal("false")
	case c == 'n':
		return a.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return a.number()
	}
	return false
}

func (a *acceptor) literal(lit string) bool {
	if len(a.b)-a.i < len(lit) || string(a.b[a.i:a.i+len(lit)]) != lit {
		return false
	}
	a.i += len(lit)
	return true
}

// open counts a container nested depth deep against the limits.
func (a *acceptor) open(depth int) bool {
	a.containers++
	return depth <= DefaultMaxDepth && a.containers <= DefaultMaxContainers
}

func (a *acceptor) object(depth int) bool {
	if !a.open(depth) {
		return false
	}
	b := a.b
	first := a.n
	a.i = SkipSpace(b, a.i+1)
	if a.i < len(b) && b[a.i] == '}' {
		a.i++
		return true
	}
	for {
		if a.i >= len(b) || b[a.i] != '"' {
			return false
		}
		at := a.i
		escaped, ok := a.str()
		if !ok {
			return false
		}
		if escaped || a.n-first >= maxLinearNames {
			a.undecided = true
			return false
		}
		name := b[at+1 : a.i-1]
		for _, seen := range a.names[first:a.n] {
			if seen[1]-seen[0] == len(name) && string(b[seen[0]:seen[1]]) == string(name) {
				return false
			}
		}
		if a.n == len(a.names) {
			a.names = append(a.names, make([][2]int, len(a.names))...)
		}
		a.names[a.n] = [2]int{at + 1, a.i - 1}
		a.n++
		a.i = SkipSpace(b, a.i)
		if a.i >= len(b) || b[a.i] != ':' {
			return false
		}
		a.i = SkipSpace(b, a.i+1)
		if more, ok := a.member(depth, '}'); !more {
			a.n = first
			return ok
		}
	}
}

func (a *acceptor) array(depth int) bool {
	if !a.open(depth) {
		return false
	}
	b := a.b
	a.i = SkipSpace(b, a.i+1)
	if a.i < len(b) && b[a.i] == ']' {
		a.i++
		return true
	}
	for {
		if more, ok := a.member(depth, ']'); !more {
			return ok
		}
	}
}

// member reads a container's value at a.b[a.i] and what follows it: a comma (more is true,
// another value follows), or end, which closes the container (ok is true).
func (a *acceptor) member(depth int, end byte) (more, ok bool) {
	b := a.b
	if a.i >= len(b) || !a.value(depth) {
		return false, false
	}
	if a.i = SkipSpace(b, a.i); a.i >= len(b) {
		return false, false
	}
	switch b[a.i] {
	case ',':
		a.i = SkipSpace(b, a.i+1)
		return true, false
	case end:
		a.i++
		return false, true
	}
	return false, false
}

// plainASCII marks the bytes a string holds as they are: printable ASCII but the quote and
// the backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads the string at a.b[a.i]: valid UTF-8, no control characters, valid escapes, no
// unpaired surrogate escapes; escaped reports a backslash in it.
func (a *acceptor) str() (escaped, ok bool) {
	b := a.b
	for i := a.i + 1; i < len(b); {
		c := b[i]
		if plainASCII[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			a.i = i + 1
			return escaped, true
		case c == '\\':
			escaped = true
			if i++; i >= len(b) {
				return escaped, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				r, ok := hex4(b, i+1)
				if !ok {
					return escaped, false
				}
				i += 5
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return escaped, false // a low surrogate alone
				case r >= 0xD800 && r <= 0xDBFF:
					if i+1 >= len(b) || b[i] != '\\' || b[i+1] != 'u' {
						return escaped, false
					}
					if lo, ok := hex4(b, i+2); !ok || lo < 0xDC00 || lo > 0xDFFF {
						return escaped, false
					}
					i += 6
				}
			default:
				return escaped, false
			}
		case c < 0x20:
			return escaped, false
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return escaped, false
			}
			i += size
		}
	}
	return escaped, false
}

// hex4 reads the four hexadecimal digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number reads the number literal at a.b[a.i], within the default number limits.
func (a *acceptor) number() bool {
	b, i := a.b, a.i
	digits := func() bool { // one or more
		at := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > at
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	exp := false
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exp = true
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	if (exp || i-a.i > DefaultMaxNumberLength) && !(Limits{}).NumberWithin(unsafe.String(unsafe.SliceData(b[a.i:i]), i-a.i)) {
		return false
	}
	a.i = i
	return true
}

// tokenizer is a pooled jsontext decoder reading a byte slice in place.
type tokenizer struct {
	in  bytes.Buffer
	dec jsontext.Decoder
}

var tokenizerPool = sync.Pool{New: func() any { return new(tokenizer) }}

// WithinDefaultLimits reports whether v, one JSON value the strict tokenizer accepts (no
// surrounding whitespace), is within the default limits: nesting, containers, number
// literals. For such a v, Accepts(v) is WithinDefaultLimits(v): a caller holding bytes known
// to be strict (a subset of an accepted value, copied verbatim) checks only the limits.
func WithinDefaultLimits(v []byte) bool {
	depth, containers := 0, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			for i++; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' {
					i++
				}
			}
		case c == '{' || c == '[':
			depth++
			containers++
			if depth > DefaultMaxDepth || containers > DefaultMaxContainers {
				return false
			}
		case c == '}' || c == ']':
			depth--
		case c == '-' || c >= '0' && c <= '9':
			end, exp := i+1, false
			for ; end < len(v); end++ {
				d := v[end]
				if d == 'e' || d == 'E' {
					exp = true
				} else if !(d >= '0' && d <= '9' || d == '-' || d == '+' || d == '.') {
					break
				}
			}
			// Only a long literal or one with an exponent can be outside the number limits.
			if (exp || end-i > DefaultMaxNumberLength) && !(Limits{}).NumberWithin(unsafe.String(unsafe.SliceData(v[i:end]), end-i)) {
				return false
			}
			i = end - 1
		}
	}
	return true
}
