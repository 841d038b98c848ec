package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/demo/catalog"
)

// newServer serves a fresh catalog over HTTP, as the demo-catalog command does, and returns
// a generated client for it and the URL of its fault-injection admin API.
func newServer(t *testing.T) (*catalogapi.ClientWithResponses, string) {
	t.Helper()
	faults := demo.NewFaults()
	srv := httptest.NewServer(demo.NewEcho(faults, catalog.New().Register))
	admin := httptest.NewServer(faults.AdminHandler())
	t.Cleanup(func() { srv.Close(); admin.Close() })
	c, err := catalogapi.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c, admin.URL
}

func ptr[T any](v T) *T { return &v }

func ids(ps []catalogapi.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Id
	}
	return out
}

func TestSeed(t *testing.T) {
	t.Parallel()
	products := catalog.New().Products()
	if len(products) != 36 {
		t.Fatalf("%d products, want 36", len(products))
	}
	idRe := regexp.MustCompile(`^prd_[0-9a-z]{4,32}$`)
	outOfStock := 0
	for i, p := range products {
		if want := fmt.Sprintf("prd_%04d", i+1); p.Id != want || !idRe.MatchString(p.Id) {
			t.Errorf("product %d has id %q, want %q", i, p.Id, want)
		}
		if !slices.Contains(catalog.Categories(), p.Category) || p.Currency != "USD" || p.PriceCents <= 0 ||
			p.Name == "" || p.Description == "" || p.Tags == nil || len(*p.Tags) == 0 || p.Stock < 0 {
			t.Errorf("implausible product %+v", p)
		}
		if p.Stock == 0 {
			outOfStock++
		}
	}
	if outOfStock == 0 {
		t.Error("no product is out of stock")
	}
	mug := products[0]
	if mug.Name != "Enamel camping mug" || mug.Category != "outdoor" || mug.PriceCents != 1499 || !slices.Equal(*mug.Tags, []string{"camping", "mug"}) {
		t.Errorf("prd_0001 = %+v", mug)
	}
}

