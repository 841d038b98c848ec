package strictjson_test

import (
	"errors"
	"fmt"

	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

func ExampleDecode() {
	v, err := strictjson.Decode([]byte(`{"items":[{"productId":"prd_0001","quantity":2}],"total":12345678901234567890.50}`), 0)
	if err != nil {
		panic(err)
	}
	order := v.(map[string]any)
	fmt.Printf("%T %v\n", order["total"], order["total"])

	_, err = strictjson.Decode([]byte(`{"note":"a","note":"b"}`), 0)
	var serr *strictjson.SyntaxError
	if errors.As(err, &serr) {
		fmt.Println(serr.Reason, serr.Path, errors.Is(err, strictjson.ErrMalformed))
		fmt.Println(err)
	}
	// Output:
	// json.Number 12345678901234567890.50
	// duplicate_key /note true
	// duplicate object key "note" at /
}
