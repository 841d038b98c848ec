package upstream

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/resilience"
)

// drainBytes is how much of an unwanted answer's body Answer reads so that its connection can
// be reused (the policies normally read bodies whole already).
const drainBytes = 64 << 10

// Answer returns the JSON body of an upstream call's answer decoded into a T, when the call
// answered status want; otherwise the error the gateway answers with (Failure). It is what
// hand-written glue calls on a generated client's plain method (its Client, not its
// ClientWithResponses), in one step instead of Check and Require:
//
//	resp, err := h.up.Catalog.GetProduct(ctx, id)
//	p, err := upstream.Answer[catalog.Product]("catalog", resp, err, http.StatusOK)
//
// The body is the one the policies read whole (and the contract check accepted), decoded in
// place, once, with exact member names (JSON v2 semantics: no case-insensitive matching, no
// duplicate names): about a third of the CPU and allocations of the ParseXxxResponse decode.
// A body that is not JSON, or not a T, is UPSTREAM_CONTRACT_VIOLATION. Answer closes the body.
func Answer[T any](name string, resp *http.Response, err error, want int) (*T, error) {
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		return nil, Failure(name, 0, err)
	}
	body := resp.Body
	if body == nil {
		body = http.NoBody
	}
	defer func() { _ = body.Close() }()
	if resp.StatusCode != want {
		_, _ = io.CopyN(io.Discard, body, drainBytes)
		return nil, Failure(name, resp.StatusCode, nil)
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return nil, violation(name, fmt.Errorf("answer of type %q, not JSON", resp.Header.Get("Content-Type")))
	}
	b, ok := resilience.BodyBytes(body)
	if !ok {
		if b, err = io.ReadAll(io.LimitReader(body, resilience.DefaultMaxResponseBytes+1)); err != nil {
			return nil, Failure(name, 0, err)
		}
		if len(b) > resilience.DefaultMaxResponseBytes {
			return nil, Failure(name, 0, fmt.Errorf("%w (more than %d bytes)", resilience.ErrResponseTooLarge, resilience.DefaultMaxResponseBytes))
		}
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, violation(name, fmt.Errorf("decoding the answer: %w", err))
	}
	return v, nil
}

func violation(name string, err error) error {
	return apierror.ErrUpstreamContractViolation.Wrap(fmt.Errorf("upstream %s: %w", name, err))
}

// isJSON reports whether contentType is a JSON media type: application/json or a +json
// suffix, parameters aside.
func isJSON(contentType string) bool {
	if contentType == "application/json" {
		return true // the common case, without parsing
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
