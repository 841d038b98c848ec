package idempotency_test

import (
	"fmt"

	"github.com/contractgate/contractgate/internal/engine/idempotency"
)

// A key arrives bare or as a structured-field string; both name the same key.
func ExampleParseKey() {
	for _, v := range []string{`8e03978e-40d5-43e8-bc93-6894a57f9324`, `"8e03978e-40d5-43e8-bc93-6894a57f9324"`, `"a\"b"`, ``} {
		key, err := idempotency.ParseKey(v)
		fmt.Printf("%q %v\n", key, err != nil)
	}
	// Output:
	// "8e03978e-40d5-43e8-bc93-6894a57f9324" false
	// "8e03978e-40d5-43e8-bc93-6894a57f9324" false
	// "a\"b" false
	// "" true
}
