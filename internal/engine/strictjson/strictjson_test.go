package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// accepted marks table cases that Decode must accept.
const accepted Reason = 255

// off returns a pointer to n, for decodeCase.offset.
func off(n int64) *int64 { return &n }

type decodeCase struct {
	desc     string
	in       string
	maxDepth int
	want     Reason // accepted, or the Reason of the expected *SyntaxError

	// Checked only when set.
	offset    *int64 // expected SyntaxError.Offset, when not nil
	path      string // expected SyntaxError.Path, when checkPath
	checkPath bool
	value     any // expected tree, when checkVal
	checkVal  bool
}

// nested returns n opening delimiters followed by n closing ones.
func nested(opening, closing string, n int) string {
	return strings.Repeat(opening, n) + strings.Repeat(closing, n)
}

// zeros returns the JSON pointer to the innermost of n nested arrays.
func zeros(n int) string { return strings.Repeat("/0", n) }

var decodeCases = []decodeCase{
	// Tricky inputs that must be accepted.
	{desc: "empty object", in: `{}`, want: accepted, value: map[string]any{}, checkVal: true},
	{desc: "empty array", in: `[]`, want: accepted, value: []any{}, checkVal: true},
	{desc: "whitespace around value", in: " \t\r\n{\"a\" : [ 1 , 2 ] }\n\t ", want: accepted,
		value: map[string]any{"a": []any{json.Number("1"), json.Number("2")}}, checkVal: true},
	{desc: "top-level string", in: `"hi"`, want: accepted, value: "hi", checkVal: true},
	{desc: "top-level null", in: `null`, want: accepted, value: nil, checkVal: true},
	{desc: "top-level true", in: ` true `, want: accepted, value: true, checkVal: true},
	{desc: "top-level false", in: `false`, want: accepted, value: false, checkVal: true},
	{desc: "big integer kept exact", in: `12345678901234567890123`, want: accepted,
		value: json.Number("12345678901234567890123"), checkVal: true},
	{desc: "precise decimal kept exact", in: `[0.1000000000000000000000000001,-0,1E+2,2.5e-3]`, want: accepted,
		value: []any{json.Number("0.1000000000000000000000000001"), json.Number("-0"), json.Number("1E+2"), json.Number("2.5e-3")}, checkVal: true},
	{desc: "same text as string and number", in: `["1",1,"1",1]`, want: accepted,
		value: []any{"1", json.Number("1"), "1", json.Number("1")}, checkVal: true},
	{desc: "unicode escape", in: `"caf\u00e9 \u00E9"`, want: accepted, value: "café é", checkVal: true},
	{desc: "valid surrogate pair", in: `"\ud83d\ude00"`, want: accepted, value: "😀", checkVal: true},
	{desc: "valid surrogate pair upper-case hex", in: `{"k":"\uD83D\uDE00!"}`, want: accepted,
		value: map[string]any{"k": "😀!"}, checkVal: true},
	{desc: "raw multi-byte UTF-8", in: `{"名前":"日本語 😀"}`, want: accepted,
		value: map[string]any{"名前": "日本語 😀"}, checkVal: true},
	{desc: "escaped controls and NUL", in: `"a\nb\t\u0000\b\f\r"`, want: accepted, value: "a\nb\t\x00\b\f\r", checkVal: true},
	{desc: "escaped quote backslash solidus", in: `"\"\\\/"`, want: accepted, value: `"\/`, checkVal: true},
	{desc: "raw U+FFFD, DEL and U+2028", in: "\"\xef\xbf\xbd\x7f\u2028\"", want: accepted, value: "\ufffd\x7f\u2028", checkVal: true},
	{desc: "case-variant keys are distinct", in: `{"note":"a","NOTE":"b"}`, want: accepted,
		value: map[string]any{"note": "a", "NOTE": "b"}, checkVal: true},
	{desc: "same key in sibling objects", in: `{"a":{"a":1},"b":{"a":2}}`, want: accepted,
		value: map[string]any{"a": map[string]any{"a": json.Number("1")}, "b": map[string]any{"a": json.Number("2")}}, checkVal: true},
	{desc: "escaped key", in: `{"a\"b":1,"a\\b":2}`, want: accepted,
		value: map[string]any{`a"b`: json.Number("1"), `a\b`: json.Number("2")}, checkVal: true},
	{desc: "nesting at the limit", in: `{"a":{"b":[]}}`, maxDepth: 3, want: accepted},
	{desc: "arrays at the limit", in: nested("[", "]", 3), maxDepth: 3, want: accepted},
	{desc: "default limit 64 reached", in: nested("[", "]", DefaultMaxDepth), want: accepted},
	{desc: "huge limit clamped to 10000, at limit", in: nested("[", "]", MaxDepthLimit), maxDepth: 1 << 20, want: accepted},

	// ReasonEmpty.
	{desc: "empty body", in: ``, want: ReasonEmpty},
	{desc: "whitespace only", in: " \t\r\n ", want: ReasonEmpty},

	// ReasonTruncated.
	{desc: "unclosed object", in: `{`, want: ReasonTruncated, offset: off(1)},
	{desc: "missing value", in: `{"a":`, want: ReasonTruncated},
	{desc: "unclosed nested array", in: `{"a":[1,2`, want: ReasonTruncated},
	{desc: "unterminated string", in: `"abc`, want: ReasonTruncated},
	{desc: "partial literal", in: `tru`, want: ReasonTruncated},
	{desc: "lone minus", in: `-`, want: ReasonTruncated},
	{desc: "number ending in dot", in: `1.`, want: ReasonTruncated},
	{desc: "partial unicode escape", in: `"\u12`, want: ReasonTruncated},
	{desc: "partial surrogate pair", in: `{"a":"\ud800`, want: ReasonTruncated},
	{desc: "partial multi-byte rune", in: "\"\xe2\x82", want: ReasonTruncated},

	// ReasonTrailingData.
	{desc: "concatenated objects", in: `{"a":1}{"b":2}`, want: ReasonTrailingData, offset: off(7)},
	{desc: "concatenated arrays with space", in: `[1] [2]`, want: ReasonTrailingData, offset: off(4)},
	{desc: "garbage after value", in: `{"note":"hello"} x`, want: ReasonTrailingData, offset: off(17)},
	{desc: "extra closing brace", in: `{}}`, want: ReasonTrailingData, offset: off(2)},
	{desc: "concatenated strings", in: `"a""b"`, want: ReasonTrailingData, offset: off(3)},
	{desc: "two literals", in: "true\nfalse", want: ReasonTrailingData, offset: off(5)},
	{desc: "literal then object", in: `null{}`, want: ReasonTrailingData, offset: off(4)},
	{desc: "trailing comma after value", in: `1,`, want: ReasonTrailingData, offset: off(1)},
	{desc: "NUL after value", in: "{}\x00", want: ReasonTrailingData, offset: off(2)},

	// ReasonDuplicateKey.
	{desc: "duplicate key", in: `{"a":1,"a":2}`, want: ReasonDuplicateKey, offset: off(7), path: "/a", checkPath: true},
	{desc: "duplicate key in array element", in: `{"items":[{"sku":"x"},{"sku":"x","qty":1,"sku":"y"}]}`,
		want: ReasonDuplicateKey, path: "/items/1/sku", checkPath: true},
	{desc: "duplicate key in nested object", in: `{"x":{"a":{},"b":1,"a":[]}}`, want: ReasonDuplicateKey, path: "/x/a", checkPath: true},
	{desc: "duplicate after unescaping", in: `{"a":1,"\u0061":2}`, want: ReasonDuplicateKey, path: "/a", checkPath: true},
	{desc: "duplicate key needing pointer escape", in: `{"a/b~":1,"a/b~":2}`, want: ReasonDuplicateKey, path: "/a~1b~0", checkPath: true},
	{desc: "duplicate empty key", in: `{"":1,"":2}`, want: ReasonDuplicateKey, path: "/", checkPath: true},

	// ReasonInvalidUTF8.
	{desc: "invalid byte in string", in: "\"ab\xffc\"", want: ReasonInvalidUTF8, offset: off(3)},
	{desc: "Latin-1 body", in: "{\"name\":\"Jos\xe9\"}", want: ReasonInvalidUTF8, offset: off(12), path: "/name", checkPath: true},
	{desc: "invalid byte in key", in: "{\"k\xff\":1}", want: ReasonInvalidUTF8, offset: off(3)},
	{desc: "overlong encoding", in: "\"\xc0\xaf\"", want: ReasonInvalidUTF8, offset: off(1)},
	{desc: "UTF-8 encoded surrogate", in: "\"\xed\xa0\x80\"", want: ReasonInvalidUTF8, offset: off(1)},
	{desc: "invalid byte outside string", in: "[1, \xff]", want: ReasonInvalidUTF8, offset: off(4)},
	{desc: "partial BOM", in: "\xef\xbb{}", want: ReasonInvalidUTF8, offset: off(0)},
	{desc: "lone high surrogate", in: `["\ud800"]`, want: ReasonInvalidUTF8, offset: off(2), path: "/0", checkPath: true},
	{desc: "lone low surrogate", in: `"\udc00"`, want: ReasonInvalidUTF8, offset: off(1)},
	{desc: "reversed surrogate pair", in: `"\uDC00\uD800"`, want: ReasonInvalidUTF8, offset: off(1)},
	{desc: "high surrogate then BMP escape", in: `"x\ud800\u0041"`, want: ReasonInvalidUTF8, offset: off(2)},
	{desc: "high surrogate then text", in: `{"k":"\ud83dabcdef"}`, want: ReasonInvalidUTF8, offset: off(6)},
	{desc: "two high surrogates", in: `"\ud800\ud800"`, want: ReasonInvalidUTF8, offset: off(1)},
	{desc: "lone surrogate in key", in: `{"\udfff":1}`, want: ReasonInvalidUTF8, offset: off(2)},

	// ReasonByteOrderMark.
	{desc: "BOM before object", in: "\xef\xbb\xbf{}", want: ReasonByteOrderMark, offset: off(0)},
	{desc: "BOM only", in: "\xef\xbb\xbf", want: ReasonByteOrderMark, offset: off(0)},

	// ReasonTooDeep.
	{desc: "objects one over the limit", in: `{"a":{"b":{"c":{}}}}`, maxDepth: 3, want: ReasonTooDeep, offset: off(15), path: "/a/b/c", checkPath: true},
	{desc: "arrays one over the limit", in: nested("[", "]", 4), maxDepth: 3, want: ReasonTooDeep, offset: off(3), path: zeros(3), checkPath: true},
	{desc: "default limit 64 exceeded", in: nested("[", "]", DefaultMaxDepth+1), want: ReasonTooDeep, offset: off(DefaultMaxDepth), path: zeros(DefaultMaxDepth), checkPath: true},
	{desc: "negative limit means default", in: nested("[", "]", DefaultMaxDepth+1), maxDepth: -1, want: ReasonTooDeep, offset: off(DefaultMaxDepth)},
	{desc: "clamped limit exceeded", in: nested("[", "]", MaxDepthLimit+1), maxDepth: 1 << 20, want: ReasonTooDeep, offset: off(MaxDepthLimit), path: zeros(MaxDepthLimit), checkPath: true},
	{desc: "limit 10000 exceeded", in: nested("[", "]", MaxDepthLimit+1), maxDepth: MaxDepthLimit, want: ReasonTooDeep, offset: off(MaxDepthLimit), path: zeros(MaxDepthLimit), checkPath: true},
	{desc: "limit 9999 exceeded", in: nested("[", "]", MaxDepthLimit), maxDepth: MaxDepthLimit - 1, want: ReasonTooDeep, offset: off(MaxDepthLimit - 1), path: zeros(MaxDepthLimit - 1), checkPath: true},
	{desc: "deep but unterminated", in: strings.Repeat(`{"a":`, 100), want: ReasonTooDeep, offset: off(5 * DefaultMaxDepth)},

	// ReasonNumberTooLarge (default limits: 1000 characters, exponent 1000).
	{desc: "number of 1000 characters", in: "[1" + strings.Repeat("0", 999) + "]", want: accepted},
	{desc: "number of 1001 characters", in: "[1" + strings.Repeat("0", 1000) + "]", want: ReasonNumberTooLarge, offset: off(1), path: "/0", checkPath: true},
	{desc: "million-digit number", in: `{"q":-1` + strings.Repeat("2", 1_000_000) + `}`, want: ReasonNumberTooLarge, offset: off(5), path: "/q", checkPath: true},
	{desc: "exponent 1000", in: `[1e1000,1E-1000,1e+1000,1e0001000]`, want: accepted},
	{desc: "exponent 1001", in: `[1,1e1001]`, want: ReasonNumberTooLarge, offset: off(3)},
	{desc: "negative exponent 1001", in: `[1.5E-1001]`, want: ReasonNumberTooLarge, offset: off(1)},
	{desc: "exponent of ten digits", in: `[1e999999999]`, want: ReasonNumberTooLarge, offset: off(1)},
	{desc: "exponent of many zeros", in: "[1e" + strings.Repeat("0", 500) + "7]", want: accepted},

	// ReasonInvalidSyntax.
	{desc: "NaN", in: `NaN`, want: ReasonInvalidSyntax, offset: off(0)},
	{desc: "Infinity", in: `{"n":Infinity}`, want: ReasonInvalidSyntax, offset: off(5), path: "/n", checkPath: true},
	{desc: "-Infinity", in: `-Infinity`, want: ReasonInvalidSyntax},
	{desc: "single-quoted string", in: `'a'`, want: ReasonInvalidSyntax, offset: off(0)},
	{desc: "single-quoted key", in: `{'a':1}`, want: ReasonInvalidSyntax, offset: off(1)},
	{desc: "unquoted key", in: `{a:1}`, want: ReasonInvalidSyntax, offset: off(1)},
	{desc: "numeric key", in: `{1:2}`, want: ReasonInvalidSyntax, offset: off(1)},
	{desc: "block comment", in: `{"a":1 /* c */}`, want: ReasonInvalidSyntax},
	{desc: "line comment", in: "// c\n{}", want: ReasonInvalidSyntax, offset: off(0)},
	{desc: "trailing comma in object", in: `{"a":1,}`, want: ReasonInvalidSyntax},
	{desc: "trailing comma in array", in: `[1,]`, want: ReasonInvalidSyntax},
	{desc: "missing comma", in: `[1 2]`, want: ReasonInvalidSyntax},
	{desc: "missing colon", in: `{"a" 1}`, want: ReasonInvalidSyntax},
	{desc: "mismatched delimiters", in: `[}`, want: ReasonInvalidSyntax},
	{desc: "leading zero", in: `01`, want: ReasonInvalidSyntax, offset: off(1)},
	{desc: "negative leading zero", in: `-012`, want: ReasonInvalidSyntax, offset: off(2)},
	{desc: "leading zero in array", in: `[01]`, want: ReasonInvalidSyntax},
	{desc: "two decimal points", in: `1.5.2`, want: ReasonInvalidSyntax, offset: off(3)},
	{desc: "double exponent", in: `1e5e5`, want: ReasonInvalidSyntax},
	{desc: "plus sign", in: `+1`, want: ReasonInvalidSyntax},
	{desc: "leading dot", in: `[.5]`, want: ReasonInvalidSyntax},
	{desc: "hex number", in: `0x10`, want: ReasonInvalidSyntax, offset: off(1)},
	{desc: "literal with suffix", in: `nulll`, want: ReasonInvalidSyntax, offset: off(4)},
	{desc: "number with unit", in: `12px`, want: ReasonInvalidSyntax, offset: off(2)},
	{desc: "capitalised literal", in: `True`, want: ReasonInvalidSyntax},
	{desc: "raw tab in string", in: "\"a\tb\"", want: ReasonInvalidSyntax, offset: off(2)},
	{desc: "raw control char in string", in: "{\"a\":\"x\x01\"}", want: ReasonInvalidSyntax, offset: off(7), path: "/a", checkPath: true},
	{desc: "invalid escape", in: `"\x41"`, want: ReasonInvalidSyntax, offset: off(1)},
	{desc: "invalid unicode escape", in: `"\u00zz"`, want: ReasonInvalidSyntax, offset: off(1)},
	{desc: "non-ASCII character outside string", in: `[é]`, want: ReasonInvalidSyntax, offset: off(1)},
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range decodeCases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, err := Decode([]byte(tc.in), tc.maxDepth)
			if tc.want == accepted {
				if err != nil {
					t.Fatalf("Decode(%.60q) error: %v", tc.in, err)
				}
				if tc.checkVal && !reflect.DeepEqual(got, tc.value) {
					t.Fatalf("Decode(%.60q) = %#v, want %#v", tc.in, got, tc.value)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode(%.60q) = %#v, want %v error", tc.in, got, tc.want)
			}
			if got != nil {
				t.Errorf("Decode(%.60q) returned %#v together with an error", tc.in, got)
			}
			var serr *SyntaxError
			if !errors.As(err, &serr) {
				t.Fatalf("Decode(%.60q) error %T %v is not a *SyntaxError", tc.in, err, err)
			}
			if serr.Reason != tc.want {
				t.Fatalf("Decode(%.60q) reason = %v (%v), want %v", tc.in, serr.Reason, err, tc.want)
			}
			if tc.offset != nil && serr.Offset != *tc.offset {
				t.Errorf("Decode(%.60q) offset = %d, want %d (%v)", tc.in, serr.Offset, *tc.offset, err)
			}
			if serr.Offset < 0 || serr.Offset > int64(len(tc.in)) {
				t.Errorf("Decode(%.60q) offset %d out of range", tc.in, serr.Offset)
			}
			if tc.checkPath && serr.Path != tc.path {
				t.Errorf("Decode(%.60q) path = %q, want %q", tc.in, serr.Path, tc.path)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("errors.Is(%v, ErrMalformed) = false", err)
			}
		})
	}
}

