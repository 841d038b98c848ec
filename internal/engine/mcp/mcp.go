// Package mcp serves the contract's operations marked `x-mcp: true` as Model Context Protocol
// tools at POST /mcp (the Streamable HTTP transport of github.com/modelcontextprotocol/go-sdk,
// stateless). The tools are built once at start-up from the contract: name = operationId,
// description from the summary and description, input schema from the parameters and the
// JSON body, output schema from the success answer's `data`. A tool call is served as the
// operation's own HTTP request through the gateway's chain (auth, scopes, rate limits,
// validation, idempotency, metrics, access log), with the credentials of the /mcp request;
// its envelope becomes the tool result: `data` as structured content, an error as a tool
// error carrying its status, code, message and details.
package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Extension is the operation extension that makes an operation a tool: `x-mcp: true`.
const Extension = "x-mcp"

// Path is where the tools are served (POST, Streamable HTTP).
const Path = "/mcp"

// Config configures the MCP endpoint.
type Config struct {
	// Enabled serves the operations marked `x-mcp: true` as tools at POST /mcp. Default true;
	// with no marked operation nothing is served (POST /mcp answers 404 like any unknown
	// path).
	Enabled *bool `yaml:"enabled"`
}

// SetDefaults enables the endpoint unless the configuration disabled it.
func (c *Config) SetDefaults() {
	if c.Enabled == nil {
		on := true
		c.Enabled = &on
	}
}

// Tools is the MCP endpoint: the marked operations as tools, and the handler of POST /mcp.
// Read-only after New; safe for concurrent use.
type Tools struct {
	tools   []*tool
	handler http.Handler // the go-sdk's stateless Streamable HTTP handler
	limit   int64        // the /mcp request body's bound (server.bodyLimit)
}

// New builds a tool for every operation of table marked `x-mcp: true`. gateway is the
// gateway's own handler (the whole chain): every tool call is served by it. bodyLimit bounds
// the /mcp request body (server.bodyLimit). An operation's extension that is not a boolean,
// or arguments it cannot be given (a cookie parameter, two parameters of one name), is a
// start-up error naming the operation.
func New(cfg Config, table *routes.Table, gateway http.Handler, bodyLimit int64, logger *slog.Logger) (*Tools, error) {
	t := &Tools{limit: bodyLimit}
	if cfg.Enabled != nil && !*cfg.Enabled {
		return t, nil
	}
	creds := credentialHeaders(table)
	for _, op := range table.All() {
		on, err := marked(op)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op.ID, err)
		}
		if !on {
			continue
		}
		tl, err := newTool(op, table.Doc(), gateway, creds)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op.ID, err)
		}
		t.tools = append(t.tools, tl)
	}
	if len(t.tools) == 0 {
		return t, nil
	}
	info := table.Doc().Info
	srv := sdk.NewServer(&sdk.Implementation{Name: "contractgate", Title: info.Title, Version: info.Version}, &sdk.ServerOptions{Logger: logger})
	for _, tl := range t.tools {
		srv.AddTool(tl.def, tl.call)
	}
	t.handler = sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, &sdk.StreamableHTTPOptions{
		Stateless:           true, // no session: any replica answers any request
		JSONResponse:        true, // one JSON answer per POST: tools send no progress
		Logger:              logger,
		MaxRequestBodyBytes: bodyLimit,
	})
	return t, nil
}

// Register mounts POST /mcp on e when there is a tool to serve. Mount it on the echo whose
// chain New was given: the /mcp request then runs the chain's outer steps (correlation,
// observation, request-target checks, body limit), and each tool call the whole chain.
func (t *Tools) Register(e *echo.Echo) {
	if t.handler == nil {
		return
	}
	e.POST(Path, t.serve)
}

// serve answers POST /mcp. What the transport would refuse in plain text (media types, a
// body over the limit or not JSON) is refused here, in the envelope; the rest is MCP's
// (JSON-RPC errors, tool results).
func (t *Tools) serve(c echo.Context) error {
	r := c.Request()
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		return apierror.ErrUnsupportedMediaType.WithMessage("POST /mcp takes application/json (a JSON-RPC message)")
	}
	if !accepts(r.Header.Values(echo.HeaderAccept)) {
		return apierror.ErrNotAcceptable.WithMessage("POST /mcp answers clients that accept both application/json and text/event-stream (MCP Streamable HTTP)")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, t.limit+1))
	if err != nil {
		return apierror.From(err)
	}
	if int64(len(body)) > t.limit {
		return apierror.ErrPayloadTooLarge
	}
	if !json.Valid(body) {
		return apierror.ErrMalformedJSON
	}
	if n, ok := batchLen(body); ok && n > MaxBatch {
		return apierror.ErrMalformedJSON.WithMessage("a JSON-RPC batch on /mcp holds at most %d messages, got %d", MaxBatch, n)
	}
	ctx := context.WithValue(r.Context(), callerKey{}, callerOf(r))
	req := r.WithContext(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	w := &plainErrors{ResponseWriter: c.Response()}
	t.handler.ServeHTTP(w, req)
	return w.err()
}

