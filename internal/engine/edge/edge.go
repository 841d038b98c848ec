// Package edge rejects request targets the gateway will not route: too long (414), with
// encoded separators, dot segments or NUL bytes that could smuggle a different path past
// routing (400 INVALID_PATH), or with a query string that would be dropped or passed on
// broken (422 VALIDATION_FAILED); and it closes the connection after a chunked request, so that
// no request can be smuggled behind one. It runs before routing.
package edge

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

// Config bounds the request target.
type Config struct {
	// MaxURILength caps the request target (path and query) in bytes; positive
	// (server.maxURILength, default 8192, set by the config package).
	MaxURILength int
}

// Edge holds the request-target checks. Read-only; safe for concurrent use.
type Edge struct {
	cfg Config
}

// New returns the request-target checks of cfg.
func New(cfg Config) (*Edge, error) {
	if cfg.MaxURILength <= 0 {
		return nil, errors.New("edge: MaxURILength must be positive")
	}
	return &Edge{cfg: cfg}, nil
}

// Middleware returns the pre-routing middleware.
func (g *Edge) Middleware() echo.MiddlewareFunc {
	cfg := g.cfg
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if len(req.RequestURI) > cfg.MaxURILength {
				return apierror.ErrURITooLong
			}
			if len(req.TransferEncoding) > 0 {
				// Go's server accepts Content-Length together with Transfer-Encoding
				// (dropping the former) and keeps the connection open (golang/go#80942), so
				// bytes a front proxy counted differently could be read as a second,
				// smuggled request. Closing the connection after a chunked request leaves
				// nothing to smuggle.
				c.Response().Header().Set(echo.HeaderConnection, "close")
			}
			if !SafePath(req.URL.EscapedPath()) {
				return apierror.ErrInvalidPath
			}
			if req.URL.RawQuery != "" {
				if d := CheckQuery(req.URL.RawQuery); d != nil {
					return apierror.ErrValidationFailed.WithDetails(*d)
				}
			}
			return next(c)
		}
	}
}

// CheckQuery returns a detail naming the first pair of a raw query string that would be
// silently dropped or passed on as broken text, or nil: bad percent-encoding ("q=%zz"), a
// ';' separator ("pageSize=5;page=2": Go's url.ParseQuery drops both pairs), invalid UTF-8
// ("q=%ff%fe") or a NUL ("q=a%00b") in a name or value. The detail's field is query.<name>
// when the name is readable, else query.
func CheckQuery(raw string) *apierror.Detail {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, kerr := url.QueryUnescape(k)
		field := "query"
		if kerr == nil && readable(name) && !strings.Contains(k, ";") {
			field = "query." + name
		}
		value, verr := url.QueryUnescape(v)
		switch {
		case strings.Contains(pair, ";"):
			return &apierror.Detail{Field: field, Constraint: "encoding", Message: "contains ';', which is not a query separator (use '&')"}
		case kerr != nil || verr != nil:
			return &apierror.Detail{Field: field, Constraint: "encoding", Message: "is not well-formed percent-encoding"}
		case !utf8.ValidString(name) || !utf8.ValidString(value):
			return &apierror.Detail{Field: field, Constraint: "encoding", Message: "must be valid UTF-8"}
		case strings.IndexByte(name, 0) >= 0 || strings.IndexByte(value, 0) >= 0:
			return &apierror.Detail{Field: field, Constraint: "encoding", Message: "must not contain NUL characters"}
		}
	}
	return nil
}

// readable reports whether a query parameter name can be echoed in a detail's field.
func readable(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// SafePath reports whether an escaped URL path is free of encoded separators (%2F, %5C),
// encoded dots (%2E), encoded percent signs (%25, i.e. double encoding), NUL (%00), raw
// backslashes and dot segments ("/./", "/../").
func SafePath(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			if i+2 >= len(p) {
				return false
			}
			switch hex2(p[i+1], p[i+2]) {
			case "2f", "5c", "2e", "25", "00":
				return false
			}
			i += 2
		case '\\', 0:
			return false
		case '.':
			// A dot segment is "." or ".." between slashes (or at the end).
			if i > 0 && p[i-1] == '/' {
				rest := p[i+1:]
				if rest == "" || rest[0] == '/' || strings.HasPrefix(rest, ".") && (len(rest) == 1 || rest[1] == '/') {
					return false
				}
			}
		}
	}
	return true
}

func hex2(a, b byte) string {
	lower := func(c byte) byte {
		if c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	return string([]byte{lower(a), lower(b)})
}
