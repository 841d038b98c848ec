// Package enginetest holds the fixture contracts the engine's unit tests stand on, so that
// replacing or extending an app's contract leaves every engine test green. Shop
// (testdata/shop.yaml) is a frozen public contract with the shapes the policies need: public
// and secured operations, scopes, a keyed POST with a strict body, paginated lists, x-cache
// and x-ratelimit operations.
package enginetest

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"sync"

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

// LogBuffer collects what a logger writes from concurrent requests: a bytes.Buffer whose
// Write and String are safe for concurrent use. The zero value is ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
