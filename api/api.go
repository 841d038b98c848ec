// Package api embeds the app's contracts: the gateway's public contract (openapi.yaml) and the
// contract of every upstream service (upstreams/<name>.yaml, the upstream registry), so that
// the binary serves and enforces exactly the documents its code was generated from.
package api

import (
	"context"
	"embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// FS holds the contracts, by their paths under api/.
//
//go:embed openapi.yaml upstreams/*.yaml
var FS embed.FS

// OpenAPIYAML is api/openapi.yaml, byte for byte.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// Load parses and validates the embedded contract with kin-openapi. (oapi-codegen's own
// embedded copy is not used: it rewrites operationIds while generating.)
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("loading api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
}