func TestListProducts(t *testing.T) {
	t.Parallel()
	c, _ := newServer(t)
	tests := []struct {
		name      string
		params    catalogapi.ListProductsParams
		wantIDs   []string // nil: only check the count
		wantCount int
		wantTotal int64
		wantCode  int
	}{
		{name: "default page", wantCount: 20, wantTotal: 36},
		{name: "second page", params: catalogapi.ListProductsParams{Offset: ptr[int32](20)}, wantCount: 16, wantTotal: 36},
		{name: "offset past the end", params: catalogapi.ListProductsParams{Offset: ptr[int32](40)}, wantIDs: []string{}, wantTotal: 36},
		{name: "offset and limit", params: catalogapi.ListProductsParams{Offset: ptr[int32](5), Limit: ptr[int32](3)},
			wantIDs: []string{"prd_0006", "prd_0007", "prd_0008"}, wantTotal: 36},
		{name: "category", params: catalogapi.ListProductsParams{Category: ptr("outdoor")},
			wantIDs: []string{"prd_0001", "prd_0007", "prd_0013", "prd_0018", "prd_0023", "prd_0028", "prd_0033"}, wantTotal: 7},
		{name: "category is exact", params: catalogapi.ListProductsParams{Category: ptr("Outdoor")}, wantIDs: []string{}, wantTotal: 0},
		{name: "category paged", params: catalogapi.ListProductsParams{Category: ptr("outdoor"), Offset: ptr[int32](5)},
			wantIDs: []string{"prd_0028", "prd_0033"}, wantTotal: 7},
		{name: "q in name or description, any case", params: catalogapi.ListProductsParams{Q: ptr("ENAMEL")},
			wantIDs: []string{"prd_0001", "prd_0036"}, wantTotal: 2},
		{name: "q in description only", params: catalogapi.ListProductsParams{Q: ptr("campfire")}, wantIDs: []string{"prd_0001"}, wantTotal: 1},
		{name: "max price", params: catalogapi.ListProductsParams{MaxPriceCents: ptr[int64](1499)},
			wantIDs: []string{"prd_0001", "prd_0003", "prd_0031"}, wantTotal: 3},
		{name: "category and max price", params: catalogapi.ListProductsParams{Category: ptr("kitchen"), MaxPriceCents: ptr[int64](2500)},
			wantIDs: []string{"prd_0011", "prd_0031"}, wantTotal: 2},
		{name: "ids keep their order, unknown left out", params: catalogapi.ListProductsParams{Ids: &[]string{"prd_0005", "prd_9999", "prd_0002"}},
			wantIDs: []string{"prd_0005", "prd_0002"}, wantTotal: 2},
		{name: "ids with other filters", params: catalogapi.ListProductsParams{Ids: &[]string{"prd_0036", "prd_0001", "prd_0002"}, Q: ptr("enamel")},
			wantIDs: []string{"prd_0036", "prd_0001"}, wantTotal: 2},
		{name: "limit 0", params: catalogapi.ListProductsParams{Limit: ptr[int32](0)}, wantCode: 400},
		{name: "limit 101", params: catalogapi.ListProductsParams{Limit: ptr[int32](101)}, wantCode: 400},
		{name: "negative offset", params: catalogapi.ListProductsParams{Offset: ptr[int32](-1)}, wantCode: 400},
		{name: "negative max price", params: catalogapi.ListProductsParams{MaxPriceCents: ptr[int64](-1)}, wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := c.ListProductsWithResponse(t.Context(), &tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != 0 {
				if resp.StatusCode() != tt.wantCode || resp.JSON400 == nil || resp.JSON400.Code != "BAD_REQUEST" {
					t.Fatalf("got %d %s, want %d BAD_REQUEST", resp.StatusCode(), resp.Body, tt.wantCode)
				}
				return
			}
			if resp.JSON200 == nil {
				t.Fatalf("got %d %s, want 200", resp.StatusCode(), resp.Body)
			}
			page := resp.JSON200
			if page.Total != tt.wantTotal {
				t.Errorf("total = %d, want %d", page.Total, tt.wantTotal)
			}
			if tt.wantIDs != nil && !slices.Equal(ids(page.Items), tt.wantIDs) {
				t.Errorf("ids = %v, want %v", ids(page.Items), tt.wantIDs)
			}
			if tt.wantIDs == nil && len(page.Items) != tt.wantCount {
				t.Errorf("%d items, want %d", len(page.Items), tt.wantCount)
			}
			if tt.params.Ids == nil && !slices.IsSorted(ids(page.Items)) {
				t.Errorf("items not sorted by id: %v", ids(page.Items))
			}
			if !strings.Contains(string(resp.Body), `"items":[`) {
				t.Errorf("items must be an array, got %s", resp.Body)
			}
		})
	}
}

