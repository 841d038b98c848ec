// Package binding is the runtime of x-upstream bindings (DESIGN section 9): a public operation
// that maps onto one upstream operation is answered from the upstream's raw response, its data
// projected onto the public schema (the public contract is the allow-list of what leaves the
// gateway), validated against it and wrapped in the response envelope.
//
// The generated glue (gen/bindings) calls the typed upstream client and hands the response to
// Op.Respond; everything a request needs is resolved once, by New, at start-up.
package binding

import (
	"context"
	"errors"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

// Extension is the name of the operation extension that declares a binding.
const Extension = "x-upstream"

// Binding is the parsed x-upstream of one operation, as written (DESIGN section 9). The code
// generator reuses Parse so that both read the extension the same way.
type Binding struct {
	// Service names the upstream: api/upstreams/<Service>.yaml, config upstreams.<Service>.
	Service string
	// Operation is an operationId of the upstream's contract.
	Operation string
	// Params maps an upstream parameter name to its source: path.<name>, query.<name>,
	// header.<name>, auth.subject or const:<value>. Only the params written are listed: an
	// upstream parameter not listed is filled from the public parameter of the same name
	// and place.
	Params map[string]string
	// Body is the upstream request body's source: "body" (the public body as is) or ""
	// when not written (then the public body is sent when both operations declare one).
	Body string
	// Data is what becomes the public `data`: "body" (the whole upstream answer, the
	// default, filled in when not written) or "body.<field>" (one top-level field of it).
	Data string
}

// Field returns the top-level field of the upstream answer named by Data, or "" when Data is
// the whole answer.
func (b *Binding) Field() string {
	if len(b.Data) > len("body.") {
		return b.Data[len("body."):]
	}
	return ""
}

// Parse reads the x-upstream extension of op. It returns false when op is not bound, and an
// error naming the operation and the field when the extension is malformed. It checks the
// extension's own shape only; New resolves it against the contracts.
func Parse(op *openapi3.Operation) (*Binding, bool, error) {
	return parse(op)
}

// Set is the compiled bindings of one public contract. It is immutable and safe for
// concurrent use.
type Set struct {
	ops map[string]*Op
}

// New reads the x-upstream binding of every operation of the public contract, resolves it
// against the upstream contracts (name -> doc, the file api/upstreams/<name>.yaml), and
// compiles once what each bound operation needs per request: the upstream's success statuses,
// the projection of the upstream answer onto the public data schema, the compiled public data
// schema and the public success status. Errors name the operation and the field.
func New(public *openapi3.T, upstreams map[string]*openapi3.T) (*Set, error) {
	return newSet(public, upstreams)
}

// Op returns the compiled binding of the public operation operationID, or an error when that
// operation is not bound.
func (s *Set) Op(operationID string) (*Op, error) {
	return s.op(operationID)
}

// Bound returns the operationIds of the bound operations, sorted.
func (s *Set) Bound() []string {
	return s.bound()
}

// Op is one bound public operation, compiled. It is immutable and safe for concurrent use.
type Op struct {
	operationID string
	binding     Binding
	// resolved by New: see compile.go
	c *compiled
}

// OperationID returns the public operation's operationId.
func (o *Op) OperationID() string { return o.operationID }

// Binding returns the operation's parsed x-upstream (with Data defaulted).
func (o *Op) Binding() Binding { return o.binding }

// Respond turns the upstream's answer to a bound operation into the gateway's answer. resp
// and err are what the generated upstream client returned; resp.Body is always closed.
//
//	err != nil                               -> upstream.Failure(service, 0, err)
//	status not the upstream's declared 2xx   -> upstream.Failure(service, status, nil)
//	data field missing, data not valid JSON,
//	or projected data invalid for the public
//	schema                                   -> 502 UPSTREAM_CONTRACT_VIOLATION
//
// On success the Answer holds the projected data; Answer.Write adds the envelope.
func (o *Op) Respond(ctx context.Context, resp *http.Response, err error) (Answer, error) {
	return o.respond(ctx, resp, err)
}

// Answer is the gateway's answer to a bound operation: the public success status and the
// projected data, waiting for the envelope's meta. Write it once, from one goroutine: its
// buffer then goes back to a pool, and any further Write (also of a copy) fails. An Answer
// never written is simply garbage collected.
type Answer struct {
	a   *answer
	gen uint64 // a's generation this Answer was made for
}

// errWritten is returned by a second Answer.Write, errEmpty by Write of the zero Answer.
var (
	errWritten = errors.New("binding: answer already written")
	errEmpty   = errors.New("binding: no answer to write (the zero Answer)")
)

// Write writes the answer: the public operation's success status, Content-Type
// application/json and the envelope {"success":true,"data":<data>,"meta":<meta>}, where meta
// is envelope.Meta of the request's context (taken now, so that duration covers the work).
func (a Answer) Write(w http.ResponseWriter) error {
	return a.write(w)
}
