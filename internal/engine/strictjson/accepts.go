package strictjson

import (
	"bytes"
	"io"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
)

// Accepts reports whether Decode(data, 0) would accept data: exactly one well-formed JSON
// value (RFC 8259, UTF-8, no duplicate member names, no unpaired surrogate escapes, no byte
// order mark) within the default limits (nesting, containers, number literals). It builds
// nothing: value is data without its surrounding whitespace, for a validator that reads the
// bytes. false means "maybe not": Decode gives the verdict and the error.
func Accepts(data []byte) (value []byte, ok bool) {
	if bytes.HasPrefix(data, utf8BOM) {
		return nil, false
	}
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
