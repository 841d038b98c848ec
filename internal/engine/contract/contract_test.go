package contract_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"github.com/contractgate/contractgate/internal/engine/contract"
)

const components = `openapi: 3.1.0
info: { title: shared, version: 1.0.0 }
paths: {}
components:
  schemas:
    Meta:
      type: object
      required: [requestId]
      properties:
        requestId: { type: string }
        pagination: { $ref: '#/components/schemas/Pagination' }
    Pagination:
      type: object
      properties:
        page: { type: integer }
    ErrorEnvelope:
      type: object
      required: [success, meta]
      properties:
        success: { const: false }
        meta: { $ref: '#/components/schemas/Meta' }
`

// public is a contract that $refs the shared components from dir ("" or "../").
func public(dir, extra string) string {
	return `openapi: 3.1.0
info: { title: public, version: 1.0.0 }
paths:
  /v1/things:
    get:
      operationId: listThings
      responses:
        '200':
          description: The things.
          content:
            application/json:
              schema: { $ref: '#/components/schemas/ThingEnvelope' }
        '500':
          description: Failure.
          content:
            application/json:
              schema: { $ref: './` + dir + `components.yaml#/components/schemas/ErrorEnvelope' }
components:
  schemas:
    ThingEnvelope:
      type: object
      properties:
        data: { type: array, items: { type: string } }
        meta: { $ref: './` + dir + `components.yaml#/components/schemas/Meta' }
` + extra
}

// TestLoadBundles: Load follows the references into components.yaml (also from a
// sub-directory, as upstream contracts do) and leaves one self-contained document whose
// references are all local, with the shared schemas under their own names.
func TestLoadBundles(t *testing.T) {
	t.Parallel()
	tests := []struct{ desc, name, dir string }{
		{"beside", "openapi.yaml", ""},
		{"from a sub-directory", "upstreams/things.yaml", "../"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{
				"components.yaml": {Data: []byte(components)},
				tt.name:           {Data: []byte(public(tt.dir, ""))},
			}
			doc, err := contract.Load(fsys, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"Meta", "Pagination", "ErrorEnvelope", "ThingEnvelope"} {
				if doc.Components.Schemas[name] == nil {
					t.Errorf("bundled document has no components.schemas.%s", name)
				}
			}
			js, ys, err := contract.Bundle(doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range [][]byte{js, ys} {
				if bytes.Contains(b, []byte("components.yaml")) {
					t.Errorf("bundle still refers to components.yaml:\n%s", b)
				}
			}
			if !bytes.Contains(js, []byte(`"$ref":"#/components/schemas/Meta"`)) {
				t.Errorf("bundle does not $ref the internalized Meta:\n%s", js)
			}
			if !bytes.HasPrefix(ys, []byte("openapi: 3.1.0\ninfo:")) {
				t.Errorf("YAML does not start with openapi, info:\n%s", ys)
			}
			var fromJSON, fromYAML any
			if err := json.Unmarshal(js, &fromJSON); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(ys, &fromYAML); err != nil {
				t.Fatal(err)
			}
			j2, _ := json.Marshal(fromYAML)
			j1, _ := json.Marshal(fromJSON)
			if !bytes.Equal(j1, j2) {
				t.Errorf("JSON and YAML bundles differ:\n%s\n%s", j1, j2)
			}
			again, err := contract.Load(fsys, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if _, ys2, _ := contract.Bundle(again); !bytes.Equal(ys, ys2) {
				t.Error("two bundles of the same contract differ")
			}
		})
	}
}

// TestReadKeepsReferences: Read resolves the references but keeps them as written, for
// linters.
func TestReadKeepsReferences(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"components.yaml": {Data: []byte(components)},
		"openapi.yaml":    {Data: []byte(public("", ""))},
	}
	doc, err := contract.Read(fsys, "openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	meta := doc.Components.Schemas["ThingEnvelope"].Value.Properties["meta"]
	if meta.Ref != "./components.yaml#/components/schemas/Meta" || meta.Value == nil {
		t.Errorf("meta: ref %q, resolved %v", meta.Ref, meta.Value != nil)
	}
	if doc.Components.Schemas["Meta"] != nil {
		t.Error("Read moved Meta into the document")
	}
}

// TestLoadFailures: a missing file, and a name taken twice, are errors that say so.
func TestLoadFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		fsys fstest.MapFS
		want string
	}{
		{"missing components", fstest.MapFS{"openapi.yaml": {Data: []byte(public("", ""))}}, "components.yaml"},
		{"own Meta", fstest.MapFS{
			"components.yaml": {Data: []byte(components)},
			"openapi.yaml":    {Data: []byte(public("", "    Meta:\n      type: string\n"))},
		}, "./components.yaml#/components/schemas/Meta: the contract has its own components.schemas.Meta"},
		{"remote reference", fstest.MapFS{
			"openapi.yaml": {Data: []byte(strings.ReplaceAll(public("", ""), "./components.yaml", "https://example.com/components.yaml"))},
		}, "only references to files beside the contract"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := contract.Load(tt.fsys, "openapi.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestLoadFile: on disk, references may leave the contract's directory (test fixtures
// $ref the repository's api/components.yaml).
func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "components.yaml"), components)
	write(t, filepath.Join(dir, "app", "openapi.yaml"), public("../", ""))
	b, err := contract.BundleFile(filepath.Join(dir, "app", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("    ErrorEnvelope:\n")) || bytes.Contains(b, []byte("components.yaml")) {
		t.Errorf("bundle:\n%s", b)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
