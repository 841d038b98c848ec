package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// MetaKey is the key, in a tool result's _meta, of what the envelope says besides `data`:
// its meta (requestId, pagination), the HTTP status, and whether the answer was an
// idempotent replay.
const MetaKey = "contractgate.dev/response"

// tool is one operation served as a tool.
type tool struct {
	def     *sdk.Tool
	op      *routes.Operation
	args    map[string]argument
	gateway http.Handler
	creds   []string
}

func newTool(op *routes.Operation, doc *openapi3.T, gateway http.Handler, creds []string) (*tool, error) {
	args, in, err := inputSchema(op, doc)
	if err != nil {
		return nil, err
	}
	out, err := outputSchema(op, doc)
	if err != nil {
		return nil, err
	}
	def := &sdk.Tool{
		Name:        op.ID,
		Title:       op.Op.Summary,
		Description: describe(op.Op),
		InputSchema: in,
		Annotations: annotations(op, args),
	}
	if out != nil {
		def.OutputSchema = out
	}
	t := &tool{def: def, op: op, args: map[string]argument{}, gateway: gateway, creds: creds}
	for _, a := range args {
		t.args[a.name] = a
	}
	return t, nil
}

// describe is the operation's summary and description, as one text.
func describe(op *openapi3.Operation) string {
	s, d := strings.TrimSpace(op.Summary), strings.TrimSpace(op.Description)
	switch {
	case s == "":
		return d
	case d == "":
		return s
	}
	return s + "\n\n" + d
}

// call serves a tool call as the operation's HTTP request through the gateway's chain, and
// returns its answer as a tool result. Only a failure to serve it at all is an MCP error;
// every refusal of the operation (arguments, credentials, limits, upstreams) is a tool error.
func (t *tool) call(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
	r, aerr := t.request(ctx, req)
	if aerr != nil {
		return errorResult(aerr.Status, string(aerr.Code), aerr.Message, aerr.Details, nil), nil
	}
	rec := &recorder{header: http.Header{}}
	t.gateway.ServeHTTP(rec, r)
	return rec.result(), nil
}

// request builds the operation's HTTP request from the tool's arguments and the /mcp
// request's credentials and correlation.
func (t *tool) request(ctx context.Context, req *sdk.CallToolRequest) (*http.Request, *apierror.Error) {
	var args map[string]json.RawMessage
	if raw := req.Params.Arguments; len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, apierror.ErrValidationFailed.WithDetails(apierror.Detail{
				Field: "arguments", Constraint: "type", Message: "must be an object",
			})
		}
	}
	var unknown []apierror.Detail
	for name := range args {
		if _, ok := t.args[name]; !ok {
			unknown = append(unknown, apierror.Detail{
				Field: "arguments." + name, Constraint: "additionalProperties",
				Message: fmt.Sprintf("is not an argument of %s", t.op.ID),
			})
		}
	}
	if len(unknown) > 0 {
		return nil, apierror.ErrValidationFailed.WithDetails(unknown...)
	}
	path := t.op.Path
	query := url.Values{}
	header := http.Header{}
	var body []byte
	for name, raw := range args {
		a := t.args[name]
		if isNull(raw) {
			continue
		}
		switch a.in {
		case "path":
			path = strings.ReplaceAll(path, "{"+a.param+"}", url.PathEscape(text(raw)))
		case "query":
			query[a.param] = queryValues(raw, a.explode)
		case "header":
			header.Set(a.param, text(raw))
		case "body":
			body = raw
		}
	}
	if i := strings.IndexByte(path, '{'); i >= 0 {
		name, _, _ := strings.Cut(path[i+1:], "}")
		return nil, apierror.ErrValidationFailed.WithDetails(apierror.Detail{
			Field: "path." + name, Constraint: "required", Message: "is required",
		})
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	r, err := http.NewRequestWithContext(ctx, t.op.Method, target, bytes.NewReader(body))
	if err != nil {
		return nil, apierror.ErrValidationFailed.WithDetails(apierror.Detail{
			Field: "arguments", Constraint: "format", Message: "do not make a valid request target",
		})
	}
	r.RequestURI = target
	r.Header = header
	if body != nil {
		r.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	} else {
		r.ContentLength, r.Body = 0, http.NoBody
	}
	r.Header.Set(echo.HeaderAccept, echo.MIMEApplicationJSON)
	t.identify(ctx, r, req)
	return r, nil
}

