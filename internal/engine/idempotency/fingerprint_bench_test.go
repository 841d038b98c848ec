package idempotency

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkFingerprint measures the per-request cost of fingerprinting a 1 KiB body: as
// the validator leaves it (seekable, hashed in place) and as a plain stream (buffered).
func BenchmarkFingerprint(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	req := httptest.NewRequest(http.MethodPost, "/v1/orders?currency=USD&page=1", nil)
	b.Run("validated", func(b *testing.B) {
		sb := &seekingBody{Reader: bytes.NewReader(body)}
		req.Body = sb
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fingerprint(req, "/v1/orders"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
			if _, err := fingerprint(req, "/v1/orders"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
