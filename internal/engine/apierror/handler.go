package apierror

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// StatusClientClosedRequest is logged (never sent) when the client went away before the answer.
const StatusClientClosedRequest = 499

// From converts any error into the *Error the client sees. Unknown errors become
// INTERNAL_SERVER_ERROR with the original kept as the cause.
func From(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		return fromEcho(he)
	}
	return ErrInternal.Wrap(err)
}

// fromEcho maps the errors Echo itself produces (routing, body limit) to the envelope's codes.
// Echo's messages are never shown.
func fromEcho(he *echo.HTTPError) *Error {
	var e *Error
	switch he.Code {
	case http.StatusNotFound:
		e = ErrRouteNotFound
	case http.StatusMethodNotAllowed:
		e = ErrMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		e = ErrPayloadTooLarge
	case http.StatusUnsupportedMediaType:
		e = ErrUnsupportedMediaType
	case http.StatusBadRequest:
		e = ErrMalformedJSON
	default:
		e = ErrInternal
	}
	return e.Wrap(he)
}

// Handler returns Echo's HTTPErrorHandler: the one place where errors become responses. It
// logs each error once (5xx at error level with the cause, 4xx at debug), records the code
// it answers with on the request's correlation.Info (ErrorCode, which the observation step
// counts and logs), then writes the envelope, or a problem document when the client prefers
// application/problem+json. Whoever renders an error, wherever in the chain, goes through
// here, so that no error is answered without being logged and counted.
func Handler(logger *slog.Logger, opts ...HandlerOption) echo.HTTPErrorHandler {
	o := handlerOptions{problemTypeBase: DefaultProblemTypeBaseURL}
	for _, opt := range opts {
		opt(&o)
	}
	return func(err error, c echo.Context) {
		req := c.Request()
		ctx := req.Context()
		if c.Response().Committed {
			logger.WarnContext(ctx, "error after the response was committed", "error", err.Error())
			return
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			// The client went away: nobody reads an answer. Record it, write nothing useful.
			logger.DebugContext(ctx, "client closed request")
			c.Response().WriteHeader(StatusClientClosedRequest)
			return
		}
		e := From(err)
		if info := correlation.FromContext(ctx); info != nil {
			info.ErrorCode = string(e.Code)
		}
		if e.Status >= 500 {
			logger.ErrorContext(ctx, "request failed",
				"method", routes.Method(req.Method), "route", c.Path(), "status", e.Status, "code", string(e.Code), "error", err.Error())
		} else {
			logger.DebugContext(ctx, "request rejected",
				"status", e.Status, "code", string(e.Code), "error", err.Error())
		}
		if werr := write(c, e, o.problemTypeBase); werr != nil {
			logger.DebugContext(ctx, "writing error response", "error", werr.Error())
		}
	}
}

// DefaultProblemTypeBaseURL is the default base of a problem document's type: the type is
// the base followed by the code in lower case with dashes (RATE_LIMIT_EXCEEDED:
// <base>rate-limit-exceeded).
const DefaultProblemTypeBaseURL = "https://contractgate.dev/errors/"

// HandlerOption changes how Handler renders errors.
type HandlerOption func(*handlerOptions)

type handlerOptions struct {
	problemTypeBase string
}

// WithProblemTypeBaseURL sets the base of the problem documents' type URIs (default
// DefaultProblemTypeBaseURL; the config package validates it as an absolute URL).
func WithProblemTypeBaseURL(base string) HandlerOption {
	return func(o *handlerOptions) { o.problemTypeBase = base }
}

func write(c echo.Context, e *Error, problemTypeBase string) error {
	h := c.Response().Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	h.Add(echo.HeaderVary, echo.HeaderAccept)
	ctx := c.Request().Context()
	meta := envelope.Meta(ctx)
	// HEAD is rendered like GET: net/http sends the same status and headers (Content-Type,
	// Content-Length) and drops the body.
	if prefersProblem(c.Request().Header.Get(echo.HeaderAccept)) {
		return c.JSON(e.Status, problem(c, e, meta, problemTypeBase))
	}
	body := components.ErrorEnvelope{
		Success: false,
		Error:   components.Error{Code: e.Code, Message: e.Message},
		Meta:    meta,
	}
	if len(e.Details) > 0 {
		body.Error.Details = &e.Details
	}
	return c.JSON(e.Status, body)
}

// Problem is an RFC 9457 problem document with the envelope's fields as extensions.
type Problem struct {
	Type      string   `json:"type"`
	Title     string   `json:"title"`
	Status    int      `json:"status"`
	Detail    string   `json:"detail"`
	Instance  string   `json:"instance"`
	Code      Code     `json:"code"`
	Errors    []Detail `json:"errors,omitempty"`
	RequestID string   `json:"requestId"`
}

func problem(c echo.Context, e *Error, meta components.Meta, typeBase string) Problem {
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	return Problem{
		Type:      typeBase + strings.ToLower(strings.ReplaceAll(string(e.Code), "_", "-")),
		Title:     http.StatusText(e.Status),
		Status:    e.Status,
		Detail:    e.Message,
		Instance:  c.Request().URL.EscapedPath(),
		Code:      e.Code,
		Errors:    e.Details,
		RequestID: meta.RequestId,
	}
}

// prefersProblem reports whether the Accept header ranks application/problem+json above
// application/json (ties go to the envelope).
func prefersProblem(accept string) bool {
	if accept == "" || !strings.Contains(accept, "problem+json") {
		return false
	}
	var problemQ, jsonQ float64 = -1, -1
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				q = v
			}
		}
		switch mt {
		case "application/problem+json":
			problemQ = max(problemQ, q)
		case "application/json", "application/*", "*/*":
			jsonQ = max(jsonQ, q)
		}
	}
	return problemQ > 0 && problemQ > jsonQ
}
