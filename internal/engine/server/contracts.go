package server

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// contracts are an app's documents, loaded and validated once at start-up.
type contracts struct {
	public     *openapi3.T
	publicYAML []byte
	upstreams  map[string]*openapi3.T // by name: upstreams/<name>.yaml
}

// loadContracts reads the public contract (openapi.yaml) and every upstream contract
// (upstreams/*.yaml: the registry, package upstream) from fsys.
func loadContracts(fsys fs.FS) (*contracts, error) {
	c := &contracts{}
	var err error
	if c.publicYAML, err = fs.ReadFile(fsys, "openapi.yaml"); err != nil {
		return nil, fmt.Errorf("the public contract: %w", err)
	}
	if c.public, err = loadDoc("openapi.yaml", c.publicYAML); err != nil {
		return nil, err
	}
	if c.upstreams, err = upstream.Contracts(fsys); err != nil {
		return nil, err
	}
	return c, nil
}

func loadDoc(name string, data []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", name, err)
	}
	return doc, nil
}