// MaxBatch bounds a JSON-RPC batch (a JSON array of messages; protocol versions before
// 2025-06-18 allow them): each tools/call in it is a request through the chain, so one /mcp
// request under the body limit could otherwise fan out into thousands of upstream calls past
// the connection caps.
const MaxBatch = 16

// batchLen returns the number of messages of a batch (body a valid JSON array), and false for
// a single message.
func batchLen(body []byte) (int, bool) {
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '[' {
		return 0, false
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		return 0, false
	}
	return len(msgs), true
}

// plainErrors passes the transport's answers on, except its plain-text refusals (http.Error:
// an unsupported MCP-Protocol-Version, a payload that is not JSON-RPC, a Host refused by the
// DNS-rebinding check), which it keeps to be answered in the envelope instead.
type plainErrors struct {
	http.ResponseWriter
	status int
	text   strings.Builder
}

func (w *plainErrors) WriteHeader(status int) {
	if status >= http.StatusBadRequest && strings.HasPrefix(w.Header().Get(echo.HeaderContentType), echo.MIMETextPlain) {
		w.status = status
		w.Header().Del(echo.HeaderContentType) // the envelope's is set by the error handler
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *plainErrors) Write(b []byte) (int, error) {
	if w.status != 0 {
		if w.text.Len() < maxRefusalText {
			w.text.Write(b)
		}
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (w *plainErrors) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxRefusalText bounds the transport's refusal text kept as the envelope's message.
const maxRefusalText = 200

// refusals are the envelope errors of the transport's plain-text refusals, by status.
var refusals = map[int]*apierror.Error{
	http.StatusBadRequest:            apierror.ErrMalformedJSON,
	http.StatusForbidden:             apierror.ErrForbidden,
	http.StatusMethodNotAllowed:      apierror.ErrMethodNotAllowed,
	http.StatusNotAcceptable:         apierror.ErrNotAcceptable,
	http.StatusRequestEntityTooLarge: apierror.ErrPayloadTooLarge,
	http.StatusUnsupportedMediaType:  apierror.ErrUnsupportedMediaType,
}

// err is the refusal kept, as an envelope error (nil when there was none).
func (w *plainErrors) err() error {
	if w.status == 0 {
		return nil
	}
	e, ok := refusals[w.status]
	if !ok {
		return apierror.ErrInternal
	}
	msg := strings.TrimSpace(w.text.String())
	if len(msg) > maxRefusalText {
		msg = msg[:maxRefusalText]
	}
	if !utf8.ValidString(msg) || msg == "" {
		return e
	}
	return e.WithMessage("%s", msg)
}

// accepts reports whether the Accept values admit both media types of the transport.
func accepts(values []string) bool {
	var jsonOK, streamOK bool
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK && streamOK
}

// caller is what a tool call takes from the /mcp request: who calls, from where, and the
// request's correlation.
type caller struct {
	remoteAddr  string
	host        string
	header      http.Header // the credentials and forwarding headers, copied
	requestID   string
	traceParent string
	traceState  string
}

type callerKey struct{}

// forwarded are the /mcp request's headers every tool call carries besides the credentials:
// the client address behind trusted proxies (package ratelimit reads them only from
// rateLimit.trustedProxies), and the user agent.
var forwarded = []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "User-Agent"}

func callerOf(r *http.Request) *caller {
	c := &caller{remoteAddr: r.RemoteAddr, host: r.Host, header: r.Header.Clone()}
	if info := correlation.FromContext(r.Context()); info != nil {
		c.requestID = info.RequestID
		c.traceParent = correlation.TraceParent(r.Context())
		c.traceState = info.TraceState
	}
	return c
}

// credentialHeaders are the request headers the contract's security schemes read: a tool
// call passes them on from the /mcp request.
func credentialHeaders(table *routes.Table) []string {
	headers := []string{echo.HeaderAuthorization}
	doc := table.Doc()
	if doc.Components == nil {
		return headers
	}
	for _, s := range doc.Components.SecuritySchemes {
		if s == nil || s.Value == nil {
			continue
		}
		if s.Value.Type == "apiKey" && s.Value.In == "header" {
			headers = append(headers, http.CanonicalHeaderKey(s.Value.Name))
		}
	}
	return headers
}

// Check reports why op could not be served as a tool: an x-mcp that is not a boolean, or,
// when it is marked, arguments it cannot be given (a cookie parameter, two parameters of one
// name, a body that is not JSON) or a schema that cannot be made self-contained. The
// contract gate (speclint, rule mcp-tool) runs it; New refuses the same.
func Check(doc *openapi3.T, op *routes.Operation) error {
	on, err := marked(op)
	if err != nil || !on {
		return err
	}
	if _, _, err := inputSchema(op, doc); err != nil {
		return err
	}
	_, err = outputSchema(op, doc)
	return err
}

// marked reports whether op carries `x-mcp: true`.
func marked(op *routes.Operation) (bool, error) {
	v, ok := op.Extensions[Extension]
	if !ok {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s must be true or false, got %v", Extension, v)
	}
	return b, nil
}
