package validation

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// agreement compiles the contract's create-order body schema with both engines.
func agreement(tb testing.TB) *schema {
	tb.Helper()
	doc, err := enginetest.Shop()
	if err != nil {
		tb.Fatal(err)
	}
	full, tree, err := newCompiler(doc)
	if err != nil {
		tb.Fatal(err)
	}
	c := &compilers{full: full, fast: newFastCompiler(tree, full)}
	s, err := c.compile("/components/schemas/CreateOrderRequest")
	if err != nil {
		tb.Fatal(err)
	}
	if s.fast == nil {
		tb.Fatal("CreateOrderRequest should be within the fast subset")
	}
	return s
}

// assertAgree fails when the fast path decides differently from the full engine.
func assertAgree(t *testing.T, s *schema, body string) {
	t.Helper()
	v, err := strictjson.Decode([]byte(body), 64)
	if err != nil {
		return // not JSON: never reaches the schemas
	}
	fast := s.fast.check(v)
	fullErr := s.full.Validate(v)
	switch {
	case fast == valid && fullErr != nil:
		t.Fatalf("fast path accepts what the full engine rejects (%v): %s", fullErr, body)
	case fast == invalid && fullErr == nil:
		t.Fatalf("fast path rejects what the full engine accepts: %s", body)
	}
}

// assertRawAgrees fails when the fast path over bytes (ValidJSON) decides differently from
// strictjson and the fast path over the decoded tree.
func assertRawAgrees(t *testing.T, s *schema, body string) {
	t.Helper()
	v, err := strictjson.Decode([]byte(body), 0)
	if ValidJSON([]byte(body), &Schema{s: s}) && (err != nil || s.fast.check(v) != valid) {
		t.Fatalf("ValidJSON accepts what strictjson or the fast path rejects (%v): %q", err, body)
	}
	if err != nil {
		return
	}
	rc := &rawCheck{b: bytes.Trim([]byte(body), " \t\r\n")}
	raw, end := rc.value(s.fast, 0)
	switch tree := s.fast.check(v); {
	case raw == valid && tree != valid:
		t.Fatalf("over bytes valid, over the tree %v: %q", tree, body)
	case raw == invalid && tree != invalid:
		t.Fatalf("over bytes invalid, over the tree %v: %q", tree, body)
	case raw == valid && end != len(rc.b):
		t.Fatalf("over bytes valid, ending at %d of %d: %q", end, len(rc.b), body)
	}
}

// rawSeeds add to agreementSeeds what only the bytes path sees: whitespace, escapes,
// duplicate names, limits.
var rawSeeds = []string{
	` { "items" : [ { "productId" : "prd_0001" , "quantity" : 2 } ] , "payment" : { "method" : "card" , "cardToken" : "tok_visa_4242" } } `,
	`{"items":[{"productId":"prd_\u0030001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"c\u0061rd","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","card\u0054oken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"},"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"},"note":1e9999}`,
	`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"},"note":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	"\xef\xbb\xbf" + `{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"}} x`,
	`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"},"currency":"EUR","note":"a\"b}"}`,
	`{"items":[{"productId":"prd_0001","quantity":2},{"productId":"prd_0002","quantity":100}],"payment":{"method":"invoice","purchaseOrder":"PO-1"},"currency":"USD"}`,
	`01`, ` `, `"\ud800"`, `{"a":1,"\u0061":2}`,
}

func TestFastPathOverBytesAgrees(t *testing.T) {
	s := agreement(t)
	for _, body := range append(agreementSeeds, rawSeeds...) {
		t.Run(body, func(t *testing.T) { assertRawAgrees(t, s, body) })
	}
}

// TestFastPathOverBytesDecides: the bytes path decides the valid seeds itself (it exists to
// spare their tree).
func TestFastPathOverBytesDecides(t *testing.T) {
	s := agreement(t)
	for _, body := range []string{agreementSeeds[0], agreementSeeds[12], rawSeeds[0], rawSeeds[1], rawSeeds[10]} {
		if !ValidJSON([]byte(body), &Schema{s: s}) {
			t.Errorf("not decided: %s", body)
		}
	}
	body, schema := []byte(rawSeeds[10]), &Schema{s: s}
	if n := testing.AllocsPerRun(100, func() { ValidJSON(body, schema) }); n > 0 && !raceEnabled {
		t.Errorf("ValidJSON allocates %v times, want 0", n)
	}
}

// FuzzFastPathOverBytes is the differential test of the bytes path against the tree path.
func FuzzFastPathOverBytes(f *testing.F) {
	for _, seed := range append(agreementSeeds, rawSeeds...) {
		f.Add(seed)
	}
	s := agreement(f)
	f.Fuzz(func(t *testing.T, body string) {
		assertRawAgrees(t, s, body)
		assertAgree(t, s, body)
	})
}

var agreementSeeds = []string{
	`{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":2.0}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":2.5}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1e2}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1.00000000000000000001}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":100.0000000000000001}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":2147483648}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":-0}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":"2"}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"PRD_0001","quantity":1}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1,"x":1}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"currency":"USD","note":null,"payment":{"method":"invoice","purchaseOrder":"PO-1"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"currency":"EUR","payment":{"method":"invoice","purchaseOrder":"PO-1"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"note":5,"payment":{"method":"invoice","purchaseOrder":"PO-1"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"payment":{"method":"cash"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"payment":{"method":"invoice","purchaseOrder":"PO-1","cardToken":"tok_1234"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"payment":{"method":"invoice","purchaseOrder":""}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"payment":{"method":"card","cardToken":"tok_ü234"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"note":"ééééé","payment":{"method":"card","cardToken":"tok_1234"}}`,
	`{"items":[{"productId":"prd_0001","quantity":1}],"payment":[]}`,
	`{"items":{},"payment":{"method":"card","cardToken":"tok_1234"}}`,
	`[]`, `"x"`, `null`, `1`, `{}`,
}

func TestFastPathAgreesWithFullEngine(t *testing.T) {
	s := agreement(t)
	for _, body := range agreementSeeds {
		t.Run(body, func(t *testing.T) { assertAgree(t, s, body) })
	}
}

// FuzzFastPathAgreesWithFullEngine is the differential test of the two engines.
func FuzzFastPathAgreesWithFullEngine(f *testing.F) {
	for _, seed := range agreementSeeds {
		f.Add(seed)
	}
	s := agreement(f)
	f.Fuzz(func(t *testing.T, body string) { assertAgree(t, s, body) })
}

func TestPlainDateTimeAgreesWithFullEngine(t *testing.T) {
	t.Parallel()
	doc, err := enginetest.Shop()
	if err != nil {
		t.Fatal(err)
	}
	full, tree, err := newCompiler(doc)
	if err != nil {
		t.Fatal(err)
	}
	fc := newFastCompiler(tree, full)
	check, err := fc.formatCheck("date-time")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := fc.fullFormat("date-time")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"2026-11-27T03:05:26Z", "2026-11-27T03:05:26.483Z", "2026-11-27T03:05:26+01:00", "2024-02-29T00:00:00Z",
		"2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T03:60:00Z",
		"2016-12-31T23:59:60Z", "2026-11-27T03:05:26+24:00", "2026-11-27t03:05:26z", "2026-11-27 03:05:26Z",
		"2026-11-27T03:05:26", "2026-11-27T03:05:26.Z", "26-11-27T03:05:26Z", "2026-11-27T03:05:26+0100",
	} {
		if got, want := check(s), ref(s); got != want {
			t.Errorf("date-time %q: fast %v, full %v", s, got, want)
		}
	}
}