// identify gives r the /mcp request's credentials, client address and correlation: the
// operation's request id is the /mcp request's, its trace a child of it.
func (t *tool) identify(ctx context.Context, r *http.Request, req *sdk.CallToolRequest) {
	c, _ := ctx.Value(callerKey{}).(*caller)
	if c == nil {
		c = &caller{header: http.Header{}}
		if req.Extra != nil && req.Extra.Header != nil {
			c.header = req.Extra.Header
		}
	}
	r.RemoteAddr, r.Host = c.remoteAddr, c.host
	for _, name := range t.creds {
		if v := c.header.Values(name); len(v) > 0 {
			r.Header[name] = v
		}
	}
	for _, name := range forwarded {
		if v := c.header.Values(name); len(v) > 0 {
			r.Header[http.CanonicalHeaderKey(name)] = v
		}
	}
	if c.requestID != "" {
		r.Header.Set(correlation.HeaderRequestID, c.requestID)
	}
	if c.traceParent != "" {
		r.Header.Set(correlation.HeaderTraceParent, c.traceParent)
		if c.traceState != "" {
			r.Header.Set(correlation.HeaderTraceState, c.traceState)
		}
	}
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// text is an argument's value as a parameter's text: a string as is, anything else as its
// JSON text (the gateway's validation judges it against the parameter's schema).
func text(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// queryValues is a query argument's values: an array's items (repeated, or joined by commas
// when the parameter does not explode), else the one value.
func queryValues(raw json.RawMessage, explode bool) []string {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return []string{text(raw)}
	}
	vs := make([]string, len(items))
	for i, it := range items {
		vs[i] = text(it)
	}
	if !explode {
		return []string{strings.Join(vs, ",")}
	}
	return vs
}

// recorder keeps the gateway's answer to a tool call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// envelope is the gateway's answer, success or error.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Meta  json.RawMessage `json:"meta"`
	Error *struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Details []apierror.Detail `json:"details"`
	} `json:"error"`
}

// result maps the recorded envelope to a tool result.
func (r *recorder) result() *sdk.CallToolResult {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	var env envelope
	if r.body.Len() > 0 {
		if err := json.Unmarshal(r.body.Bytes(), &env); err != nil {
			return errorResult(http.StatusInternalServerError, string(apierror.ErrInternal.Code), apierror.ErrInternal.Message, nil, nil)
		}
	}
	meta := map[string]any{"status": status}
	if len(env.Meta) > 0 {
		meta["meta"] = env.Meta
	}
	if r.header.Get("Idempotent-Replayed") == "true" {
		meta["replayed"] = true
	}
	if status >= 300 || env.Error != nil {
		code, message := string(apierror.ErrInternal.Code), http.StatusText(status)
		var details []apierror.Detail
		if env.Error != nil {
			code, message, details = env.Error.Code, env.Error.Message, env.Error.Details
		}
		var retryAfter *int
		if n, err := strconv.Atoi(r.header.Get("Retry-After")); err == nil {
			retryAfter = &n
		}
		res := errorResult(status, code, message, details, retryAfter)
		res.Meta = sdk.Meta{MetaKey: meta}
		return res
	}
	res := &sdk.CallToolResult{Meta: sdk.Meta{MetaKey: meta}}
	if len(env.Data) > 0 {
		res.StructuredContent = env.Data
		res.Content = []sdk.Content{&sdk.TextContent{Text: string(env.Data)}}
	}
	return res
}

// toolError is a tool error's structured content.
type toolError struct {
	Status     int               `json:"status"`
	Code       string            `json:"code"`
	Message    string            `json:"message"`
	Details    []apierror.Detail `json:"details,omitempty"`
	RetryAfter *int              `json:"retryAfter,omitempty"`
}

// errorResult is a tool error: the envelope's error (status, code, message, details) as
// structured content and as its JSON text.
func errorResult(status int, code, message string, details []apierror.Detail, retryAfter *int) *sdk.CallToolResult {
	e := toolError{Status: status, Code: code, Message: message, Details: details, RetryAfter: retryAfter}
	raw, _ := json.Marshal(e) // plain types: cannot fail
	return &sdk.CallToolResult{
		IsError:           true,
		StructuredContent: json.RawMessage(raw),
		Content:           []sdk.Content{&sdk.TextContent{Text: string(raw)}},
	}
}