func TestGetProduct(t *testing.T) {
	t.Parallel()
	c, _ := newServer(t)
	resp, err := c.GetProductWithResponse(t.Context(), "prd_0001")
	if err != nil {
		t.Fatal(err)
	}
	if p := resp.JSON200; p == nil || p.Id != "prd_0001" || p.Name != "Enamel camping mug" || p.PriceCents != 1499 {
		t.Fatalf("got %d %s", resp.StatusCode(), resp.Body)
	}
	for _, id := range []string{"prd_0037", "nope"} {
		resp, err := c.GetProductWithResponse(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON404 == nil || *resp.JSON404 != (catalogapi.Error{Code: "NOT_FOUND", Message: "product not found"}) {
			t.Errorf("%s: got %d %s, want 404 NOT_FOUND", id, resp.StatusCode(), resp.Body)
		}
	}
}

func TestGetRecommendations(t *testing.T) {
	t.Parallel()
	c, _ := newServer(t)
	get := func(user string, limit *int32) []string {
		t.Helper()
		resp, err := c.GetRecommendationsWithResponse(t.Context(), &catalogapi.GetRecommendationsParams{UserId: user, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON200 == nil {
			t.Fatalf("got %d %s", resp.StatusCode(), resp.Body)
		}
		for _, p := range resp.JSON200.Items {
			if p.Stock == 0 {
				t.Errorf("recommended %s, which is out of stock", p.Id)
			}
		}
		return ids(resp.JSON200.Items)
	}
	alice := get("alice", nil)
	if len(alice) != 5 {
		t.Fatalf("default limit gave %d items, want 5", len(alice))
	}
	if again := get("alice", nil); !slices.Equal(alice, again) {
		t.Errorf("not deterministic: %v then %v", alice, again)
	}
	if bob := get("bob", nil); slices.Equal(alice, bob) {
		t.Errorf("alice and bob get the same recommendations %v", bob)
	}
	if three := get("alice", ptr[int32](3)); !slices.Equal(three, alice[:3]) {
		t.Errorf("limit 3 = %v, want the first three of %v", three, alice)
	}
	all := get("carol", ptr[int32](20))
	if slices.Sort(all); len(slices.Compact(all)) != 20 {
		t.Errorf("limit 20 gave %d distinct items, want 20", len(all))
	}
}

// putFault sets one fault rule through the admin API.
func putFault(t *testing.T, adminURL, body string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, adminURL+"/faults", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /faults %s: %d", body, resp.StatusCode)
	}
}

// stats reads the request counters through the admin API.
func stats(t *testing.T, adminURL string) demo.Stats {
	t.Helper()
	resp, err := http.Get(adminURL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s demo.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFaultKnobs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault string
		// check gets the result of one ListProducts call and how long it took.
		check func(t *testing.T, resp *catalogapi.ListProductsResponse, err error, took time.Duration)
		// timeout bounds the call.
		timeout time.Duration
	}{
		{"latency", `{"latency":"200ms"}`, func(t *testing.T, resp *catalogapi.ListProductsResponse, err error, took time.Duration) {
			if err != nil || resp.JSON200 == nil || took < 200*time.Millisecond {
				t.Errorf("got %v %v after %v, want 200 after at least 200ms", resp, err, took)
			}
		}, 2 * time.Second},
		{"error rate 1", `{"errorRate":1,"route":"/products"}`, func(t *testing.T, resp *catalogapi.ListProductsResponse, err error, _ time.Duration) {
			if err != nil || resp.JSON500 == nil || *resp.JSON500 != (catalogapi.Error{Code: "INTERNAL", Message: "injected fault"}) {
				t.Errorf("got %v %v, want 500 INTERNAL injected fault", resp, err)
			}
		}, 2 * time.Second},
		{"fault on another route", `{"errorRate":1,"route":"/recommendations"}`, func(t *testing.T, resp *catalogapi.ListProductsResponse, err error, _ time.Duration) {
			if err != nil || resp.JSON200 == nil {
				t.Errorf("got %v %v, want 200", resp, err)
			}
		}, 2 * time.Second},
		{"reset", `{"reset":true}`, func(t *testing.T, resp *catalogapi.ListProductsResponse, err error, _ time.Duration) {
			if err == nil {
				t.Errorf("got %d %s, want a connection error", resp.StatusCode(), resp.Body)
			}
		}, 2 * time.Second},
		{"hang", `{"hang":true}`, func(t *testing.T, resp *catalogapi.ListProductsResponse, err error, _ time.Duration) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v %v, want the client to time out", resp, err)
			}
		}, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, admin := newServer(t)
			putFault(t, admin, tt.fault)
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			start := time.Now()
			resp, err := c.ListProductsWithResponse(ctx, &catalogapi.ListProductsParams{})
			tt.check(t, resp, err, time.Since(start))
			if got := stats(t, admin).Routes["GET /products"]; got != 1 {
				t.Errorf("upstream saw %d calls of GET /products, want 1", got)
			}
		})
	}
}

func TestStatsCountCallsPerRoute(t *testing.T) {
	t.Parallel()
	c, admin := newServer(t)
	for range 3 {
		if _, err := c.ListProductsWithResponse(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"prd_0001", "nope"} {
		if _, err := c.GetProductWithResponse(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	got := stats(t, admin)
	want := map[string]int64{"GET /products": 3, "GET /products/:productId": 2}
	if got.Total != 5 || len(got.Routes) != len(want) || got.Routes["GET /products"] != 3 || got.Routes["GET /products/:productId"] != 2 {
		t.Errorf("stats = %+v, want total 5 and %v", got, want)
	}
}
