package correlation_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// discardWriter is a reusable http.ResponseWriter that drops the body.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkMiddleware measures the correlation middleware alone (Echo's context comes from
// its pool, so the harness allocates nothing). Its allocations: Info, the request copy
// (Request.WithContext) and its context, the two response header values, plus the
// generated ids (UUIDv7 string, random trace and span ids) when the client sent none.
func BenchmarkMiddleware(b *testing.B) {
	e := echo.New()
	h := correlation.New().Middleware()(func(echo.Context) error { return nil })
	for _, bc := range []struct {
		name    string
		headers map[string]string
	}{
		{"Generated", nil},
		{"ClientRequestID", map[string]string{correlation.HeaderRequestID: "req-0193a9a2-7c1e"}},
		{"ClientTraceParent", map[string]string{
			correlation.HeaderRequestID:   "req-0193a9a2-7c1e",
			correlation.HeaderTraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		}},
		{"ClientTraceState", map[string]string{
			correlation.HeaderRequestID:   "req-0193a9a2-7c1e",
			correlation.HeaderTraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			correlation.HeaderTraceState:  "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
		}},
		{"HostileTraceState", map[string]string{ // issue 13 follow-up: 20 KB, invalid, dropped
			correlation.HeaderRequestID:   "req-0193a9a2-7c1e",
			correlation.HeaderTraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			correlation.HeaderTraceState:  "x=" + strings.Repeat("A", 20000) + `,"evil"=<script>`,
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/v1/products/prd_0001", nil)
			for k, v := range bc.headers {
				req.Header.Set(k, v)
			}
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.header)
				c := e.AcquireContext()
				c.Reset(req, w)
				if err := h(c); err != nil {
					b.Fatal(err)
				}
				e.ReleaseContext(c)
			}
		})
	}
}

// BenchmarkPropagate measures setting the correlation headers on an upstream request.
func BenchmarkPropagate(b *testing.B) {
	e := echo.New()
	var req *http.Request
	h := correlation.New().Middleware()(func(c echo.Context) error { req = c.Request(); return nil })
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), &discardWriter{header: http.Header{}})
	if err := h(c); err != nil {
		b.Fatal(err)
	}
	header := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		clear(header)
		correlation.Propagate(req.Context(), header)
	}
}
