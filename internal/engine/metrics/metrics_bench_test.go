package metrics_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/metrics"
)

// BenchmarkRequestInventedMethod records requests with distinct invented 32 KB methods (the
// attack of issue 13 item 2): each must cost a bounded amount, and add no series (series
// reports how many requests_total holds at the end).
func BenchmarkRequestInventedMethod(b *testing.B) {
	m := metrics.New()
	prefix := strings.Repeat("X", 32<<10)
	methods := make([]string, 1000)
	for i := range methods {
		methods[i] = prefix + strconv.Itoa(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Request("unmatched", methods[i%len(methods)], 405, "METHOD_NOT_ALLOWED", time.Millisecond)
	}
	families, err := m.Registry().Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "contractgate_requests_total" {
			b.ReportMetric(float64(len(f.GetMetric())), "series")
		}
	}
}

// BenchmarkRequestKnown is the ordinary case, to show what the label guard costs.
func BenchmarkRequestKnown(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	for b.Loop() {
		m.Request("listProducts", "GET", 200, "", time.Millisecond)
	}
}
