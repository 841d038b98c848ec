package docs_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/docs"
)

func newEcho(t *testing.T, cfg docs.Config) *echo.Echo {
	t.Helper()
	d, err := docs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	d.Register(e)
	return e
}

func get(h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var refAttr = regexp.MustCompile(`\b(src|href|data-spec-url)="([^"]*)"`)

// TestPageReferencesOnlyEmbeddedAssets: /docs is HTML under a strict policy, every URL it
// names is on the gateway's own origin, and every asset it loads is served with its type.
func TestPageReferencesOnlyEmbeddedAssets(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"echo", newEcho(t, docs.Config{})},
		{"http.Handler", mustNew(t, docs.Config{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(tc.h, "/docs")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /docs: %d\n%s", rec.Code, rec.Body)
			}
			wantHeaders(t, "/docs", rec.Header(), map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"Content-Security-Policy": docs.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-cache",
			})
			refs := refAttr.FindAllStringSubmatch(rec.Body.String(), -1)
			if len(refs) == 0 {
				t.Fatalf("the page references nothing:\n%s", rec.Body)
			}
			var scripts, styles int
			for _, ref := range refs {
				u := ref[2]
				if u == "/openapi.json" && (ref[1] == "href" || ref[1] == "data-spec-url") {
					continue
				}
				if !strings.HasPrefix(u, "/docs/assets/") || !strings.Contains(u, "?v=") {
					t.Errorf("%s=%q: want a versioned /docs/assets/ URL", ref[1], u)
					continue
				}
				res := get(tc.h, u)
				if res.Code != http.StatusOK || res.Body.Len() == 0 {
					t.Errorf("GET %s: %d, %d bytes", u, res.Code, res.Body.Len())
					continue
				}
				want := map[string]string{
					"X-Content-Type-Options": "nosniff",
					"Cache-Control":          "public, max-age=31536000, immutable",
				}
				switch {
				case strings.Contains(u, ".js?"):
					want["Content-Type"] = "text/javascript; charset=utf-8"
					scripts++
				case strings.Contains(u, ".css?"):
					want["Content-Type"] = "text/css; charset=utf-8"
					styles++
				case strings.Contains(u, ".png?"):
					want["Content-Type"] = "image/png"
				default:
					t.Errorf("%s: unexpected kind of asset", u)
				}
				wantHeaders(t, u, res.Header(), want)
			}
			if scripts != 2 || styles != 2 {
				t.Errorf("the page loads %d scripts and %d stylesheets, want 2 and 2 (Swagger UI's and ours)", scripts, styles)
			}
		})
	}
}

// TestPolicyNamesNoOtherOrigin: the page's policy allows its own origin and data: images,
// nothing inline, nothing remote.
func TestPolicyNamesNoOtherOrigin(t *testing.T) {
	csp := docs.ContentSecurityPolicy
	for _, bad := range []string{"http:", "https:", "*", "'unsafe-inline'", "'unsafe-eval'", "blob:"} {
		if strings.Contains(csp, bad) {
			t.Errorf("Content-Security-Policy contains %s: %s", bad, csp)
		}
	}
	for _, need := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, need) {
			t.Errorf("Content-Security-Policy lacks %s: %s", need, csp)
		}
	}
}

func TestSpecURL(t *testing.T) {
	rec := get(newEcho(t, docs.Config{SpecURL: "/contract/openapi.json"}), "/docs")
	if !strings.Contains(rec.Body.String(), `data-spec-url="/contract/openapi.json"`) {
		t.Errorf("the page does not name the configured SpecURL:\n%s", rec.Body)
	}
	for _, bad := range []string{"https://example.com/openapi.json", "//example.com/openapi.json", "openapi.json", "javascript:alert(1)"} {
		if _, err := docs.New(docs.Config{SpecURL: bad}); err == nil {
			t.Errorf("New accepted SpecURL %q", bad)
		}
	}
}

func TestAssetCaching(t *testing.T) {
	e := newEcho(t, docs.Config{})
	const js = "/docs/assets/docs.js"

	// Unversioned: served, but revalidated every time.
	res := get(e, js)
	if res.Code != http.StatusOK || res.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET %s: %d, Cache-Control %q", js, res.Code, res.Header().Get("Cache-Control"))
	}
	etag := res.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if res := get(e, js, "If-None-Match", etag); res.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %s: %d, want 304", etag, res.Code)
	}
	// A stale version in the URL is not cached for good.
	if res := get(e, js+"?v=0000000000000000"); res.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("stale ?v=: Cache-Control %q, want no-cache", res.Header().Get("Cache-Control"))
	}
	// The page's ETag revalidates too.
	page := get(e, "/docs")
	if res := get(e, "/docs", "If-None-Match", page.Header().Get("ETag")); res.Code != http.StatusNotModified {
		t.Errorf("/docs If-None-Match: %d, want 304", res.Code)
	}
}

func TestAssetGzip(t *testing.T) {
	e := newEcho(t, docs.Config{})
	const css = "/docs/assets/swagger-ui/swagger-ui.css" // not the bundle: compressing 1.7 MB under -race takes a second
	plain := get(e, css)
	if plain.Header().Get("Content-Encoding") != "" || !strings.Contains(plain.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("without Accept-Encoding: Content-Encoding %q, Vary %q", plain.Header().Get("Content-Encoding"), plain.Header().Get("Vary"))
	}
	gz := get(e, css, "Accept-Encoding", "br;q=1, gzip;q=0.8")
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Fatalf("with gzip: Content-Encoding %q, ETag %q (plain %q)", gz.Header().Get("Content-Encoding"), gz.Header().Get("ETag"), plain.Header().Get("ETag"))
	}
	t.Logf("%s: %d bytes, %d gzipped", css, plain.Body.Len(), gz.Body.Len())
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, plain.Body.Bytes()) {
		t.Error("the gzip body does not decompress to the plain one")
	}
	if res := get(e, css, "Accept-Encoding", "gzip;q=0, *"); res.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}
	// Images are not compressed again.
	if res := get(e, "/docs/assets/swagger-ui/favicon-32x32.png", "Accept-Encoding", "gzip"); res.Header().Get("Content-Encoding") != "" {
		t.Error("a PNG was gzipped")
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := mustNew(t, docs.Config{})
	for _, p := range []string{"/docs/assets/nope.js", "/docs/assets/", "/docs/assets/../docs.go", "/docs/x"} {
		if res := get(h, p); res.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.Code)
		}
	}
	e := newEcho(t, docs.Config{})
	if res := get(e, "/docs/assets/nope.js"); res.Code != http.StatusNotFound {
		t.Errorf("echo: GET unknown asset: %d, want 404", res.Code)
	}
	for _, hh := range []http.Handler{h, e} {
		if res := get(hh, "/docs/"); res.Code != http.StatusMovedPermanently || res.Header().Get("Location") != "/docs" {
			t.Errorf("GET /docs/: %d, Location %q, want 301 to /docs", res.Code, res.Header().Get("Location"))
		}
	}
	req := httptest.NewRequest(http.MethodHead, "/docs", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD /docs: %d, %d bytes, %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}
	req = httptest.NewRequest(http.MethodPost, "/docs", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /docs: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func mustNew(t testing.TB, cfg docs.Config) *docs.Docs {
	t.Helper()
	d, err := docs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func wantHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}
