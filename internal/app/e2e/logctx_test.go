package e2e_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// TestErrorLogCarriesRequestID: the line apierror.Handler logs at error level for an upstream
// failure, and the access-log line of the same request, carry the request's X-Request-Id and
// X-Trace-Id (added by the logger's context handler, not by the call site), each key once.
func TestErrorLogCarriesRequestID(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	mustSet(t, env.Catalog.Faults, demo.Fault{ErrorRate: 1})
	res := env.Do(t, http.MethodGet, "/v1/products", "")
	if res.Status < 500 {
		t.Fatalf("status %d, want a 5xx", res.Status)
	}
	rid, tid := res.Header.Get(correlation.HeaderRequestID), res.Header.Get(correlation.HeaderTraceID)
	if rid == "" || tid == "" {
		t.Fatalf("X-Request-Id %q, X-Trace-Id %q", rid, tid)
	}
	found := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(env.Logs()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		msg := line["msg"].(string)
		if msg != "request failed" && msg != "request" {
			continue
		}
		found[msg] = true
		if line["requestId"] != rid || line["traceId"] != tid || line["spanId"] == nil {
			t.Errorf("%q line: requestId %v, traceId %v, spanId %v; want %q, %q", msg,
				line["requestId"], line["traceId"], line["spanId"], rid, tid)
		}
		for _, k := range []string{`"requestId"`, `"traceId"`, `"spanId"`} {
			if n := strings.Count(sc.Text(), k); n != 1 {
				t.Errorf("%q line has %s %d times: %s", msg, k, n, sc.Text())
			}
		}
		if msg == "request failed" && line["level"] != "ERROR" {
			t.Errorf("request failed logged at %v", line["level"])
		}
	}
	if !found["request failed"] || !found["request"] {
		t.Fatalf("error line logged %v, access line logged %v:\n%s", found["request failed"], found["request"], env.Logs())
	}
}
