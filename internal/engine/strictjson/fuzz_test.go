package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode checks that Decode never panics, only ever accepts what
// encoding/json accepts (building the same tree), rejects everything
// encoding/json rejects, and blames pure grammar errors only on input that
// encoding/json rejects too.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		``,
		` `,
		`{}`,
		`[]`,
		`null`,
		`-0.5e+10`,
		`12345678901234567890123`,
		`{"items":[{"productId":"prd_0001","quantity":2}],"currency":"USD","note":"hi","payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
		`{"note":"a","NOTE":"b"}`,
		`{"a":1,"a":2}`,
		`{"a":{"b":[{"c":1,"c":2}]}}`,
		`"\ud83d\ude00 caf\u00e9 \"\\\/\b\f\n\r\t"`,
		`"\ud800"`,
		`["\udc00\ud800"]`,
		"\"Jos\xe9\"",
		"\xef\xbb\xbf{}",
		`{"a":1}{"b":2}`,
		`[NaN, Infinity, -Infinity]`,
		`{'a':1} // comment`,
		`[01, 1.5.2, 0x10, truex]`,
		"\"a\x01b\"",
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"a":[1,2,{"b":`,
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data, 0)
		stdValid := json.Valid(data)
		if _, ok := Accepts(data); ok != (err == nil) {
			t.Fatalf("Accepts = %v, Decode's error %v: %q", ok, err, data)
		}

		if err != nil {
			if v != nil {
				t.Fatalf("Decode returned %#v with error %v", v, err)
			}
			var serr *SyntaxError
			if !errors.As(err, &serr) {
				t.Fatalf("error %T %v is not a *SyntaxError", err, err)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("errors.Is(%v, ErrMalformed) = false", err)
			}
			if serr.Reason > ReasonTooManyContainers {
				t.Fatalf("unknown reason %d", serr.Reason)
			}
			if serr.Offset < 0 || serr.Offset > int64(len(data)) {
				t.Fatalf("offset %d outside input of %d bytes (%v)", serr.Offset, len(data), err)
			}
			if msg := err.Error(); msg == "" || strings.Contains(msg, "jsontext") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("bad message %q", msg)
			}
			switch serr.Reason {
			case ReasonEmpty, ReasonTruncated, ReasonTrailingData, ReasonInvalidSyntax:
				// Pure grammar errors: encoding/json must agree the input is invalid.
				if stdValid {
					t.Fatalf("Decode reported %v (%v) but encoding/json accepts %q", serr.Reason, err, data)
				}
			}
			return
		}

		if !stdValid {
			t.Fatalf("Decode accepted %q, which encoding/json rejects", data)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("Decode(%q) = %#v, encoding/json gives %#v", data, v, want)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-marshalling %#v: %v", v, err)
		}
		again, err := Decode(out, 0)
		if err != nil {
			t.Fatalf("Decode rejects re-marshalled %q: %v", out, err)
		}
		if !reflect.DeepEqual(again, v) {
			t.Fatalf("round trip changed %#v into %#v", v, again)
		}
	})
}

// FuzzAccepts keeps Accepts' own pass in agreement with the tokenizer it leaves the rare
// shapes to: the same verdict and the same value.
func FuzzAccepts(f *testing.F) {
	for _, seed := range acceptsSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := Accepts(data)
		tv, tok := acceptsTokenizer(data)
		if ok != tok || ok && !bytes.Equal(v, tv) {
			t.Fatalf("Accepts = %v %q, the tokenizer %v %q: %q", ok, v, tok, tv, data)
		}
	})
}

// acceptsSeeds are the shapes Accepts' pass decides itself, and the edges of each.
var acceptsSeeds = []string{
	` {"a":[1,-2.5e+3,"x\"y",true,false,null],"b":{"c":{}},"d":[]} `,
	"\t\r\n[ 1 , 2 ]\n", `{ }`, `[ ]`, `{"a" : 1 , "b" : 2}`,
	`0`, `-0`, `-`, `01`, `1.`, `.5`, `1e`, `1e+`, `1E-7`, `-0.0e0`, `+1`, `1x`, `[1x]`, `1 2`,
	`tru`, `true`, `truex`, `nul`, `[null,false]`, `fals`,
	`"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800\udbff"`, `"\uD83D\uDE00"`, `"\u12g4"`, `"\x"`, `"\`,
	"\"\xc3\xa9\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"", "\"a\x7fb\"", "\"a\x1fb\"", "\"\x00\"",
	`{"a":1,"a":2}`, `{"a":1,"b":{"a":2}}`, `{"a":1,"\u0061":2}`, `{"a\"":1}`, `{"ab":1,"a":2}`,
	`{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`, `[1 2]`, `{`, `[`, `"`, `{"a":[}`, `]`,
	"\xef\xbb\xbf[]", ``, ` `,
	strings.Repeat("[", 64) + strings.Repeat("]", 64),
	strings.Repeat("[", 65) + strings.Repeat("]", 65),
	strings.Repeat(`{"a":`, 64) + `1` + strings.Repeat("}", 64),
	strings.Repeat(`{"a":`, 65) + `1` + strings.Repeat("}", 65),
	"1" + strings.Repeat("0", 999), "1" + strings.Repeat("0", 1000), `1e1000`, `1e1001`, `1e-0001000`, `1E+000000000001001`,
}
