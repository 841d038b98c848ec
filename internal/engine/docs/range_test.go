package docs_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/docs"
)

// manyRanges is a Range header of n one-byte ranges: bytes=0-0,2-2,4-4,...
func manyRanges(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%d-%d", 2*i, 2*i)
	}
	return "bytes=" + strings.Join(parts, ",")
}

// TestMultiRangeIsServedWhole: a Range header with more than one range gets the whole file
// (200), never a multipart answer; a single range is still honoured (206).
func TestMultiRangeIsServedWhole(t *testing.T) {
	t.Parallel()
	h := mustNew(t, docs.Config{})
	const asset = "/docs/assets/swagger-ui/swagger-ui-bundle.js"
	whole := get(h, asset)
	for _, tc := range []struct {
		name, target, rng string
		status            int
		size              int // -1: the whole answer's size
	}{
		{"asset, 6000 ranges", asset, manyRanges(6000), http.StatusOK, -1},
		{"asset, 2 ranges", asset, "bytes=0-0,5-9", http.StatusOK, -1},
		{"asset, one range", asset, "bytes=0-9", http.StatusPartialContent, 10},
		{"page, 100 ranges", "/docs", manyRanges(100), http.StatusOK, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(h, tc.target, "Range", tc.rng)
			want := tc.size
			if want < 0 {
				want = get(h, tc.target).Body.Len()
			}
			if rec.Code != tc.status || rec.Body.Len() != want || strings.HasPrefix(rec.Header().Get("Content-Type"), "multipart/") {
				t.Fatalf("%d, %d bytes, %s; want %d, %d bytes", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"), tc.status, want)
			}
		})
	}
	if whole.Code != http.StatusOK {
		t.Fatalf("whole: %d", whole.Code)
	}
}

// BenchmarkMultiRange: one hostile request of 6000 ranges on the Swagger UI bundle.
func BenchmarkMultiRange(b *testing.B) {
	h := mustNew(b, docs.Config{})
	rng := manyRanges(6000)
	b.ReportAllocs()
	for b.Loop() {
		if rec := get(h, "/docs/assets/swagger-ui/swagger-ui-bundle.js", "Range", rng); rec.Code >= 300 {
			b.Fatal(rec.Code)
		}
	}
}
