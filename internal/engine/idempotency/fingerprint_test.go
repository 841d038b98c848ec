package idempotency

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// seekingBody is shaped like the validator's body: a seekable reader with the decoded value.
type seekingBody struct {
	*bytes.Reader
	value any
}

func (*seekingBody) Close() error          { return nil }
func (b *seekingBody) ValidatedValue() any { return b.value }

// streamBody is a validated body that cannot seek.
type streamBody struct {
	io.Reader
	value any
}

func (*streamBody) Close() error          { return nil }
func (b *streamBody) ValidatedValue() any { return b.value }

func TestFingerprint(t *testing.T) {
	t.Parallel()
	fp := func(method, target, body string) string {
		t.Helper()
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		got, err := fingerprint(req, "/v1/orders/:orderId/cancel")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	base := fp(http.MethodPost, "/v1/orders/o-1/cancel?a=1&b=2&a=0", `{"x":1}`)
	if len(base) != 64 {
		t.Fatalf("fingerprint %q is not hex SHA-256", base)
	}
	same := []struct{ desc, method, target, body string }{
		{"identical", http.MethodPost, "/v1/orders/o-1/cancel?a=1&b=2&a=0", `{"x":1}`},
		{"parameters reordered", http.MethodPost, "/v1/orders/o-1/cancel?b=2&a=1&a=0", `{"x":1}`},
		{"same escaping, other spelling", http.MethodPost, "/v1/orders/o-1/cancel?a=1&b=%32&a=0", `{"x":1}`},
	}
	for _, tt := range same {
		if got := fp(tt.method, tt.target, tt.body); got != base {
			t.Errorf("%s: differs", tt.desc)
		}
	}
	differ := []struct{ desc, method, target, body string }{
		{"method", http.MethodPut, "/v1/orders/o-1/cancel?a=1&b=2&a=0", `{"x":1}`},
		{"path", http.MethodPost, "/v1/orders/o-2/cancel?a=1&b=2&a=0", `{"x":1}`},
		{"values reordered", http.MethodPost, "/v1/orders/o-1/cancel?a=0&b=2&a=1", `{"x":1}`},
		{"no query", http.MethodPost, "/v1/orders/o-1/cancel", `{"x":1}`},
		{"body", http.MethodPost, "/v1/orders/o-1/cancel?a=1&b=2&a=0", `{"x":2}`},
		{"body whitespace", http.MethodPost, "/v1/orders/o-1/cancel?a=1&b=2&a=0", `{"x": 1}`},
		{"no body", http.MethodPost, "/v1/orders/o-1/cancel?a=1&b=2&a=0", ``},
	}
	for _, tt := range differ {
		if got := fp(tt.method, tt.target, tt.body); got == base {
			t.Errorf("%s: same fingerprint", tt.desc)
		}
	}
}

func TestFingerprintLeavesTheBodyForTheHandler(t *testing.T) {
	t.Parallel()
	const raw = `{"items":[1,2,3]}`
	value := map[string]any{"items": []any{1.0, 2.0, 3.0}}
	tests := []struct {
		desc      string
		body      io.ReadCloser
		validated bool
		same      bool // the very same body object reaches the handler
	}{
		{"validated, seekable (the validator's)", &seekingBody{Reader: bytes.NewReader([]byte(raw)), value: value}, true, true},
		{"validated, not seekable", &streamBody{Reader: strings.NewReader(raw), value: value}, true, false},
		{"plain stream", io.NopCloser(strings.NewReader(raw)), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
			req.Body = tt.body
			if _, err := fingerprint(req, "/v1/orders"); err != nil {
				t.Fatal(err)
			}
			if tt.same && req.Body != tt.body {
				t.Fatalf("the body object was replaced by %T", req.Body)
			}
			vb, ok := req.Body.(validatedValuer)
			if ok != tt.validated {
				t.Fatalf("ValidatedValue present %v, want %v (%T)", ok, tt.validated, req.Body)
			}
			if ok && vb.ValidatedValue().(map[string]any)["items"] == nil {
				t.Fatalf("ValidatedValue() = %v", vb.ValidatedValue())
			}
			got, err := io.ReadAll(req.Body)
			if err != nil || string(got) != raw {
				t.Fatalf("handler reads %q, %v; want %q", got, err, raw)
			}
		})
	}
}

func TestRecordKey(t *testing.T) {
	t.Parallel()
	keys := map[string]string{}
	for _, k := range []struct {
		desc, subject string
		authed        bool
		op, key       string
	}{
		{"alice", "alice", true, "createOrder", "k"},
		{"bob", "bob", true, "createOrder", "k"},
		{"anonymous caller", "", false, "createOrder", "k"},
		{"a subject named anonymous", "anonymous", true, "createOrder", "k"},
		{"another operation", "alice", true, "cancelOrder", "k"},
		{"another key", "alice", true, "createOrder", "k2"},
		{"boundary shifted", "alic", true, "createOrder", "ek"},
	} {
		rk := recordKey(k.subject, k.authed, k.op, k.key)
		if prev, dup := keys[rk]; dup {
			t.Errorf("%s and %s share the record key %s", prev, k.desc, rk)
		}
		keys[rk] = k.desc
		if !strings.HasPrefix(rk, k.op+":") {
			t.Errorf("%s: record key %q does not start with the operation", k.desc, rk)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"", "a=1", "a=1&b=2", "b=2&a=1", "a=1&a=0&b=2", "a=0&a=1", "a", "a=", "a=&b=", "a=b=c",
		"a=%32", "a=hello+world", "a=hello%20world", "a=!", "a=%21", "A=1&a=2", "a=1&&b=2",
		"x.y=1&x_y=2&x-y=3&x~y=4", "k=%e2%82%ac", "a=1;b=2", "=1", "a=1&=2",
	} {
		got := canonicalQuery(raw)
		q, err := url.ParseQuery(raw)
		if err != nil {
			if got != raw {
				t.Errorf("%q does not parse but became %q", raw, got)
			}
			continue
		}
		if want := q.Encode(); got != want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", raw, got, want)
		}
	}
}