func TestDecodeCoversEveryReason(t *testing.T) {
	t.Parallel()
	seen := map[Reason]int{}
	for _, tc := range decodeCases {
		seen[tc.want]++
	}
	for r := ReasonInvalidSyntax; r <= ReasonTooDeep; r++ {
		if seen[r] == 0 {
			t.Errorf("no table case for %v", r)
		}
	}
	if seen[accepted] == 0 {
		t.Error("no accepted table case")
	}
	if len(decodeCases) < 40 {
		t.Errorf("only %d table cases", len(decodeCases))
	}
}

func TestSyntaxErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   string
		want string
	}{
		{"duplicate at root", `{"note":"a","note":"b"}`, `duplicate object key "note" at /`},
		{"duplicate nested", `{"items":[{"sku":1,"sku":2}]}`, `duplicate object key "sku" at /items/0`},
		{"duplicate with escaped name", `{"a/b":1,"a/b":2}`, `duplicate object key "a/b" at /`},
		{"duplicate with control char in name", `{"a\nb":1,"a\nb":2}`, `duplicate object key "a\nb" at /`},
		{"trailing data", `{"note":"hello"} x`, "unexpected data after the JSON value at offset 17"},
		{"empty", ``, "empty body: expected a JSON value"},
		{"truncated", `{"a":[1`, "unexpected end of JSON input at offset 7 (in /a)"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", "invalid UTF-8 or unpaired surrogate escape at offset 6 (in /a)"},
		{"lone surrogate", `["\ud800"]`, "invalid UTF-8 or unpaired surrogate escape at offset 2 (in /0)"},
		{"BOM", "\xef\xbb\xbf{}", "a byte order mark (BOM) is not allowed at the start of JSON input"},
		{"too deep", nested("[", "]", 65), "JSON nesting exceeds the maximum depth of 64 at offset 64 (in " + zeros(60) + "…)"},
		{"syntax", `{"a":NaN}`, "invalid character 'N' at offset 5 (in /a)"},
		{"syntax at top", `NaN`, "invalid character 'N' at offset 0"},
		{"single quote", `{'a':1}`, `invalid character "'" at offset 1`},
		{"comment", `{"a":1 /* c */}`, "invalid character '/' at offset 7"},
		{"leading zero", `[01]`, "invalid character '1' at offset 2"},
		{"top-level leading zero", `01`, "invalid character '1' at offset 1"},
		{"trailing comma", `[1,]`, "invalid character ',' at offset 2"},
		{"control character", "{\"a\":\"x\x01\"}", "invalid control character U+0001 at offset 7 (in /a)"},
		{"invalid escape", `"\x41"`, "invalid escape sequence at offset 1"},
		{"non-ASCII outside string", `[é]`, "invalid character 'é' at offset 1 (in /0)"},
		{"no specific character", `{"a":1}` + "\xff", "unexpected data after the JSON value at offset 7"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tc.in), 0)
			if err == nil {
				t.Fatalf("Decode(%q) succeeded", tc.in)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Decode(%q) error = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSyntaxErrorMessageHasNoInternals(t *testing.T) {
	t.Parallel()
	for _, tc := range decodeCases {
		if tc.want == accepted {
			continue
		}
		_, err := Decode([]byte(tc.in), tc.maxDepth)
		if err == nil {
			continue // reported by TestDecode
		}
		msg := err.Error()
		for _, bad := range []string{"jsontext", "json:", "*", "%!", "Token", "<nil>", "\n"} {
			if strings.Contains(msg, bad) {
				t.Errorf("%s: message %q contains %q", tc.desc, msg, bad)
			}
		}
		if len(msg) > 300 {
			t.Errorf("%s: message is %d bytes long", tc.desc, len(msg))
		}
	}
}

func TestSyntaxErrorLongPathIsTruncated(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", 10000)
	in := fmt.Sprintf(`{%q:1,%q:2}`, long, long)
	_, err := Decode([]byte(in), 0)
	var serr *SyntaxError
	if !errors.As(err, &serr) || serr.Reason != ReasonDuplicateKey {
		t.Fatalf("Decode: got %v, want duplicate key", err)
	}
	if serr.Path != "/"+long {
		t.Errorf("Path was truncated too: %d bytes", len(serr.Path))
	}
	if msg := err.Error(); len(msg) > 200 || !strings.Contains(msg, "…") {
		t.Errorf("message not truncated: %d bytes", len(msg))
	}
}

func TestErrMalformed(t *testing.T) {
	t.Parallel()
	for r := ReasonInvalidSyntax; r <= ReasonTooDeep; r++ {
		var err error = &SyntaxError{Reason: r}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("errors.Is(%v error, ErrMalformed) = false", r)
		}
		if wrapped := fmt.Errorf("request body: %w", err); !errors.Is(wrapped, ErrMalformed) {
			t.Errorf("errors.Is(wrapped %v error, ErrMalformed) = false", r)
		}
	}
	if errors.Is(&SyntaxError{}, errors.New("malformed JSON")) {
		t.Error("SyntaxError matches an unrelated error")
	}
}

func TestDecodeNil(t *testing.T) {
	t.Parallel()
	v, err := Decode(nil, 0)
	var serr *SyntaxError
	if v != nil || !errors.As(err, &serr) || serr.Reason != ReasonEmpty {
		t.Errorf("Decode(nil) = %#v, %v; want empty-body error", v, err)
	}
}

// TestDecodeLargeInput covers inputs above maxSharedText, whose strings are
// not sliced from a shared copy.
func TestDecodeLargeInput(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() <= maxSharedText; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"item-%d","n":%d,"s":"caf\u00e9 %d"}`, i, i, i)
	}
	b.WriteString(`]}`)
	got, err := Decode(b.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := stdDecode(t, b.Bytes()); !reflect.DeepEqual(got, want) {
		t.Error("large input decoded differently from encoding/json")
	}
}

func TestReasonString(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for r := ReasonInvalidSyntax; r <= ReasonTooDeep; r++ {
		s := r.String()
		if s == "" || strings.HasPrefix(s, "reason(") || seen[s] {
			t.Errorf("Reason(%d).String() = %q", r, s)
		}
		seen[s] = true
	}
	if got := Reason(200).String(); got != "reason(200)" {
		t.Errorf("Reason(200).String() = %q", got)
	}
}

func TestDecodeDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	in := []byte(`{"key":"value","n":12.5,"esc":"a\u00e9"}`)
	v, err := Decode(in, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'x'
	}
	want := map[string]any{"key": "value", "n": json.Number("12.5"), "esc": "aé"}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("tree changed with the input: %#v", v)
	}
}

// TestDecodeMatchesEncodingJSON checks that, on valid input, Decode builds the
// same tree as encoding/json with UseNumber, including when the pooled
// decoders' caches are warm and many distinct values collide in them.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	var inputs [][]byte
	for i := range 300 {
		inputs = append(inputs, orderBody(i))
		inputs = append(inputs, fmt.Appendf(nil, `{"k%d":"v%d","k%d":%d,"v%d":[%d,"%d",%d.5,"\u00e9%d"]}`, i, i, i+1, i, i, i, i, i, i))
	}
	for round := range 2 {
		for _, in := range inputs {
			got, err := Decode(in, 0)
			if err != nil {
				t.Fatalf("round %d: Decode(%s): %v", round, in, err)
			}
			if want := stdDecode(t, in); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: Decode(%s) = %#v, want %#v", round, in, got, want)
			}
		}
	}
}

func TestDecodeConcurrent(t *testing.T) {
	t.Parallel()
	bodies := make([][]byte, 16)
	wants := make([]any, len(bodies))
	for i := range bodies {
		bodies[i] = orderBody(i)
		wants[i] = stdDecode(t, bodies[i])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				j := (g + i) % len(bodies)
				got, err := Decode(bodies[j], 0)
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(got, wants[j]) {
					t.Errorf("body %d decoded differently", j)
					return
				}
				// Errors interleaved with successes must not disturb pooled state.
				if _, err := Decode([]byte(`{"a":[1,{"b":`), 0); err == nil {
					t.Error("truncated body accepted")
					return
				}
			}
		})
	}
	wg.Wait()
}

// stdDecode decodes data with encoding/json the way callers would without this package.
func stdDecode(t testing.TB, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json rejected %q: %v", data, err)
	}
	return v
}

func TestLimitsNumberWithin(t *testing.T) {
	t.Parallel()
	l := Limits{MaxNumberLength: 8, MaxNumberExponent: 20}
	for _, tc := range []struct {
		lit  string
		want bool
	}{
		{"12345678", true}, {"123456789", false}, {"-1.5e20", true}, {"1e21", false},
		{"1E-20", true}, {"1e-21", false}, {"1e+020", true}, {"0", true},
	} {
		if got := l.NumberWithin(tc.lit); got != tc.want {
			t.Errorf("NumberWithin(%q) = %v, want %v", tc.lit, got, tc.want)
		}
	}
	if !(Limits{}).NumberWithin("1e1000") || (Limits{}).NumberWithin("1e1001") {
		t.Error("zero Limits do not apply the default exponent limit")
	}
	_, err := DecodeLimits([]byte(`[1e21]`), l)
	if se, ok := errors.AsType[*SyntaxError](err); !ok || se.Reason != ReasonNumberTooLarge || !strings.Contains(se.Error(), "at most 8 characters, exponent at most 20") {
		t.Errorf("DecodeLimits: %v", err)
	}
}
