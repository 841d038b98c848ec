package binding

import (
	"errors"
	"strings"
	"testing"
)

func TestProject(t *testing.T) {
	t.Parallel()
	s := fixtureSet(t)
	tests := []struct {
		desc, op, in, want string
		wantErr            error // nil: any error when want is ""
	}{
		{
			desc: "undeclared top-level property dropped",
			op:   "getProduct",
			in:   `{"id":"p1","passwordHash":"$2a$10$x","name":"Mug","priceCents":1200}`,
			want: `{"id":"p1","name":"Mug","priceCents":1200}`,
		},
		{
			desc: "undeclared property dropped in a nested object",
			op:   "getProduct",
			in:   `{"id":"p1","dimensions":{"width":1.5,"passwordHash":"x","height":2},"name":"Mug"}`,
			want: `{"id":"p1","dimensions":{"width":1.5,"height":2},"name":"Mug"}`,
		},
		{
			desc: "undeclared property dropped in array items, through a $ref",
			op:   "getProduct",
			in:   `{"variants":[{"sku":"a","passwordHash":"x","price":{"amount":1,"currency":"EUR","passwordHash":"y"}},{"passwordHash":{"deep":[1,2]},"sku":"b"}]}`,
			want: `{"variants":[{"sku":"a","price":{"amount":1,"currency":"EUR"}},{"sku":"b"}]}`,
		},
		{
			desc: "additionalProperties schema projects the extra keys",
			op:   "getProduct",
			in:   `{"prices":{"de":{"amount":100,"currency":"EUR","passwordHash":"x"},"us":{"currency":"USD","amount":110}}}`,
			want: `{"prices":{"de":{"amount":100,"currency":"EUR"},"us":{"currency":"USD","amount":110}}}`,
		},
		{
			desc: "a schema without properties keeps the value as is",
			op:   "getProduct",
			in:   `{"extra":{"passwordHash":"kept", "n" : [1, {"a":2}]}}`,
			want: `{"extra":{"passwordHash":"kept", "n" : [1, {"a":2}]}}`,
		},
		{
			desc: "recursive $ref",
			op:   "getProduct",
			in:   `{"category":{"name":"a","x":1,"parent":{"name":"b","x":2,"parent":{"name":"c","x":3}}}}`,
			want: `{"category":{"name":"a","parent":{"name":"b","parent":{"name":"c"}}}}`,
		},
		{
			desc: "allOf is the union of properties, oneOf of its branches'",
			op:   "getMe",
			in:   `{"id":"u1","email":"a@b.c","passwordHash":"x","displayName":"A","contact":{"phone":"1","fax":"2","pager":"3"}}`,
			want: `{"id":"u1","email":"a@b.c","displayName":"A","contact":{"phone":"1","fax":"2"}}`,
		},
		{
			desc: "numbers pass byte-exact",
			op:   "getMeasurement",
			in:   `{"value":1e400,"count":123456789012345678901234567890,"samples":[0.1,-0,1.000000000000000000001,1E-400,2.50]}`,
			want: `{"value":1e400,"count":123456789012345678901234567890,"samples":[0.1,-0,1.000000000000000000001,1E-400,2.50]}`,
		},
		{
			desc: "strings keep their escapes and unicode",
			op:   "getMeasurement",
			in:   `{"label":"caf\u00e9 \"q\" \\ \/ \ud83d\ude00 日本 <&>","passwordHash":"\u0000"}`,
			want: `{"label":"caf\u00e9 \"q\" \\ \/ \ud83d\ude00 日本 <&>"}`,
		},
		{
			desc: "escaped member names are matched unescaped",
			op:   "getMeasurement",
			in:   `{"\u006cabel":"x","pass\u0077ordHash":"y"}`,
			want: `{"\u006cabel":"x"}`,
		},
		{
			desc: "whitespace around projected values goes",
			op:   "getProduct",
			in:   " {\n \"id\" : \"p\" ,\n \"tags\" : [ \"a\" , \"b\" ] ,\"passwordHash\": 1 }\n",
			want: `{"id":"p","tags":["a","b"]}`,
		},
		{
			desc: "a value of another type is kept, for validation to reject",
			op:   "getProduct",
			in:   `{"dimensions":"wide","variants":{"sku":"a"}}`,
			want: `{"dimensions":"wide","variants":{"sku":"a"}}`,
		},
		{
			desc: "data: body.items",
			op:   "listProducts",
			in:   `{"total":2,"items":[{"id":"a","passwordHash":"x"},{"id":"b"}],"next":null}`,
			want: `[{"id":"a"},{"id":"b"}]`,
		},
		{desc: "data field missing", op: "listProducts", in: `{"total":0}`, wantErr: errNoField},
		{desc: "data field of a non-object", op: "listProducts", in: `[{"items":[]}]`, wantErr: errNoField},
		{desc: "truncated", op: "getProduct", in: `{"id":"p1","name":`},
		{desc: "trailing data", op: "getProduct", in: `{"id":"p1"} {}`},
		{desc: "duplicate names", op: "getProduct", in: `{"id":"p1","id":"p2"}`},
		{desc: "duplicate dropped names", op: "getProduct", in: `{"x":1,"x":2}`},
		{desc: "invalid UTF-8", op: "getProduct", in: "{\"id\":\"\xff\"}"},
		{desc: "too deep", op: "getProduct", in: `{"category":` + strings.Repeat(`{"name":"a","parent":`, 80) + `null` + strings.Repeat(`}`, 81)},
		{desc: "empty", op: "getProduct", in: ``},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			o := mustOp(t, s, tt.op)
			got, _, err := projectBoth(t, o, []byte(tt.in))
			if tt.want == "" {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v (got %s)", err, tt.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
