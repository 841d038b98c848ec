package resilience

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// stubTransport answers every request at once with a fixed JSON body, without a network:
// what remains of a call's allocations is the policies' own.
type stubTransport struct{ body []byte }

func (s stubTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(s.body)),
		ContentLength: int64(len(s.body)),
		Request:       req,
	}, nil
}

// benchPolicy is the default policy with every hook set and a check that looks at the
// answer without reading it (package upstream's contract check has its own benchmark).
func benchPolicy(b *testing.B) *Policy {
	b.Helper()
	p, err := New("up", defaulted(Config{AttemptTimeout: time.Second}), WithHooks(Hooks{
		Attempt:     func(string, bool) {},
		Done:        func(string, Outcome, time.Duration) {},
		StateChange: func(string, State, State) {},
	}), WithCheck(func(resp *http.Response) error {
		if resp.Body == nil {
			return io.ErrUnexpectedEOF
		}
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkRoundTrip is one successful call through the policies' RoundTripper: a GET and a
// keyed POST with a body, against a stub transport (the policies' own cost) and against an
// httptest server over loopback.
func BenchmarkRoundTrip(b *testing.B) {
	const answer = `{"id":"prd_0001","name":"Mug","price":{"amount":1200,"currency":"USD"}}`
	post := []byte(`{"rating":5,"comment":"Quick delivery, lovely mug."}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	b.Cleanup(srv.Close)
	loop := &http.Transport{}
	b.Cleanup(loop.CloseIdleConnections)
	for _, base := range []struct {
		name string
		rt   http.RoundTripper
		url  string
	}{
		{"stub", stubTransport{body: []byte(answer)}, "http://up.test/products/prd_0001"},
		{"loopback", loop, srv.URL + "/products/prd_0001"},
	} {
		rt := benchPolicy(b).RoundTripper(base.rt)
		b.Run(base.name+"/GET", func(b *testing.B) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, base.url, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				doCall(b, rt, req)
			}
		})
		b.Run(base.name+"/KeyedPOST", func(b *testing.B) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base.url, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(IdempotencyKeyHeader, "k-1")
			body := bytes.NewReader(post)
			getBody := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(post)), nil }
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(post)
				req.Body, req.ContentLength = io.NopCloser(body), int64(len(post))
				req.GetBody = getBody
				doCall(b, rt, req)
			}
		})
	}
}

func doCall(b *testing.B, rt http.RoundTripper, req *http.Request) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n == 0 || strings.TrimSpace(resp.Header.Get("Content-Type")) == "" {
		b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
	}
}
