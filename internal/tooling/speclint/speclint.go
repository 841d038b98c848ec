// Package speclint checks the contract against the project's own rules, the ones a
// generic OpenAPI linter does not know: every operation is named, summarised and declares
// the envelope errors the gateway can answer; request bodies are closed; path parameters
// are constrained; lists are paginated; and every example is valid for its schema.
//
// The rules, by name (a Finding carries the name):
//
//	operation-id               every operation has an operationId
//	operation-summary          every operation has a summary
//	error-responses            every operation declares 500; one with parameters or a
//	                           request body also declares 422; a secured one (effective
//	                           security with no anonymous alternative) 401 and 403
//	error-envelope             every 4xx, 5xx and default response has content, and each
//	                           media type (bar application/problem+json) has a schema
//	shared-components          the contract uses the shared components (components.yaml,
//	                           the shapes the engine writes): every 4xx, 5xx and default
//	                           JSON response is $ref ./components.yaml#/components/schemas/ErrorEnvelope,
//	                           and every 2xx JSON envelope (an object with success or
//	                           meta) has meta $ref ./components.yaml#/components/schemas/Meta
//	                           (or an allOf with it)
//	strict-request-body        every object schema in a request body, nested ones included
//	                           (properties, items, additionalProperties, allOf/anyOf/oneOf
//	                           members), sets additionalProperties: false
//	path-parameter-constraint  every path parameter's schema has a pattern or a format
//	pagination                 a list operation (its 200 JSON response's data is an array)
//	                           has the query parameters page and pageSize, pageSize has a
//	                           maximum, and the response's meta declares pagination
//	valid-examples             every example validates against its schema (JSON Schema
//	                           2020-12, formats asserted): media-type example/examples,
//	                           parameter and header example/examples, schema
//	                           example/examples
//	mcp-tool                   x-mcp is true or false, and an operation marked true can
//	                           be served as an MCP tool (package internal/engine/mcp): no
//	                           cookie parameter, no two parameters of one name, a JSON body
//
// Lint is safe for concurrent use; it keeps no state between calls.
package speclint

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/contract"
)

// Rule names, as carried by Finding.Rule.
const (
	RuleOperationID             = "operation-id"
	RuleOperationSummary        = "operation-summary"
	RuleErrorResponses          = "error-responses"
	RuleErrorEnvelope           = "error-envelope"
	RuleSharedComponents        = "shared-components"
	RuleStrictRequestBody       = "strict-request-body"
	RulePathParameterConstraint = "path-parameter-constraint"
	RulePagination              = "pagination"
	RuleValidExamples           = "valid-examples"
	RuleMCPTool                 = "mcp-tool"
)

// SharedComponentsFile is the file name of the shared components every public contract
// $refs (api/components.yaml); a reference to it may take any relative path.
const SharedComponentsFile = "components.yaml"

// ErrorEnvelopeRef and MetaRef are the shared schemas every error response, and every
// success envelope's meta, must reference (as written beside components.yaml).
const (
	ErrorEnvelopeRef = "./" + SharedComponentsFile + "#/components/schemas/ErrorEnvelope"
	MetaRef          = "./" + SharedComponentsFile + "#/components/schemas/Meta"
)

// Finding is one rule violation.
type Finding struct {
	// Rule is the violated rule's name (Rule... constants).
	Rule string
	// Where names the place: "GET /v1/orders (listOrders)" for an operation, or a
	// component ("components.schemas.Product").
	Where string
	// Message says what is wrong, naming the part of the operation or component.
	Message string
}

// String is "rule: where: message".
func (f Finding) String() string { return f.Rule + ": " + f.Where + ": " + f.Message }

// LintFile lints the contract at path. Its relative $refs (the shared components.yaml)
// resolve against its directory; the rules see the references as written, and the
// examples are checked in the bundled document (see contract.Internalize), so that those
// of the shared components are checked too.
func LintFile(path string) ([]Finding, error) {
	doc, err := contract.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading the contract: %w", err)
	}
	bundled, err := contract.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading the contract: %w", err)
	}
	if err := contract.Internalize(bundled); err != nil {
		return nil, fmt.Errorf("bundling the contract: %w", err)
	}
	data, err := bundled.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding the contract as JSON: %w", err)
	}
	return lint(doc, bundled, data)
}

// Lint lints a contract held in memory (it may use local "#/..." $refs only, so it fails
// the shared-components rule).
func Lint(data []byte) ([]Finding, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("loading the contract: %w", err)
	}
	return lint(doc, doc, data)
}

// lint applies every rule to doc, whose examples are checked in data and tools built from
// bundled (the same contract, self-contained, as the gateway serves it).
func lint(doc, bundled *openapi3.T, data []byte) ([]Finding, error) {
	// Examples are this package's valid-examples rule, with a message per example.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("the contract is not a valid OpenAPI document: %w", err)
	}

	var findings []Finding
	for _, op := range operations(doc) {
		findings = append(findings, checkOperation(doc, op)...)
	}
	findings = append(findings, checkTools(bundled)...)
	exampleFindings, err := checkExamples(data)
	if err != nil {
		return nil, err
	}
	findings = append(findings, exampleFindings...)
	return findings, nil
}

// operation is one operation with what the rules need around it.
type operation struct {
	method, path string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

// where names the operation in messages: "GET /v1/orders (listOrders)".
func (o operation) where() string {
	s := o.method + " " + o.path
	if o.op.OperationID != "" {
		s += " (" + o.op.OperationID + ")"
	}
	return s
}

// parameters are the operation's parameters with the path item's, the operation's
// winning on the same name and location (OpenAPI's override rule).
func (o operation) parameters() []*openapi3.Parameter {
	var out []*openapi3.Parameter
	seen := map[string]bool{}
	for _, list := range []openapi3.Parameters{o.op.Parameters, o.item.Parameters} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				continue
			}
			key := ref.Value.In + "\x00" + ref.Value.Name
			if !seen[key] {
				seen[key] = true
				out = append(out, ref.Value)
			}
		}
	}
	return out
}

var methodOrder = []string{"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "POST", "PATCH", "DELETE", "QUERY"}

// operations lists every operation, by path and then in a fixed method order, so that
// findings come out in the same order every run.
func operations(doc *openapi3.T) []operation {
	var ops []operation
	if doc.Paths == nil {
		return nil
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{method: strings.ToUpper(method), path: path, item: item, op: op})
		}
	}
	rank := func(m string) int {
		if i := slices.Index(methodOrder, m); i >= 0 {
			return i
		}
		return len(methodOrder)
	}
	slices.SortFunc(ops, func(a, b operation) int {
		return cmp.Or(strings.Compare(a.path, b.path), cmp.Compare(rank(a.method), rank(b.method)), strings.Compare(a.method, b.method))
	})
	return ops
}
