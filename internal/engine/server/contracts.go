package server

import (
	"io/fs"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/contract"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// contracts are an app's documents, loaded and validated once at start-up.
type contracts struct {
	public    *openapi3.T            // bundled: the shared components moved in
	upstreams map[string]*openapi3.T // by name: upstreams/<name>.yaml
}

// loadContracts reads the public contract (openapi.yaml, with the shared components it $refs)
// and every upstream contract (upstreams/*.yaml: the registry, package upstream) from fsys.
func loadContracts(fsys fs.FS) (*contracts, error) {
	public, err := contract.Load(fsys, "openapi.yaml")
	if err != nil {
		return nil, err
	}
	ups, err := upstream.Contracts(fsys)
	if err != nil {
		return nil, err
	}
	return &contracts{public: public, upstreams: ups}, nil
}
