package strictjson

import (
	"bytes"
	"encoding/json"

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
