package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// orderBody returns a realistic order request body of roughly 1 KB; seed
// varies product IDs, quantities, prices, the card token and the note.
func orderBody(seed int) []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := range 12 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"productId":"prd_%04d","quantity":%d,"unitPrice":%d.%02d}`,
			(seed*37+i*101)%10000, (seed+i)%5+1, 10+(seed+i*3)%90, (seed*7+i)%100)
	}
	b.WriteString(`],"currency":"USD",`)
	fmt.Fprintf(&b, `"note":"Please leave the parcel at the back door, next to the blue recycling bin. Ring twice \u2013 order %d, thanks!",`, seed)
	b.WriteString(`"shippingAddress":{"name":"Ada Lovelace","line1":"12 Analytical Engine Way","city":"London","postalCode":"NW1 6XE","country":"GB"},`)
	fmt.Fprintf(&b, `"payment":{"method":"card","cardToken":"tok_visa_%04d"},"giftWrap":false,"couponCode":null}`, seed%10000)
	return []byte(b.String())
}

// BenchmarkDecode compares Decode with the encoding/json baseline: a
// json.Decoder with UseNumber decoding into any, which is what callers would
// otherwise write to keep numbers exact. "same" decodes one ~1 KB order body
// over and over; "varied" cycles through 1024 bodies with different product
// IDs, prices and tokens, so that Decode's value caches mostly miss.
func BenchmarkDecode(b *testing.B) {
	same := [][]byte{orderBody(0)}
	varied := make([][]byte, 1024)
	for i := range varied {
		varied[i] = orderBody(i)
	}
	size := int64(len(same[0]))

	for _, input := range []struct {
		name   string
		bodies [][]byte
	}{{"same", same}, {"varied", varied}} {
		bodies := input.bodies
		b.Run("strictjson/"+input.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			i := 0
			for b.Loop() {
				if _, err := Decode(bodies[i%len(bodies)], 0); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("encoding_json_usenumber/"+input.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			i := 0
			for b.Loop() {
				dec := json.NewDecoder(bytes.NewReader(bodies[i%len(bodies)]))
				dec.UseNumber()
				var v any
				if err := dec.Decode(&v); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}

	// For reference only: plain Unmarshal turns numbers into float64, losing
	// precision, so it is not a drop-in alternative.
	b.Run("encoding_json_unmarshal_float64/same", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			var v any
			if err := json.Unmarshal(same[0], &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAccepts compares Accepts' own pass with the tokenizer's on a ~1 KB order body.
func BenchmarkAccepts(b *testing.B) {
	body := orderBody(0)
	for _, c := range []struct {
		name string
		f    func([]byte) ([]byte, bool)
	}{{"pass", Accepts}, {"tokenizer", acceptsTokenizer}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := c.f(body); !ok {
					b.Fatal("not accepted")
				}
			}
		})
	}
}
