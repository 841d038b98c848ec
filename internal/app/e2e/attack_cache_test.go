package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// TestAttackCacheFloodStaysWithinMaxBytes: anonymous GET /v1/products?pageSize=100 with a
// distinct maxPriceCents each time (issue 13 follow-up). Before, the answer cache was bounded
// by entry count only (10,000 x 256 KiB = 2.5 GiB at worst; 16,000 such requests took RSS
// from 42 to 218 MB). Now it holds at most cache.maxBytes: the gauge contractgate_cache_bytes
// never passes it while the flood fills it, and the latest answers are still served from it.
func TestAttackCacheFloodStaysWithinMaxBytes(t *testing.T) {
	t.Parallel()
	const maxBytes = 256 << 10
	env := testenv.Start(t, func(c *config.Config) {
		c.Cache.MaxBytes = maxBytes
		c.Cache.MaxBodyBytes = 64 << 10
	})
	target := func(i int) string { return fmt.Sprintf("/v1/products?pageSize=100&maxPriceCents=%d", 100000000-i) }
	first := send(t, env, nil, http.MethodGet, target(0))
	if first.Status != http.StatusOK || first.Header.Get("Cache-Status") != "contractgate; fwd=miss; stored" {
		t.Fatalf("first: %d %v %s", first.Status, first.Header, first.Body)
	}
	perAnswer := len(first.Body)
	n := 4 * maxBytes / perAnswer // enough distinct answers to fill the budget four times
	if n < 20 {
		n = 20
	}
	held := func() float64 { return value(scrape(t, env), "contractgate_cache_bytes", nil) }
	for i := 1; i <= n; i++ {
		if res := send(t, env, nil, http.MethodGet, target(i)); res.Status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, res.Status, res.Body)
		}
		if i%10 == 0 {
			if b := held(); b > maxBytes {
				t.Fatalf("after %d distinct queries of %d bytes the cache holds %.0f bytes, over cache.maxBytes %d", i, perAnswer, b, maxBytes)
			}
		}
	}
	b := held()
	if b > maxBytes || b < maxBytes/2 {
		t.Fatalf("after %d distinct queries of %d bytes the cache holds %.0f bytes; want it filled up to %d and no more", n, perAnswer, b, maxBytes)
	}
	t.Logf("%d distinct queries of %d bytes (%d bytes in all): the cache holds %.0f bytes", n+1, perAnswer, (n+1)*perAnswer, b)
	if res := send(t, env, nil, http.MethodGet, target(n)); res.Header.Get("Cache-Status") != "contractgate; hit" {
		t.Fatalf("the latest answer was evicted: %v", res.Header)
	}
	if res := send(t, env, nil, http.MethodGet, target(0)); res.Header.Get("Cache-Status") == "contractgate; hit" {
		t.Fatal("the oldest answer is still held: the flood was not bounded by bytes")
	}
}

// TestAttackCacheEquivalentPathsShareOneEntry: escaped spellings of one product
// (/v1/products/prd%5F0001, /v1/products/%70rd_0001) were separate cache entries; now they
// are served from the entry of /v1/products/prd_0001, and equivalent query spellings
// likewise.
func TestAttackCacheEquivalentPathsShareOneEntry(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	for _, group := range [][]string{
		{"/v1/products/prd_0001", "/v1/products/prd%5F0001", "/v1/products/%70rd_0001", "/v1/products/%70%72%64%5f%30%30%30%31"},
		{"/v1/products?pageSize=7&maxPriceCents=5000", "/v1/products?maxPriceCents=5000&pageSize=7", "/v1/products?page%53ize=%37&maxPriceCents=5%30%30%30"},
	} {
		for i, p := range group {
			res := send(t, env, nil, http.MethodGet, p)
			want := "contractgate; hit"
			if i == 0 {
				want = "contractgate; fwd=miss; stored"
			}
			if res.Status != http.StatusOK || res.Header.Get("Cache-Status") != want {
				t.Fatalf("%s: %d, Cache-Status %q, want %q", p, res.Status, res.Header.Get("Cache-Status"), want)
			}
		}
	}
}

// manyRanges is a Range header of n one-byte ranges: bytes=0-0,2-2,4-4,...
func manyRanges(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%d-%d", 2*i, 2*i)
	}
	return "bytes=" + strings.Join(parts, ",")
}

// TestAttackDocsMultiRangeServedWhole: 4,000 one-byte ranges on the Swagger UI bundle
// answered 206 with a multipart body of about 0.6 MB at ~60x the CPU of the plain file, no
// credentials needed. Now any Range of more than one range gets the whole answer (200), on
// the docs page, its assets and the contract endpoints; a single range is still honoured
// on the assets.
func TestAttackDocsMultiRangeServedWhole(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	page := send(t, env, nil, http.MethodGet, "/docs")
	if page.Status != http.StatusOK {
		t.Fatalf("/docs: %d", page.Status)
	}
	i := strings.Index(string(page.Body), "/docs/assets/swagger-ui/swagger-ui-bundle.js?v=")
	if i < 0 {
		t.Fatalf("/docs names no Swagger UI bundle:\n%s", page.Body)
	}
	bundle := string(page.Body[i:])
	bundle = bundle[:strings.IndexByte(bundle, '"')]
	hostile := manyRanges(4000)
	for _, p := range []string{bundle, "/docs", "/openapi.json", "/openapi.yaml"} {
		whole := send(t, env, nil, http.MethodGet, p)
		res := send(t, env, nil, http.MethodGet, p, "Range", hostile)
		if res.Status != http.StatusOK || len(res.Body) != len(whole.Body) || strings.HasPrefix(res.Header.Get("Content-Type"), "multipart/") {
			t.Fatalf("%s with 4000 ranges: %d, %s, %d bytes; want 200 and the whole %d bytes", p, res.Status, res.Header.Get("Content-Type"), len(res.Body), len(whole.Body))
		}
		two := send(t, env, nil, http.MethodGet, p, "Range", "bytes=0-0,5-9")
		if two.Status != http.StatusOK || len(two.Body) != len(whole.Body) {
			t.Fatalf("%s with 2 ranges: %d, %d bytes", p, two.Status, len(two.Body))
		}
	}
	one := send(t, env, nil, http.MethodGet, bundle, "Range", "bytes=0-9", "Accept-Encoding", "identity")
	if one.Status != http.StatusPartialContent || len(one.Body) != 10 {
		t.Fatalf("one range: %d, %d bytes; want 206 and 10 bytes", one.Status, len(one.Body))
	}
}
