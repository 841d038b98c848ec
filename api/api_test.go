package api_test

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/contractgate/contractgate/api"
	"github.com/contractgate/contractgate/internal/engine/contract"
)

// TestServedContractIsSelfContained: the public contract, as served and as given to the
// SDK generators, has the shared components inside and no reference to another file.
func TestServedContractIsSelfContained(t *testing.T) {
	t.Parallel()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Meta", "Pagination", "ErrorEnvelope", "Error", "ErrorCode", "ErrorDetail"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("the bundled contract has no components.schemas.%s", name)
		}
	}
	js, ys, err := contract.Bundle(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{js, ys} {
		if bytes.Contains(b, []byte(".yaml#")) {
			t.Errorf("the served contract refers to another file:\n%s", b)
		}
	}
}

// TestFS: the embedded contracts are the public one, the shared components and one per
// upstream.
func TestFS(t *testing.T) {
	t.Parallel()
	ups, err := fs.Glob(api.FS, "upstreams/*.yaml")
	if err != nil || len(ups) == 0 {
		t.Fatalf("upstreams/*.yaml: %v, %v", ups, err)
	}
	for _, name := range append([]string{"openapi.yaml", "components.yaml"}, ups...) {
		if _, err := contract.Load(api.FS, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
