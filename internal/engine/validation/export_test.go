package validation

import (
	"fmt"
	"strings"
)

// BenchOrder is a realistic create-order body of about 1 KB, for the benchmarks of this
// package and of validation_test.
var BenchOrder = func() []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 1; i <= 21; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"productId":"prd_%04d","quantity":%d}`, i, i%5+1)
	}
	b.WriteString(`],"currency":"USD","note":"Please leave the parcel with the neighbour at number 12 if nobody answers the door; thank you very much.",`)
	b.WriteString(`"payment":{"method":"card","cardToken":"tok_visa_4242424242424242"}}`)
	return []byte(b.String())
}()
