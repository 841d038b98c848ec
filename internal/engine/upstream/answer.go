package upstream

import (
	"fmt"
	"io"
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
// place, once, with JSON v2 semantics: about a third of the CPU and allocations of the
// ParseXxxResponse decode. Where it differs from that (encoding/json) decode, it is stricter:
// member names match exactly (a member named in another case is ignored, as any unknown
// member), and invalid UTF-8 or a duplicate name makes the answer a violation, also with the
// upstream's contract check set to log or off. A body that is not JSON (a Content-Type
// without "json", as the generated decoders require), or not a T, is
// UPSTREAM_CONTRACT_VIOLATION. Answer closes the body.
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

// isJSON reports whether contentType names JSON as the generated clients' decoders tell it:
// it contains "json".
func isJSON(contentType string) bool { return strings.Contains(contentType, "json") }
