package docs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assetFS embed.FS

var zeroTime time.Time

// contentTypes maps the extensions of the embedded files to their media types. An embedded
// file with another extension fails New: every asset is served with a type chosen here,
// never sniffed.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".png": "image/png",
	".txt": "text/plain; charset=utf-8",
	"":     "text/plain; charset=utf-8", // LICENSE, NOTICE, VERSION
}

// asset is one embedded file, with what is needed to serve it: its type, a version derived
// from its content (for the URL and the ETag), and, for text, a gzip copy made on first use.
type asset struct {
	name        string
	data        []byte
	contentType string
	version     string // 16 hex digits of the SHA-256 of data

	gzipOnce sync.Once
	gz       []byte // nil: not compressible, or gzip would not make it smaller
}

// url is the asset's versioned URL: with the matching ?v= it may be cached for good.
func (a *asset) url() string { return Path + "/assets/" + a.name + "?v=" + a.version }

func (a *asset) gzipped() []byte {
	a.gzipOnce.Do(func() {
		if !strings.HasPrefix(a.contentType, "text/") {
			return
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(a.data); err != nil {
			return
		}
		if err := zw.Close(); err != nil {
			return
		}
		if buf.Len() < len(a.data) {
			a.gz = buf.Bytes()
		}
	})
	return a.gz
}

type assetTable struct {
	byName map[string]*asset
}

// loadAssets reads the embedded files once per process: they cannot change.
var loadAssets = sync.OnceValues(func() (*assetTable, error) {
	t := &assetTable{byName: map[string]*asset{}}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("docs: embedded asset %s has no content type (add its extension to contentTypes)", name)
		}
		data, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		t.byName[name] = &asset{name: name, data: data, contentType: ct, version: hex.EncodeToString(sum[:8])}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("docs: loading embedded assets: %w", err)
	}
	return t, nil
})

// serveAsset answers with the named asset and reports whether it exists. The versioned URL
// the page uses is cached for a year; any other is revalidated (ETag) on every use. Text is
// sent gzip-compressed to clients that accept it (Swagger UI's bundle: 1.7 MB, about 0.5 MB
// compressed).
func (d *Docs) serveAsset(w http.ResponseWriter, r *http.Request, name string) bool {
	a, ok := d.assets.byName[name]
	if !ok {
		return false
	}
	h := w.Header()
	setSecurityHeaders(h)
	h.Set("Content-Type", a.contentType)
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := a.data, `"`+a.version+`"`
	if strings.HasPrefix(a.contentType, "text/") {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			if gz := a.gzipped(); gz != nil { // compressed on first use, once per process
				body, etag = gz, `"`+a.version+`-gzip"`
				h.Set("Content-Encoding", "gzip")
			}
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, singleRange(r), "", zeroTime, bytes.NewReader(body))
	return true
}

// singleRange returns r without its Range header when that asks for more than one range:
// the whole file is then served (200), as RFC 9110 section 14.2 allows. A multipart answer
// of thousands of tiny ranges costs tens of times the CPU of the whole file, for nothing a
// browser needs. One range (resuming a download) is still honoured.
func singleRange(r *http.Request) *http.Request {
	ranges := r.Header.Values("Range")
	if len(ranges) == 0 || (len(ranges) == 1 && !strings.Contains(ranges[0], ",")) {
		return r
	}
	r2 := *r
	r2.Header = r.Header.Clone()
	r2.Header.Del("Range")
	return &r2
}

// acceptsGzip reports whether Accept-Encoding values allow gzip (RFC 9110 section 12.5.3):
// named, or covered by "*", with a q-value above zero.
func acceptsGzip(values []string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(item), ";")
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzipQ = q
			case "*":
				starQ = q
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}
