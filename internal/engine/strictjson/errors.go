package strictjson

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// ErrMalformed is matched by every *SyntaxError returned from Decode, so callers
// can test errors.Is(err, ErrMalformed) without inspecting the details.
var ErrMalformed = errors.New("malformed JSON")

// Reason classifies why a request body was rejected.
type Reason uint8

// The reasons a body can be rejected. The zero value is ReasonInvalidSyntax.
const (
	// ReasonInvalidSyntax covers every grammar violation not listed below, such
	// as NaN, Infinity, single quotes, comments, leading zeros, trailing commas
	// and unescaped control characters in strings.
	ReasonInvalidSyntax Reason = iota
	// ReasonEmpty means the body is empty or contains only whitespace.
	ReasonEmpty
	// ReasonTruncated means the body ended in the middle of a JSON value.
	ReasonTruncated
	// ReasonTrailingData means something other than whitespace follows the
	// JSON value, including a second, concatenated JSON value.
	ReasonTrailingData
	// ReasonDuplicateKey means an object contains the same member name twice
	// (names are compared after unescaping, case-sensitively).
	ReasonDuplicateKey
	// ReasonInvalidUTF8 means the body contains bytes that are not valid UTF-8
	// or a string contains an unpaired UTF-16 surrogate escape such as "\ud800".
	ReasonInvalidUTF8
	// ReasonByteOrderMark means the body starts with a UTF-8 byte order mark.
	ReasonByteOrderMark
	// ReasonTooDeep means objects and arrays are nested deeper than allowed.
	ReasonTooDeep
	// ReasonNumberTooLarge means a number literal is longer, or its exponent larger, than
	// allowed (Limits).
	ReasonNumberTooLarge
	// ReasonTooManyContainers means the input holds more objects and arrays than allowed
	// (Limits.MaxContainers).
	ReasonTooManyContainers
)

var reasonNames = [...]string{
	ReasonInvalidSyntax:     "invalid_syntax",
	ReasonEmpty:             "empty",
	ReasonTruncated:         "truncated",
	ReasonTrailingData:      "trailing_data",
	ReasonDuplicateKey:      "duplicate_key",
	ReasonInvalidUTF8:       "invalid_utf8",
	ReasonByteOrderMark:     "byte_order_mark",
	ReasonTooDeep:           "too_deep",
	ReasonNumberTooLarge:    "number_too_large",
	ReasonTooManyContainers: "too_many_containers",
}

// String returns a stable snake_case identifier for r (for example
// "duplicate_key"), suitable for metrics labels and machine-readable error codes.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// SyntaxError describes why Decode rejected its input. Its message is meant to
// be shown to API clients and contains no Go-specific details.
type SyntaxError struct {
	// Offset is the byte offset in the input at which the problem was detected.
	Offset int64
	// Reason classifies the problem.
	Reason Reason
	// Path is a JSON Pointer (RFC 6901) to the value in which the problem was
	// found, where known; "" denotes the top-level value. For ReasonDuplicateKey
	// it points at the duplicated member, for example "/items/0/sku".
	Path string

	// limit is the effective maximum depth, reported for ReasonTooDeep, or the maximum
	// number length for ReasonNumberTooLarge (limit2: the maximum exponent).
	limit, limit2 int
	// what describes the offending input for ReasonInvalidSyntax, such as
	// "invalid character 'N'"; "" for a generic message.
	what string
}

// maxPathInMessage bounds how much of Path is echoed back in Error.
const maxPathInMessage = 120

// Error returns a short, client-safe description of the problem.
func (e *SyntaxError) Error() string {
	var b strings.Builder
	switch e.Reason {
	case ReasonEmpty:
		return "empty body: expected a JSON value"
	case ReasonByteOrderMark:
		return "a byte order mark (BOM) is not allowed at the start of JSON input"
	case ReasonDuplicateKey:
		p := jsontext.Pointer(e.Path)
		b.WriteString("duplicate object key ")
		b.WriteString(strconv.Quote(truncate(p.LastToken(), maxPathInMessage)))
		b.WriteString(" at ")
		parent := string(p.Parent())
		if parent == "" {
			parent = "/"
		}
		b.WriteString(displayPath(parent))
		return b.String()
	case ReasonTruncated:
		b.WriteString("unexpected end of JSON input")
	case ReasonTrailingData:
		b.WriteString("unexpected data after the JSON value")
	case ReasonInvalidUTF8:
		b.WriteString("invalid UTF-8 or unpaired surrogate escape")
	case ReasonTooDeep:
		b.WriteString("JSON nesting exceeds the maximum depth")
		if e.limit > 0 {
			b.WriteString(" of ")
			b.WriteString(strconv.Itoa(e.limit))
		}
	case ReasonTooManyContainers:
		b.WriteString("more than ")
		b.WriteString(strconv.Itoa(e.limit))
		b.WriteString(" objects and arrays")
	case ReasonNumberTooLarge:
		b.WriteString("number literal too large (at most ")
		b.WriteString(strconv.Itoa(e.limit))
		b.WriteString(" characters, exponent at most ")
		b.WriteString(strconv.Itoa(e.limit2))
		b.WriteString(")")
	default:
		if e.what != "" {
			b.WriteString(e.what)
		} else {
			b.WriteString("invalid JSON syntax")
		}
	}
	b.WriteString(" at offset ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	if e.Path != "" && e.Reason != ReasonTrailingData {
		b.WriteString(" (in ")
		b.WriteString(displayPath(e.Path))
		b.WriteByte(')')
	}
	return b.String()
}

// Is reports whether target is ErrMalformed, so that errors.Is(err, ErrMalformed)
// holds for every *SyntaxError.
func (e *SyntaxError) Is(target error) bool {
	return target == ErrMalformed
}

// describeAt describes the input at off, where the tokenizer reported a
// syntax error, for the error message: the offending character, an escape
// sequence, or "" when there is nothing specific to say.
func describeAt(data []byte, off int64) string {
	if off < 0 || off >= int64(len(data)) {
		return ""
	}
	r, _ := utf8.DecodeRune(data[off:])
	switch {
	case r == '\\':
		return "invalid escape sequence"
	case r < ' ' || r == 0x7f:
		return "invalid control character U+" + strings.ToUpper(strconv.FormatInt(int64(r)+0x10000, 16)[1:])
	case r == '\'':
		return `invalid character "'"`
	case r == utf8.RuneError || !strconv.IsPrint(r):
		return ""
	}
	return "invalid character '" + string(r) + "'"
}

// displayPath renders a JSON pointer for an error message: long pointers are
// shortened and anything that is not printable is escaped, because the member
// names come straight from the client.
func displayPath(p string) string {
	p = truncate(p, maxPathInMessage)
	for _, r := range p {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			q := strconv.Quote(p)
			return q[1 : len(q)-1]
		}
	}
	return p
}

// truncate shortens s to about n bytes, cutting on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
