package strictjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"

	"github.com/go-json-experiment/json/jsontext"
)

// Request bodies of one API repeat the same member names and many of the same
// short values ("USD", "card", small quantities), so each pooled decoder keeps
// small direct-mapped caches of strings and boxed values converted from raw
// JSON. Strings and interface values are immutable, so sharing them between
// decoded trees is safe. This is the same technique encoding/json/v2 uses for
// object names.
const (
	cacheSize         = 256
	maxCachedNameLen  = 64
	maxCachedValueLen = 24
)

// stringCache caches object member names.
type stringCache [cacheSize]string

// get returns the unquoted form of raw, a valid JSON string as returned by
// jsontext.Decoder.ReadValue.
func (c *stringCache) get(raw []byte) string {
	b := raw[1 : len(raw)-1]
	if len(b) > maxCachedNameLen || bytes.IndexByte(b, '\\') >= 0 {
		return unquote(raw)
	}
	i := cacheIndex(b)
	if s := c[i]; s == string(b) {
		return s
	}
	s := string(b)
	c[i] = s
	return s
}

// valueCache caches boxed scalar values.
type valueCache [cacheSize]cachedValue

type cachedValue struct {
	text     string // unquoted string, or number text
	isString bool
	v        any // string or json.Number holding text
}

// get returns raw, a valid JSON string (isString) or number as returned by
// jsontext.Decoder.ReadValue, as a string or json.Number in an interface.
func (c *valueCache) get(raw []byte, isString bool) any {
	b := raw
	if isString {
		b = raw[1 : len(raw)-1]
	}
	if len(b) > maxCachedValueLen || isString && bytes.IndexByte(b, '\\') >= 0 {
		if isString {
			return unquote(raw)
		}
		return json.Number(raw)
	}
	e := &c[cacheIndex(b)]
	if e.isString == isString && e.v != nil && e.text == string(b) {
		return e.v
	}
	e.text, e.isString = string(b), isString
	if isString {
		e.v = e.text
	} else {
		e.v = json.Number(e.text)
	}
	return e.v
}

// unquote returns the unescaped form of raw, a valid JSON string.
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	// raw has already been validated by the decoder, so this cannot fail.
	b, _ := jsontext.AppendUnquote(make([]byte, 0, len(raw)), raw)
	return string(b)
}

// cacheIndex hashes b from a fixed-width prefix and suffix, so that hashing
// takes constant time; collisions only cost a cache miss.
func cacheIndex(b []byte) uint8 {
	var lo, hi uint64
	switch {
	case len(b) >= 8:
		lo = binary.LittleEndian.Uint64(b)
		hi = binary.LittleEndian.Uint64(b[len(b)-8:])
	case len(b) >= 4:
		lo = uint64(binary.LittleEndian.Uint32(b))
		hi = uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	case len(b) > 0:
		lo = uint64(b[0])<<8 | uint64(b[len(b)-1])
		hi = uint64(len(b))
	}
	h := (lo*0x9e3779b97f4a7c15 ^ bits.RotateLeft64(hi, 31)*0xc2b2ae3d27d4eb4f) ^ uint64(len(b))
	h ^= h >> 29
	h *= 0x94d049bb133111eb
	return uint8(h >> 56)
}
