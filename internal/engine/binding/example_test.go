package binding_test

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/binding"
)

func ExampleParse() {
	op := &openapi3.Operation{
		OperationID: "getMyRecommendations",
		Extensions: map[string]any{"x-upstream": map[string]any{
			"service":   "catalog",
			"operation": "getRecommendations",
			"params":    map[string]any{"userId": "auth.subject", "limit": "query.limit"},
			"data":      "body.items",
		}},
	}
	b, bound, err := binding.Parse(op)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bound, b.Service, b.Operation, b.Params["userId"], b.Field())
	place, name, _ := binding.ParseSource(b.Params["limit"])
	fmt.Println(place, name)
	// Output:
	// true catalog getRecommendations auth.subject items
	// query limit
}