// TestFastCompileRollsBack: a schema outside the fast subset leaves no half-built node
// behind for schemas that reference it (they would skip its checks).
func TestFastCompileRollsBack(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"components": map[string]any{"schemas": map[string]any{
		"A": map[string]any{"type": "object", "properties": map[string]any{"x": map[string]any{"$ref": "#/components/schemas/C"}},
			"dependentRequired": map[string]any{"k": []any{"z"}}},
		"C": map[string]any{"type": "object", "properties": map[string]any{"back": map[string]any{"$ref": "#/components/schemas/A"}}},
	}}}
	for range 50 { // map order varies: try both orders of compilation
		fc := newFastCompiler(doc, nil)
		if _, err := fc.compile("/components/schemas/A"); err == nil {
			t.Fatal("dependentRequired is outside the fast subset")
		}
		if n, err := fc.compile("/components/schemas/C"); err == nil {
			t.Fatalf("C references A, which is outside the subset; got node %+v", n)
		}
		if len(fc.nodes) != 0 {
			t.Fatalf("%d nodes left after failed compiles", len(fc.nodes))
		}
	}
}

func TestDefaultString(t *testing.T) {
	t.Parallel()
	for in, want := range map[any]string{1000000.0: "1000000", 1.5: "1.5", "x": "x", true: "true"} {
		if got := defaultString(in); got != want {
			t.Errorf("defaultString(%v) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkValidJSON is the check over bytes of a ~1 KB create-order body (what the upstream
// contract check runs on a valid answer): strictjson.Accepts, then the fast checks.
func BenchmarkValidJSON(b *testing.B) {
	body, schema := BenchOrder, &Schema{s: agreement(b)}
	if !ValidJSON(body, schema) {
		b.Fatal("not decided")
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ValidJSON(body, schema)
	}
}

// smallInt reads plain integers of up to 15 digits as strconv does, and nothing else.
func TestSmallInt(t *testing.T) {
	int32Range := intRangeOf(math.MinInt32, math.MaxInt32)
	for _, s := range []string{"0", "-0", "7", "-7", "2147483647", "2147483648", "-2147483648", "-2147483649",
		"999999999999999", "-999999999999999", "1000000000000000", "1.0", "1e2", "-", "", "01", "12a"} {
		i, ok := smallInt(s)
		want := len(strings.TrimPrefix(s, "-")) <= exactDigits && !strings.ContainsAny(s, ".eEa") && strings.TrimPrefix(s, "-") != ""
		if ok != want {
			t.Errorf("smallInt(%q) ok = %v, want %v", s, ok, want)
			continue
		}
		if !ok {
			continue
		}
		if f, _ := strconv.ParseFloat(s, 64); float64(i) != f {
			t.Errorf("smallInt(%q) = %d, ParseFloat %v", s, i, f)
		}
		if in := i >= math.MinInt32 && i <= math.MaxInt32; in != int32Range(s) {
			t.Errorf("smallInt(%q) = %d: int32 %v, intRangeOf says %v", s, i, in, int32Range(s))
		}
	}
}
