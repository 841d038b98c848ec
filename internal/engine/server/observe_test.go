package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape parses the gateway's /metrics with the Prometheus text parser.
func scrape(t *testing.T, f *fixture) map[string]*dto.MetricFamily {
	t.Helper()
	res := f.do(t, http.MethodGet, "/metrics", "")
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

// sample returns the value of the sample of family name whose labels include want (a
// histogram's count; 0 if there is none).
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
next:
	for _, m := range families[name].GetMetric() {
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

// TestFixtureMetricsAndAccessLog: bound operations are counted and logged by operation, with
// their error codes; an unmatched path is one label, not the raw path; every request has one
// access-log line with the fields an operator needs, never the credentials.
func TestFixtureMetricsAndAccessLog(t *testing.T) {
	t.Parallel()
	f := startFixture(t)
	f.Ledger.Answer(http.StatusInternalServerError, `{"code":"down","message":"down"}`)

	script := []struct {
		method, path string
		headers      []string
		status       int
	}{
		{http.MethodGet, "/v1/accounts", nil, 200},
		{http.MethodGet, "/v1/accounts", nil, 200},
		{http.MethodGet, "/v1/accounts?pageSize=1000", nil, 422},
		{http.MethodGet, "/v1/accounts/acc_missing", []string{"X-Tenant", "t1"}, 404},
		{http.MethodGet, "/v1/nothing/here", nil, 404},
		{http.MethodGet, "/v1/me/balance", []string{"X-API-Key", adaKey}, 502},
	}
	for _, s := range script {
		if res := f.do(t, s.method, s.path, "", s.headers...); res.Status != s.status {
			t.Fatalf("%s %s: %d, want %d: %s", s.method, s.path, res.Status, s.status, res.Body)
		}
	}

	m := scrape(t, f)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"contractgate_requests_total", map[string]string{"operation": "listAccounts", "method": "GET", "status": "2xx"}, 2},
		{"contractgate_requests_total", map[string]string{"operation": "listAccounts", "status": "4xx"}, 1},
		{"contractgate_requests_total", map[string]string{"operation": "getAccount", "status": "4xx"}, 1},
		{"contractgate_requests_total", map[string]string{"operation": "unmatched", "status": "4xx"}, 1},
		{"contractgate_requests_total", map[string]string{"operation": "getMyBalance", "status": "5xx"}, 1},
		{"contractgate_request_duration_seconds", map[string]string{"operation": "listAccounts", "status": "2xx"}, 2},
		{"contractgate_errors_total", map[string]string{"operation": "listAccounts", "code": "VALIDATION_FAILED"}, 1},
		{"contractgate_errors_total", map[string]string{"operation": "getAccount", "code": "RESOURCE_NOT_FOUND"}, 1},
		{"contractgate_errors_total", map[string]string{"operation": "unmatched", "code": "ROUTE_NOT_FOUND"}, 1},
		{"contractgate_errors_total", map[string]string{"operation": "getMyBalance", "code": "UPSTREAM_ERROR"}, 1},
		// Per upstream of the registry, named by its contract's file.
		{"contractgate_upstream_calls_total", map[string]string{"upstream": "accounts", "outcome": "success"}, 3},
		{"contractgate_upstream_calls_total", map[string]string{"upstream": "ledger", "outcome": "error"}, 1},
		{"contractgate_upstream_duration_seconds", map[string]string{"upstream": "accounts"}, 3},
	} {
		if got := sample(m, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "contractgate_requests_in_flight"} {
		if _, ok := m[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	if n := len(m["contractgate_circuit_breaker_state"].GetMetric()); n != 2 {
		t.Errorf("%d circuit breaker gauges, want one per upstream contract (2)", n)
	}

	logs := f.Logs()
	if strings.Contains(logs, adaKey) {
		t.Fatal("the access log contains the API key")
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
	if len(lines) != len(script)+1 { // and the scrape
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
	if lines[3]["route"] != "/v1/accounts/:accountId" {
		t.Errorf("route %v: want the template, not the raw path", lines[3]["route"])
	}
	if lines[5]["subject"] != "ada" || lines[5]["operation"] != "getMyBalance" {
		t.Errorf("subject %v, operation %v", lines[5]["subject"], lines[5]["operation"])
	}
}
