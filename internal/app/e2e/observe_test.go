package e2e_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/auth"
)

// scrape parses /metrics with the Prometheus text parser.
func scrape(t *testing.T, env *testenv.Env) map[string]*dto.MetricFamily {
	t.Helper()
	res := env.Do(t, http.MethodGet, "/metrics", "")
	if res.Status != http.StatusOK {
		t.Fatalf("/metrics: %d", res.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(res.Body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return families
}

// value returns the value of the sample of family name whose labels include want (0 if none).
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func TestMetricsAndAccessLog(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	mustSet(t, env.Users.Faults, demo.Fault{ErrorRate: 1})
	token, err := auth.IssueDevToken(env.Config.Auth, "alice", []string{"orders:read"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	script := []struct {
		method, path, body string
		status             int
	}{
		{http.MethodGet, "/v1/products", "", 200},
		{http.MethodGet, "/v1/products", "", 200},
		{http.MethodGet, "/v1/products?pageSize=1000", "", 422},
		{http.MethodGet, "/v1/products/prd_9999", "", 404},
		{http.MethodGet, "/v1/nothing", "", 404},
		{http.MethodGet, "/v1/me/dashboard", "", 502},
	}
	for _, s := range script {
		if res := env.Do(t, s.method, s.path, s.body, "Authorization", "Bearer "+token); res.Status != s.status {
			t.Fatalf("%s %s: %d, want %d", s.method, s.path, res.Status, s.status)
		}
	}

	f := scrape(t, env)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"contractgate_requests_total", map[string]string{"operation": "listProducts", "method": "GET", "status": "2xx"}, 2},
		{"contractgate_requests_total", map[string]string{"operation": "listProducts", "method": "GET", "status": "4xx"}, 1},
		{"contractgate_requests_total", map[string]string{"operation": "getProduct", "status": "4xx"}, 1},
		{"contractgate_requests_total", map[string]string{"operation": "unmatched", "status": "4xx"}, 1},
		{"contractgate_requests_total", map[string]string{"operation": "getDashboard", "status": "5xx"}, 1},
		{"contractgate_request_duration_seconds", map[string]string{"operation": "listProducts", "status": "2xx"}, 2},
		{"contractgate_errors_total", map[string]string{"operation": "listProducts", "code": "VALIDATION_FAILED"}, 1},
		{"contractgate_errors_total", map[string]string{"operation": "getProduct", "code": "RESOURCE_NOT_FOUND"}, 1},
		{"contractgate_errors_total", map[string]string{"operation": "unmatched", "code": "ROUTE_NOT_FOUND"}, 1},
		{"contractgate_errors_total", map[string]string{"operation": "getDashboard", "code": "UPSTREAM_ERROR"}, 1},
	}
	for _, c := range checks {
		if got := value(f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "contractgate_requests_in_flight"} {
		if _, ok := f[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}

	// The access log: one line per request (the /metrics scrape included), with the fields an
	// operator needs, and never the credentials.
	logs := env.Logs()
	if strings.Contains(logs, token) || strings.Contains(logs, token[strings.LastIndexByte(token, '.')+1:]) {
		t.Fatal("the access log contains the bearer token")
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["msg"] == "request" {
			lines = append(lines, line)
		}
	}
	if len(lines) != len(script)+1 {
		t.Fatalf("%d access-log lines for %d requests", len(lines), len(script)+1)
	}
	for i, s := range script {
		l := lines[i]
		for _, k := range []string{"time", "level", "requestId", "traceId", "spanId", "operation", "method", "route", "status", "durationMs", "bytesOut", "upstreamAttempts"} {
			if _, ok := l[k]; !ok {
				t.Errorf("line %d lacks %s: %v", i, k, l)
			}
		}
		if int(l["status"].(float64)) != s.status {
			t.Errorf("line %d status %v, want %d", i, l["status"], s.status)
		}
		if s.status >= 400 && l["errorCode"] == nil {
			t.Errorf("line %d lacks errorCode: %v", i, l)
		}
	}
	if lines[3]["route"] != "/v1/products/:productId" {
		t.Errorf("route %v: want the template, not the raw path", lines[3]["route"])
	}
	if lines[5]["subject"] != "alice" || lines[5]["authMethod"] != "bearer" {
		t.Errorf("subject %v, authMethod %v", lines[5]["subject"], lines[5]["authMethod"])
	}
}
