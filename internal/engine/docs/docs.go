// Package docs serves the interactive API reference of the served contract at GET /docs:
// Swagger UI, with every asset embedded in the binary, so the page works with no internet.
//
// The page fetches the contract from the gateway (Config.SpecURL) and aims "Try it out" at
// the origin that served it, whatever address the contract's servers name. The Authorize
// dialog offers the contract's security schemes; what is entered there persists in the
// browser's localStorage across reloads.
//
// Swagger UI's files under assets/swagger-ui/ are copied from the swagger-ui-dist version
// pinned in web/docs/package-lock.json by web/docs/update.sh; they are never edited by hand.
package docs

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// Path is where the page is served; its assets are under Path + "/assets/".
const Path = "/docs"

// ContentSecurityPolicy is the policy of the page and its assets: everything from the
// gateway's own origin, nothing inline, nothing from anywhere else. The one exception is
// data: images, which Swagger UI's stylesheet uses for its icons.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Config configures the docs page.
type Config struct {
	// SpecURL is where the browser fetches the contract to render: an absolute path on the
	// gateway's own origin (the page's policy allows connections to no other). Default
	// "/openapi.json".
	SpecURL string
}

// Docs serves the docs page and its assets. Safe for concurrent use.
type Docs struct {
	assets   *assetTable
	page     []byte
	pageETag string
}

//go:embed page.html
var pageTemplate string

// New renders the page for cfg. It fails when SpecURL is not a same-origin absolute path.
func New(cfg Config) (*Docs, error) {
	if cfg.SpecURL == "" {
		cfg.SpecURL = "/openapi.json"
	}
	if err := checkSpecURL(cfg.SpecURL); err != nil {
		return nil, err
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("page").Funcs(template.FuncMap{
		// asset names an embedded file by its versioned URL; a name that is not embedded is
		// an error, so a typo fails New (and its tests) rather than a browser.
		"asset": func(name string) (string, error) {
			a, ok := assets.byName[name]
			if !ok {
				return "", fmt.Errorf("docs: page.html references %q, which is not embedded", name)
			}
			return a.url(), nil
		},
	}).Parse(pageTemplate)
	if err != nil {
		return nil, fmt.Errorf("docs: parsing page.html: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ SpecURL string }{cfg.SpecURL}); err != nil {
		return nil, fmt.Errorf("docs: rendering page.html: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return &Docs{assets: assets, page: buf.Bytes(), pageETag: `"` + hex.EncodeToString(sum[:8]) + `"`}, nil
}

func checkSpecURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return fmt.Errorf("docs: SpecURL must be an absolute path on the gateway's own origin, got %q", s)
	}
	return nil
}

// Register adds GET (and HEAD) Path, Path/ (a redirect to Path) and Path/assets/* to e. An
// unknown asset is echo.ErrNotFound, for the gateway's error handler to render.
func (d *Docs) Register(e *echo.Echo) {
	methods := []string{http.MethodGet, http.MethodHead}
	e.Match(methods, Path, func(c echo.Context) error {
		d.servePage(c.Response(), c.Request())
		return nil
	})
	e.Match(methods, Path+"/", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, Path)
	})
	e.Match(methods, Path+"/assets/*", func(c echo.Context) error {
		if !d.serveAsset(c.Response(), c.Request(), c.Param("*")) {
			return echo.ErrNotFound
		}
		return nil
	})
}

// ServeHTTP serves what Register adds, without Echo.
func (d *Docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	switch name, isAsset := strings.CutPrefix(r.URL.Path, Path+"/assets/"); {
	case r.URL.Path == Path:
		d.servePage(w, r)
	case r.URL.Path == Path+"/":
		http.Redirect(w, r, Path, http.StatusMovedPermanently)
	case isAsset && d.serveAsset(w, r, name):
	default:
		http.NotFound(w, r)
	}
}

func (d *Docs) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setSecurityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page is small and names its assets by version: revalidate it every time, so that a
	// new binary's assets are picked up at once.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", d.pageETag)
	http.ServeContent(w, singleRange(r), "", zeroTime, bytes.NewReader(d.page))
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}
