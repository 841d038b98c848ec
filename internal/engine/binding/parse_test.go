package binding

import (
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		ext     any // nil: no extension
		want    *Binding
		wantErr string // substring of the error, naming the field
	}{
		{desc: "not bound", ext: nil},
		{
			desc: "minimal, data defaults to body",
			ext:  map[string]any{"service": "catalog", "operation": "getProduct"},
			want: &Binding{Service: "catalog", Operation: "getProduct", Data: "body"},
		},
		{
			desc: "everything",
			ext: map[string]any{"service": "catalog", "operation": "getRecommendations",
				"params": map[string]any{"userId": "auth.subject", "limit": "query.limit", "x": "const:a.b:c", "h": "header.X-Tenant", "p": "path.id"},
				"body":   "body", "data": "body.items"},
			want: &Binding{Service: "catalog", Operation: "getRecommendations",
				Params: map[string]string{"userId": "auth.subject", "limit": "query.limit", "x": "const:a.b:c", "h": "header.X-Tenant", "p": "path.id"},
				Body:   "body", Data: "body.items"},
		},
		{desc: "no service", ext: map[string]any{"operation": "x"}, wantErr: "x-upstream.service: required"},
		{desc: "empty operation", ext: map[string]any{"service": "s", "operation": ""}, wantErr: "x-upstream.operation: required"},
		{desc: "service not a string", ext: map[string]any{"service": 3, "operation": "x"}, wantErr: "x-upstream.service: must be a string"},
		{desc: "unknown field", ext: map[string]any{"service": "s", "operation": "x", "param": map[string]any{}}, wantErr: "x-upstream.param: unknown field"},
		{desc: "not an object", ext: "catalog", wantErr: "x-upstream: must be an object"},
		{desc: "param source not a string", ext: map[string]any{"service": "s", "operation": "x", "params": map[string]any{"a": 1}}, wantErr: "x-upstream.params.a: must be a string"},
		{desc: "unknown source place", ext: map[string]any{"service": "s", "operation": "x", "params": map[string]any{"a": "cookie.a"}}, wantErr: "x-upstream.params.a: unknown source"},
		{desc: "auth other than subject", ext: map[string]any{"service": "s", "operation": "x", "params": map[string]any{"a": "auth.email"}}, wantErr: "x-upstream.params.a: unknown source"},
		{desc: "source without a name", ext: map[string]any{"service": "s", "operation": "x", "params": map[string]any{"a": "query."}}, wantErr: "x-upstream.params.a: unknown source"},
		{desc: "bad body", ext: map[string]any{"service": "s", "operation": "x", "body": "body.items"}, wantErr: "x-upstream.body: must be body"},
		{desc: "nested data field", ext: map[string]any{"service": "s", "operation": "x", "data": "body.a.b"}, wantErr: "x-upstream.data: must be body or body.<field>"},
		{desc: "data without body.", ext: map[string]any{"service": "s", "operation": "x", "data": "items"}, wantErr: "x-upstream.data: must be body or body.<field>"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			op := &openapi3.Operation{OperationID: "getThing"}
			if tt.ext != nil {
				op.Extensions = map[string]any{Extension: tt.ext}
			}
			got, bound, err := Parse(op)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "getThing") {
					t.Fatalf("err = %v, want one naming getThing and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if bound != (tt.want != nil) {
				t.Fatalf("bound = %v", bound)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSource(t *testing.T) {
	t.Parallel()
	for src, want := range map[string][2]string{
		"path.id": {"path", "id"}, "query.limit": {"query", "limit"}, "header.X-A": {"header", "X-A"},
		"auth.subject": {"auth", "subject"}, "const:": {"const", ""}, "const:x.y": {"const", "x.y"},
	} {
		place, name, err := ParseSource(src)
		if err != nil || place != want[0] || name != want[1] {
			t.Errorf("ParseSource(%q) = %q, %q, %v; want %q", src, place, name, err, want)
		}
	}
}
