// Package api embeds the gateway's contracts: the public contract openapi.yaml, the shared
// envelope and error components it $refs (components.yaml), and one contract per upstream
// service (upstreams/<name>.yaml), so that the binary serves and enforces exactly the
// documents its code was generated from.
package api

import (
	"embed"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/contract"
)

// FS holds openapi.yaml, components.yaml and upstreams/*.yaml, byte for byte.
//
//go:embed openapi.yaml components.yaml upstreams/*.yaml
var FS embed.FS

// Load returns the public contract bundled into one self-contained, validated document
// (its references to components.yaml resolved against FS and moved into its own
// components; see contract.Load). (oapi-codegen's own embedded copy is not used: it
// rewrites operationIds while generating.)
func Load() (*openapi3.T, error) {
	return contract.Load(FS, "openapi.yaml")
}
