package components_test

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/envelope"
)

// componentsFile is the shared components file every public contract $refs.
var componentsFile = filepath.Join("..", "..", "..", "api", "components.yaml")

const docURL = "mem:///components.json"

// loadComponents returns components.yaml as JSON values (for the schema compiler) and its
// schemas by name.
func loadComponents(t *testing.T) (doc any, schemas map[string]any) {
	t.Helper()
	data, err := os.ReadFile(componentsFile)
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	encoded, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(encoded))
	if err != nil {
		t.Fatal(err)
	}
	schemas = doc.(map[string]any)["components"].(map[string]any)["schemas"].(map[string]any)
	return doc, schemas
}

// compile returns components.yaml's schema name, compiled as JSON Schema 2020-12 with
// formats asserted.
func compile(t *testing.T, doc any, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(docURL + "#/components/schemas/" + name)
	if err != nil {
		t.Fatalf("compiling %s: %v", name, err)
	}
	return s
}

// TestGoTypesMatchSchemas: each Go type has exactly its schema's properties as JSON
// fields, and a property is required exactly when its field is not omitempty.
func TestGoTypesMatchSchemas(t *testing.T) {
	t.Parallel()
	_, schemas := loadComponents(t)
	types := map[string]reflect.Type{
		"Meta":          reflect.TypeFor[components.Meta](),
		"Pagination":    reflect.TypeFor[components.Pagination](),
		"ErrorEnvelope": reflect.TypeFor[components.ErrorEnvelope](),
		"Error":         reflect.TypeFor[components.Error](),
		"ErrorDetail":   reflect.TypeFor[components.ErrorDetail](),
	}
	for name, s := range schemas {
		if s.(map[string]any)["type"] == "object" && types[name] == nil {
			t.Errorf("components.yaml declares %s, and package components has no type for it", name)
		}
	}
	for name, typ := range types {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, ok := schemas[name].(map[string]any)
			if !ok {
				t.Fatalf("components.yaml has no schema %s", name)
			}
			var required []string
			for _, r := range s["required"].([]any) {
				required = append(required, r.(string))
			}
			var props []string
			for p := range s["properties"].(map[string]any) {
				props = append(props, p)
			}
			var fields []string
			for f := range typ.Fields() {
				tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				fields = append(fields, tag)
				if omit := strings.Contains(opts, "omitempty"); omit == slices.Contains(required, tag) {
					t.Errorf("%s.%s: omitempty %v, but required in components.yaml is %v", name, f.Name, omit, !omit)
				}
			}
			slices.Sort(props)
			slices.Sort(fields)
			if !slices.Equal(props, fields) {
				t.Errorf("%s: JSON fields %v, components.yaml properties %v", name, fields, props)
			}
		})
	}
}

// TestErrorCodes: the ErrorCode constants are components.yaml's enum, each named by its
// x-enum-varnames entry, and ErrorCodes lists them all.
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	_, schemas := loadComponents(t)
	s := schemas["ErrorCode"].(map[string]any)
	enum, names := s["enum"].([]any), s["x-enum-varnames"].([]any)
	if len(enum) != len(names) {
		t.Fatalf("ErrorCode: %d values, %d x-enum-varnames", len(enum), len(names))
	}
	want := map[string]string{} // constant name -> value
	for i := range enum {
		want[names[i].(string)] = enum[i].(string)
	}
	got := errorCodeConstants(t)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ErrorCode constants in components.go:\n%v\ncomponents.yaml (x-enum-varnames: enum):\n%v", got, want)
	}
	if len(components.ErrorCodes) != len(want) {
		t.Errorf("ErrorCodes lists %d codes, components.yaml %d", len(components.ErrorCodes), len(want))
	}
	for _, c := range components.ErrorCodes {
		if !slices.Contains(enum, any(string(c))) {
			t.Errorf("ErrorCodes: %s is not in components.yaml's enum", c)
		}
	}
}

// errorCodeConstants parses components.go for its ErrorCode constants.
func errorCodeConstants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "components.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "ErrorCode" {
				continue
			}
			lit := v.Values[0].(*ast.BasicLit)
			value, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			out[v.Names[0].Name] = value
		}
	}
	return out
}

// TestEngineValuesValidate: what the engine writes validates against the shared schemas:
// an error envelope with details as apierror.Handler renders it, and a list's meta with
// pagination and degraded.
func TestEngineValuesValidate(t *testing.T) {
	t.Parallel()
	doc, _ := loadComponents(t)
	ctx := correlation.NewContext(context.Background(), &correlation.Info{
		RequestID: "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90",
		Start:     time.Now(),
	})

	meta := envelope.ListMeta(ctx, 2, 20, 57)
	meta.Degraded = &[]string{components.DegradedStale}

	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/orders", nil)
	rec := httptest.NewRecorder()
	e := apierror.ErrValidationFailed.WithDetails(
		apierror.Detail{Field: "body.items[0].quantity", Constraint: "maximum", Message: "must be at most 100", Received: 500},
		apierror.Detail{Field: "query.page", Constraint: "type", Message: "must be an integer"},
	)
	apierror.Handler(slog.New(slog.DiscardHandler))(e, echo.New().NewContext(req, rec))

	tests := []struct {
		desc, schema string
		value        []byte
		want         string // a substring the encoding must hold, so that the case tests something
	}{
		{"error envelope with details", "ErrorEnvelope", rec.Body.Bytes(), `"received":500`},
		{"meta with pagination and degraded", "Meta", mustJSON(t, meta), `"hasNext":true`},
		{"every error code", "ErrorCode", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s := compile(t, doc, tt.schema)
			values := [][]byte{tt.value}
			if tt.value == nil {
				values = nil
				for _, c := range components.ErrorCodes {
					values = append(values, mustJSON(t, c))
				}
			}
			for _, v := range values {
				if !bytes.Contains(v, []byte(tt.want)) {
					t.Fatalf("%s lacks %s", v, tt.want)
				}
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(v))
				if err != nil {
					t.Fatalf("%s: %v", v, err)
				}
				if err := s.Validate(inst); err != nil {
					t.Errorf("%s does not validate against components.yaml's %s: %v", v, tt.schema, err)
				}
			}
		})
	}
}

// TestSchemasRejectWhatTheyShould: the checks above can fail (a wrong code, a missing
// required field, a negative duration).
func TestSchemasRejectWhatTheyShould(t *testing.T) {
	t.Parallel()
	doc, _ := loadComponents(t)
	tests := []struct{ desc, schema, value string }{
		{"unknown code", "ErrorCode", `"NOT_A_CODE"`},
		{"success true", "ErrorEnvelope", `{"success":true,"error":{"code":"CONFLICT","message":"x"},"meta":{"requestId":"r","timestamp":"2026-11-26T17:05:07.123Z","duration":1}}`},
		{"meta without requestId", "Meta", `{"timestamp":"2026-11-26T17:05:07.123Z","duration":1}`},
		{"negative duration", "Meta", `{"requestId":"r","timestamp":"2026-11-26T17:05:07.123Z","duration":-1}`},
		{"bad timestamp", "Meta", `{"requestId":"r","timestamp":"yesterday","duration":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.value))
			if err != nil {
				t.Fatal(err)
			}
			if compile(t, doc, tt.schema).Validate(inst) == nil {
				t.Errorf("%s validates against %s", tt.value, tt.schema)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
