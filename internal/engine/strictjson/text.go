package strictjson

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// maxSharedText is the largest input whose strings share one copy of it.
//
// Converting every member name, string and number to its own string would be
// one allocation each. For inputs up to this size Decode instead copies the
// whole input into one string once and slices the (unescaped) strings and
// numbers out of it. A string kept from the tree then keeps that copy alive,
// which is why the sharing is limited to modest inputs.
const maxSharedText = 64 << 10

// stringValue returns the unquoted form of raw, a valid JSON string that the
// decoder has just read.
func (d *decoder) stringValue(raw []byte) string {
	if bytes.IndexByte(raw, '\\') >= 0 {
		// raw has already been validated by the decoder, so this cannot fail.
		b, _ := jsontext.AppendUnquote(make([]byte, 0, len(raw)), raw)
		return string(b)
	}
	return d.text(raw, 1)
}

// numberValue returns raw, a valid JSON number that the decoder has just read.
func (d *decoder) numberValue(raw []byte) json.Number {
	return json.Number(d.text(raw, 0))
}

// text returns raw[trim:len(raw)-trim] as a string, where raw is the value
// the decoder has just read, sliced from d.shared when raw lies within the input.
func (d *decoder) text(raw []byte, trim int) string {
	end := int(d.dec.InputOffset())
	start := end - len(raw)
	// jsontext reads a *bytes.Buffer in place, so raw is a slice of d.data.
	if d.share && start >= 0 && end <= len(d.data) && len(raw) > 0 && &raw[0] == &d.data[start] {
		if d.shared == "" {
			d.shared = string(d.data)
		}
		return d.shared[start+trim : end-trim]
	}
	return string(raw[trim : len(raw)-trim])
}

// smallInts boxes the numbers -99 to 999 once, so that a body of small numbers does not
// cost an allocation per number.
var smallInts = func() (t [1099]any) {
	for i := range t {
		t[i] = json.Number(strconv.Itoa(i - 99))
	}
	return t
}()

// smallNumber returns the boxed json.Number of raw when it is an integer literal from -99
// to 999, else nil.
func smallNumber(raw []byte) any {
	if len(raw) == 0 || len(raw) > 3 || len(raw) > 1 && raw[0] == '0' {
		return nil
	}
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
		if len(digits) == 0 || len(digits) > 2 || digits[0] == '0' {
			return nil
		}
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return smallInts[n+99]
}

// asciiStrings boxes every one-character printable ASCII string once.
var asciiStrings = func() (t [128]any) {
	for c := ' '; c < 0x7f; c++ {
		t[c] = string(rune(c))
	}
	return t
}()

// shortString returns the boxed value of raw, a JSON string token, when it is "" or one
// printable ASCII character other than an escape, else nil.
func shortString(raw []byte) any {
	switch {
	case len(raw) == 2:
		return ""
	case len(raw) == 3 && raw[1] >= ' ' && raw[1] < 0x7f && raw[1] != '\\' && raw[1] != '"':
		return asciiStrings[raw[1]]
	}
	return nil
}
