package binding

import (
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestNewBound(t *testing.T) {
	t.Parallel()
	s := fixtureSet(t)
	want := []string{"createProduct", "getMe", "getMeasurement", "getProduct", "listProducts"}
	if got := s.Bound(); !slices.Equal(got, want) {
		t.Fatalf("Bound() = %v, want %v", got, want)
	}
	if _, err := s.Op("deleteProduct"); err == nil || !strings.Contains(err.Error(), "deleteProduct") {
		t.Fatalf("Op(deleteProduct) err = %v, want not bound", err)
	}
	tests := []struct {
		op     string
		status int
		ok     []int
		field  string
	}{
		{op: "getProduct", status: 200, ok: []int{200}},
		{op: "listProducts", status: 200, ok: []int{200}, field: "items"},
		{op: "createProduct", status: 201, ok: []int{201}},
	}
	for _, tt := range tests {
		o := mustOp(t, s, tt.op)
		if o.c.status != tt.status || o.c.field != tt.field || len(o.c.schemas) != 1 {
			t.Errorf("%s: status %d field %q schemas %d", tt.op, o.c.status, o.c.field, len(o.c.schemas))
		}
		for _, code := range tt.ok {
			if !o.c.isSuccess(code) {
				t.Errorf("%s: %d not a success", tt.op, code)
			}
		}
		if o.c.isSuccess(404) || o.c.isSuccess(204) {
			t.Errorf("%s: 404 or 204 taken as success", tt.op)
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	// Each case changes the fixture contracts; New must fail naming the operation and field.
	tests := []struct {
		desc   string
		change func(public *openapi3.T, ups map[string]*openapi3.T)
		want   []string
	}{
		{
			desc: "unknown service",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) {
				ext(p, "/v1/products/{productId}", "GET")["service"] = "inventory"
			},
			want: []string{"operation getProduct", "x-upstream.service", `"inventory"`},
		},
		{
			desc: "unknown upstream operation",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) {
				ext(p, "/v1/products/{productId}", "GET")["operation"] = "fetchProduct"
			},
			want: []string{"operation getProduct", "x-upstream.operation", `"fetchProduct"`},
		},
		{
			desc: "param the upstream does not have",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) {
				ext(p, "/v1/products/{productId}", "GET")["params"] = map[string]any{"id": "path.productId", "sku": "const:1"}
			},
			want: []string{"operation getProduct", "x-upstream.params.sku", "no parameter"},
		},
		{
			desc: "source the public operation does not have",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) {
				ext(p, "/v1/products/{productId}", "GET")["params"] = map[string]any{"id": "path.id"}
			},
			want: []string{"operation getProduct", "x-upstream.params.id", `path parameter "id"`},
		},
		{
			desc: "required upstream parameter without a source",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) {
				delete(ext(p, "/v1/products/{productId}", "GET"), "params")
			},
			want: []string{"operation getProduct", "x-upstream.params.id", "no source"},
		},
		{
			desc: "required upstream header without a source",
			change: func(_ *openapi3.T, ups map[string]*openapi3.T) {
				for _, ref := range ups["catalog"].Paths.Value("/users/{userId}").Get.Parameters {
					if ref.Value.Name == "X-Tenant" {
						ref.Value.Required = true
					}
				}
			},
			want: []string{"operation getMe", "x-upstream.params.X-Tenant", "header"},
		},
		{
			desc:   "data field the upstream does not declare",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) { ext(p, "/v1/products", "GET")["data"] = "body.products" },
			want:   []string{"operation listProducts", "x-upstream.data", `"products"`},
		},
		{
			desc: "public data requires what the upstream does not declare",
			change: func(_ *openapi3.T, ups map[string]*openapi3.T) {
				delete(ups["catalog"].Components.Schemas["Product"].Value.Properties, "name")
			},
			want: []string{"operation getProduct", "x-upstream.data", "data.name", "upstream catalog getProduct"},
		},
		{
			desc: "... in array items",
			change: func(_ *openapi3.T, ups map[string]*openapi3.T) {
				delete(ups["catalog"].Components.Schemas["Product"].Value.Properties, "priceCents")
			},
			want: []string{"operation createProduct", "operation getProduct", "operation listProducts", "data[].priceCents"},
		},
		{
			desc:   "body on an operation without one",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) { ext(p, "/v1/products", "GET")["body"] = "body" },
			want:   []string{"operation listProducts", "x-upstream.body", "public operation declares no request body"},
		},
		{
			desc: "upstream without a 2xx",
			change: func(_ *openapi3.T, ups map[string]*openapi3.T) {
				ups["catalog"].Paths.Value("/products/{id}").Get.Responses.Delete("200")
			},
			want: []string{"operation getProduct", "x-upstream.operation", "no 2xx"},
		},
		{
			desc: "envelope behind a $ref to another file",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) {
				p.Paths.Value("/v1/products/{productId}").Get.Responses.Value("200").Ref = "components.yaml#/components/responses/Product"
			},
			want: []string{"operation getProduct", "public response 200", "not local", "InternalizeRefs"},
		},
		{
			desc: "public operation without a 2xx JSON answer",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) {
				p.Paths.Value("/v1/products/{productId}").Get.Responses.Delete("200")
			},
			want: []string{"operation getProduct", "no 2xx response"},
		},
		{
			desc: "malformed extension",
			change: func(p *openapi3.T, _ map[string]*openapi3.T) {
				ext(p, "/v1/products/{productId}", "GET")["data"] = "items"
			},
			want: []string{"operation getProduct", "x-upstream.data"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			public, ups := fixtures(t)
			tt.change(public, ups)
			_, err := New(public, ups)
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// ext returns the x-upstream map of an operation of doc, to change it.
func ext(doc *openapi3.T, path, method string) map[string]any {
	return doc.Paths.Value(path).GetOperation(method).Extensions[Extension].(map[string]any)
}
