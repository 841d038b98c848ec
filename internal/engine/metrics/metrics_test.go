package metrics_test

import (
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/metrics"
)

// TestAuditEveryLabelIsBounded calls every recording method of Metrics (found by
// reflection, so that a new one is audited too) with thousands of distinct hostile values
// for each of its string parameters, then checks that every series of every contractgate
// metric has label values of at most MaxLabelLength bytes, at most MaxLabelValues per label,
// and that the method label only takes known methods or OTHER.
func TestAuditEveryLabelIsBounded(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	v := reflect.ValueOf(m)
	const calls = 3 * metrics.MaxLabelValues
	audited := 0
	for i := range v.NumMethod() {
		method := v.Type().Method(i)
		ft := method.Type // receiver first
		args := func(n int) ([]reflect.Value, bool) {
			var in []reflect.Value
			for p := 1; p < ft.NumIn(); p++ {
				switch pt := ft.In(p); {
				case pt == reflect.TypeFor[time.Duration]():
					in = append(in, reflect.ValueOf(time.Duration(n)*time.Millisecond))
				case pt.Kind() == reflect.String:
					long := strings.Repeat(fmt.Sprintf("\x00é%d-", n), 1+n%3*200) // up to 2 KB
					if n%5 == 0 {
						long += "\xff" // invalid UTF-8: client_golang would panic on it
					}
					in = append(in, reflect.ValueOf(long).Convert(pt))
				case pt.Kind() == reflect.Bool:
					in = append(in, reflect.ValueOf(n%2 == 0))
				case pt.Kind() == reflect.Int:
					in = append(in, reflect.ValueOf(100+n%700))
				case pt.Kind() == reflect.Float64:
					in = append(in, reflect.ValueOf(float64(n%3)))
				default:
					return nil, false
				}
			}
			return in, ft.NumIn() > 1
		}
		if _, ok := args(0); !ok {
			continue // Handler, Registry, RequestStarted: nothing a request controls
		}
		audited++
		fn := v.Method(i)
		for n := range calls {
			in, _ := args(n)
			fn.Call(in)
		}
	}
	if audited < 6 {
		t.Fatalf("audited %d recording methods, want every one (at least 6)", audited)
	}

	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), metrics.Namespace+"_") {
			continue
		}
		distinct := map[string]map[string]bool{}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if len(l.GetValue()) > metrics.MaxLabelLength {
					t.Errorf("%s{%s}: a value of %d bytes", f.GetName(), l.GetName(), len(l.GetValue()))
				}
				if distinct[l.GetName()] == nil {
					distinct[l.GetName()] = map[string]bool{}
				}
				distinct[l.GetName()][l.GetValue()] = true
			}
		}
		for name, values := range distinct {
			if len(values) > metrics.MaxLabelValues+1 {
				t.Errorf("%s{%s}: %d distinct values", f.GetName(), name, len(values))
			}
			if name == "method" {
				for val := range values {
					if val != "OTHER" && strings.ToUpper(val) != val {
						t.Errorf("%s{method=%q}", f.GetName(), val)
					}
				}
				if len(values) > 10 {
					t.Errorf("%s: %d methods", f.GetName(), len(values))
				}
			}
		}
	}

	// The exposition stays small whatever was thrown at it.
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if size := rec.Body.Len(); size > 2<<20 {
		t.Fatalf("/metrics is %d bytes", size)
	}
}

// TestRequestMethodLabel: unknown methods share one series.
func TestRequestMethodLabel(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	for i := range 50 {
		m.Request("unmatched", strings.Repeat("X", 32<<10)+fmt.Sprint(i), 405, "METHOD_NOT_ALLOWED", time.Millisecond)
	}
	m.Request("listProducts", "GET", 200, "", time.Millisecond)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "contractgate_requests_total" && len(f.GetMetric()) != 2 {
			t.Fatalf("%d series of requests_total, want 2 (OTHER and GET)", len(f.GetMetric()))
		}
	}
}

// Every recording counts, whether its label values' metric was kept (the first 4096 tuples of
// a metric) or looked up again: the sum over the series is the number of calls, the series
// stay bounded by the label guard.
func TestCountsThroughKeptHandles(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	const calls = 10000
	for n := range calls {
		// 300 upstreams (past the guard's 256) and 20 outcomes: 6,000 tuples, past the 4,096 kept.
		m.UpstreamCall(fmt.Sprintf("up%d", n%300), fmt.Sprintf("outcome%d", n/300%20), time.Millisecond)
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	series := 0
	for _, f := range families {
		if f.GetName() == metrics.Namespace+"_upstream_calls_total" {
			for _, s := range f.GetMetric() {
				sum += s.GetCounter().GetValue()
				series++
			}
		}
	}
	if sum != calls {
		t.Fatalf("upstream calls counted %v times, want %d", sum, calls)
	}
	if want := (metrics.MaxLabelValues + 1) * 20; series > want || series < 20*metrics.MaxLabelValues {
		t.Fatalf("%d series, want %d to %d", series, 20*metrics.MaxLabelValues, want)
	}
}
