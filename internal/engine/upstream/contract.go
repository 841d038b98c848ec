package upstream

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/resilience"
	"github.com/contractgate/contractgate/internal/engine/strictjson"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// ContractError is an upstream answer outside the upstream's own contract. Problem is for
// the log only: it never reaches the client.
type ContractError struct {
	Upstream string
	Status   int
	Problem  string
}

// Error describes the violation.
func (e *ContractError) Error() string {
	return fmt.Sprintf("upstream %s answered %d outside its contract: %s", e.Upstream, e.Status, e.Problem)
}

// contract checks an upstream's answers against the upstream's contract, compiled once
// (JSON Schema 2020-12, the dialect of OpenAPI 3.1). 5xx answers are left to the error
// mapping; any other answer must have a status the operation declares and, where that
// response declares JSON content, a body of the declared schema.
type contract struct {
	upstream string
	mode     string
	prefix   []string // the base URL's path segments
	routes   []route
	logger   *slog.Logger
}

type route struct {
	method    string
	segments  []string // "" matches any one segment (a path parameter)
	responses map[string]map[string]*validation.Schema
}

func newContract(name, baseURL, mode string, doc *openapi3.T, logger *slog.Logger) (*contract, error) {
	c := &contract{upstream: name, mode: mode, logger: logger}
	if mode == resilience.ContractOff {
		return c, nil
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	c.prefix = segments(u.Path)
	// The same engines as request validation: the compiled fast path decides valid answers,
	// the full JSON Schema 2020-12 engine the rest.
	comp, err := validation.NewSchemas(doc)
	if err != nil {
		return nil, fmt.Errorf("compiling the contract: %w", err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			r := route{method: method, segments: segments(path), responses: map[string]map[string]*validation.Schema{}}
			for status, ref := range op.Responses.Map() {
				at := "/paths/" + escape(path) + "/" + strings.ToLower(method) + "/responses/" + escape(status)
				if ref.Ref != "" {
					at = strings.TrimPrefix(ref.Ref, "#")
				}
				media := map[string]*validation.Schema{}
				for mt, m := range ref.Value.Content {
					if m.Schema == nil {
						media[mt] = nil
						continue
					}
					s, err := comp.Compile(at + "/content/" + escape(mt) + "/schema")
					if err != nil {
						return nil, fmt.Errorf("%s %s response %s: %w", method, path, status, err)
					}
					media[mt] = s
				}
				r.responses[strings.ToUpper(status)] = media
			}
			for i, s := range r.segments {
				if strings.HasPrefix(s, "{") {
					r.segments[i] = ""
				}
			}
			c.routes = append(c.routes, r)
		}
	}
	// Literal segments win over parameters (OpenAPI: concrete paths match first).
	sort.SliceStable(c.routes, func(i, j int) bool { return literals(c.routes[i]) > literals(c.routes[j]) })
	return c, nil
}

// check is the resilience.WithCheck hook: it returns a *ContractError for a violating
// answer in enforce mode, logs it in log mode, and leaves the body readable.
func (c *contract) check(resp *http.Response) error {
	if c.mode == resilience.ContractOff || resp.StatusCode >= 500 || resp.Request == nil || resp.Request.Method == http.MethodHead {
		return nil
	}
	body, ok := resilience.BodyBytes(resp.Body) // the attempt read it whole: no copy
	if !ok {
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if err != nil {
			return err
		}
		body = b
	}
	problem := c.violation(resp, body)
	if problem == "" {
		return nil
	}
	if c.mode == resilience.ContractLog {
		c.logger.WarnContext(resp.Request.Context(), "upstream answered outside its contract",
			"upstream", c.upstream, "method", resp.Request.Method, "path", resp.Request.URL.Path,
			"status", resp.StatusCode, "problem", problem)
		return nil
	}
	return &ContractError{Upstream: c.upstream, Status: resp.StatusCode, Problem: problem}
}

// violation returns what is wrong with an answer, or "".
func (c *contract) violation(resp *http.Response, body []byte) string {
	r := c.match(resp.Request.Method, resp.Request.URL.Path)
	if r == nil {
		return "" // not an operation of the contract: nothing to hold it to
	}
	code := statusCode(resp.StatusCode)
	media, ok := r.responses[code]
	if !ok {
		media, ok = r.responses[code[:1]+"XX"]
	}
	if !ok {
		media, ok = r.responses["DEFAULT"]
	}
	if !ok {
		return "status " + code + " is not declared"
	}
	if len(media) == 0 {
		return ""
	}
	schema, declared := mediaSchema(media, resp.Header.Get("Content-Type"))
	if !declared {
		return fmt.Sprintf("content type %q is not declared", resp.Header.Get("Content-Type"))
	}
	if schema == nil {
		return ""
	}
	if v, ok := strictjson.Accepts(body); ok {
		// Recorded on the body: the binding reading this answer next skips the same pass.
		resilience.MarkStrictJSON(resp.Body, v)
		if validation.ValidAccepted(v, schema) {
			return "" // the compiled fast path over the bytes: no tree for a valid answer
		}
	}
	v, err := strictjson.Decode(body, 0)
	if err != nil {
		return "body is not one JSON value: " + clip(err.Error())
	}
	if err := schema.Validate(v); err != nil {
		return "body does not match the schema: " + clip(err.Error())
	}
	return ""
}

// mediaSchema returns the schema a response declares for the media type of contentType
// (parameters ignored) and whether it declares that type at all. The common case, a bare
// declared type such as application/json, is looked up without parsing.
func mediaSchema(media map[string]*validation.Schema, contentType string) (*validation.Schema, bool) {
	if s, ok := media[contentType]; ok {
		return s, true
	}
	ct, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, false
	}
	s, ok := media[ct]
	return s, ok
}

// statusCodes holds the decimal text of every HTTP status code (100-599), so that looking
// up a response by its status allocates nothing.
var statusCodes = func() (t [600]string) {
	for i := 100; i < len(t); i++ {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusCode(code int) string {
	if code >= 100 && code < len(statusCodes) {
		return statusCodes[code]
	}
	return strconv.Itoa(code)
}

// match returns the contract's operation for a request, or nil.
func (c *contract) match(method, path string) *route {
	var buf [16]string
	segs := appendSegments(buf[:0], path)
	if len(segs) < len(c.prefix) {
		return nil
	}
	for i, p := range c.prefix {
		if segs[i] != p {
			return nil
		}
	}
	segs = segs[len(c.prefix):]
next:
	for i := range c.routes {
		r := &c.routes[i]
		if r.method != method || len(r.segments) != len(segs) {
			continue
		}
		for j, s := range r.segments {
			if (s == "" && segs[j] == "") || (s != "" && s != segs[j]) {
				continue next
			}
		}
		return r
	}
	return nil
}

func segments(path string) []string { return appendSegments(nil, path) }

// appendSegments appends the '/'-separated segments of path (leading and trailing slashes
// trimmed) to dst, as substrings of path.
func appendSegments(dst []string, path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return dst
	}
	for {
		i := strings.IndexByte(path, '/')
		if i < 0 {
			return append(dst, path)
		}
		dst = append(dst, path[:i])
		path = path[i+1:]
	}
}

func literals(r route) int {
	n := 0
	for _, s := range r.segments {
		if s != "" {
			n++
		}
	}
	return n
}

// escape encodes a JSON pointer token (RFC 6901).
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
