package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/envelope"
)

// replayHeaders are the response headers stored and replayed: those that describe the
// representation or the created resource. Per-response headers (X-Request-Id, X-Trace-Id,
// RateLimit, Retry-After, Date, Content-Length) belong to the replaying response instead.
var replayHeaders = []string{
	echo.HeaderContentType, "Content-Language", "Content-Location", "Content-Disposition",
	echo.HeaderLocation, "Etag", echo.HeaderLastModified, "Cache-Control", "Expires", "Link",
	echo.HeaderVary, "Preference-Applied",
}

// recorder tees a response: it writes through to the client and keeps a copy of the final
// status, the replayable headers (as they were when the status was written) and the body.
type recorder struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

// WriteHeader records the final status; informational (1xx) statuses pass through.
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= http.StatusOK {
		r.snapshot(code)
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write writes b through and keeps what was written.
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.snapshot(http.StatusOK) // net/http's implicit WriteHeader(200)
	}
	n, err := r.ResponseWriter.Write(b)
	r.body.Write(b[:n])
	return n, err
}

// Unwrap exposes the client's writer to http.ResponseController (Flush, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) snapshot(status int) {
	r.status = status
	src := r.ResponseWriter.Header()
	for _, k := range replayHeaders {
		if vs := src[k]; len(vs) > 0 {
			if r.header == nil {
				r.header = http.Header{}
			}
			r.header[k] = slices.Clone(vs)
		}
	}
}

// result returns what was sent; a handler that wrote nothing sent an empty 200.
func (r *recorder) result() (status int, header http.Header, body []byte) {
	if r.status == 0 {
		r.snapshot(http.StatusOK)
	}
	return r.status, r.header, r.body.Bytes()
}

// replay writes a stored response: its status, headers and body, with Idempotent-Replayed
// and a meta block (requestId, timestamp, duration) describing this response.
func (m *Idempotency) replay(c echo.Context, r *record) {
	h := c.Response().Header()
	for k, vs := range r.Header {
		if k != echo.HeaderVary {
			h[k] = slices.Clone(vs)
			continue
		}
		for _, v := range vs {
			if !slices.Contains(h.Values(k), v) {
				h.Add(k, v)
			}
		}
	}
	h.Set(HeaderReplayed, "true")
	ctx := c.Request().Context()
	if info := correlation.FromContext(ctx); info != nil {
		// A replayed error is an error answer like the first: the access log shows its code
		// and contractgate_errors_total counts it (idempotency_outcomes_total{outcome=
		// "replayed"} tells replays apart).
		info.ErrorCode = r.Code
	}
	body := replayBody(ctx, r.Header.Get(echo.HeaderContentType), r.Body)
	c.Response().WriteHeader(r.Status)
	if len(body) == 0 || c.Request().Method == http.MethodHead {
		return
	}
	if _, err := c.Response().Write(body); err != nil {
		m.logger.DebugContext(ctx, "writing a replayed response", "error", err.Error())
	}
}

// replayBody returns body with its meta (envelope) or requestId (problem document) rewritten
// for the replaying request. Everything else is kept byte for byte: the envelope's data or
// error is copied, not re-encoded. A body of another shape is returned unchanged.
func replayBody(ctx context.Context, contentType string, body []byte) []byte {
	mt, _, _ := mime.ParseMediaType(contentType)
	var out []byte
	switch mt {
	case echo.MIMEApplicationJSON:
		out = replayEnvelope(ctx, body)
	case "application/problem+json":
		out = replayProblem(ctx, body)
	}
	if out == nil {
		return body
	}
	if bytes.HasSuffix(body, []byte("\n")) {
		out = append(out, '\n')
	}
	return out
}

// storedEnvelope is the response envelope (DESIGN section 5) with data and error kept raw.
type storedEnvelope struct {
	Success *bool                      `json:"success"`
	Data    json.RawMessage            `json:"data"`
	Error   json.RawMessage            `json:"error"`
	Meta    map[string]json.RawMessage `json:"meta"`
}

func replayEnvelope(ctx context.Context, body []byte) []byte {
	var env storedEnvelope
	if !decodeExactly(body, &env) || env.Success == nil || env.Meta == nil {
		return nil
	}
	now := envelope.Meta(ctx)
	env.Meta["requestId"], _ = json.Marshal(now.RequestId)
	env.Meta["timestamp"], _ = json.Marshal(now.Timestamp)
	env.Meta["duration"], _ = json.Marshal(now.Duration)
	meta, err := json.Marshal(env.Meta) // keys sorted, as components.Meta encodes them
	if err != nil {
		return nil
	}
	out := make([]byte, 0, len(body)+32)
	out = append(out, `{"success":`...)
	out = strconv.AppendBool(out, *env.Success)
	if env.Data != nil {
		out = append(append(out, `,"data":`...), env.Data...)
	}
	if env.Error != nil {
		out = append(append(out, `,"error":`...), env.Error...)
	}
	out = append(append(out, `,"meta":`...), meta...)
	return append(out, '}')
}

// storedProblem mirrors apierror.Problem field for field (same order, so the same encoding)
// with the details kept raw.
type storedProblem struct {
	Type      string          `json:"type"`
	Title     string          `json:"title"`
	Status    int             `json:"status"`
	Detail    string          `json:"detail"`
	Instance  string          `json:"instance"`
	Code      string          `json:"code"`
	Errors    json.RawMessage `json:"errors,omitempty"`
	RequestID string          `json:"requestId"`
}

func replayProblem(ctx context.Context, body []byte) []byte {
	var p storedProblem
	if !decodeExactly(body, &p) {
		return nil
	}
	p.RequestID = correlation.RequestID(ctx)
	out, err := json.Marshal(p)
	if err != nil {
		return nil
	}
	return out
}

// decodeExactly decodes body, one JSON value with no field v does not know, into v.
func decodeExactly(body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false
	}
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}
