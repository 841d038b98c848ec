// Package enginetest holds the fixture contracts the engine's unit tests stand on, so that
// replacing or extending an app's contract leaves every engine test green. Shop
// (testdata/shop.yaml) is a frozen public contract with the shapes the policies need: public
// and secured operations, scopes, a keyed POST with a strict body, paginated lists, x-cache
// and x-ratelimit operations.
package enginetest

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed testdata/shop.yaml
var shopYAML []byte

// ShopYAML returns the shop fixture contract, byte for byte.
func ShopYAML() []byte { return append([]byte(nil), shopYAML...) }

// Shop loads and validates the shop fixture contract.
func Shop() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(shopYAML)
	if err != nil {
		return nil, fmt.Errorf("loading the shop fixture: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the shop fixture is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
}
