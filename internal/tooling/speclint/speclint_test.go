package speclint_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/contract"
	"github.com/contractgate/contractgate/internal/tooling/speclint"
)

// TestRules lints one fixture per rule violation; each is testdata/valid.yaml with one
// rule broken, and must produce exactly the expected findings.
func TestRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    []string
	}{
		{"valid", nil},
		{"missing-operation-id", []string{
			"operation-id: GET /v1/books/{bookId}: has no operationId",
		}},
		{"missing-summary", []string{
			"operation-summary: GET /v1/books (listBooks): has no summary",
		}},
		{"missing-500", []string{
			"error-responses: GET /v1/books/{bookId} (getBook): does not declare the 500 response (every operation can fail unexpectedly)",
		}},
		{"missing-422", []string{
			"error-responses: GET /v1/books (listBooks): does not declare the 422 response (it takes parameters or a request body, which are validated)",
		}},
		{"missing-403", []string{
			"error-responses: POST /v1/books (createBook): does not declare the 403 response (it is secured, and a caller may lack a scope)",
		}},
		{"error-not-envelope", []string{
			"shared-components: GET /v1/books/{bookId} (getBook): response 404 application/json uses an inline schema; error responses must use the shared ErrorEnvelope ($ref: ./components.yaml#/components/schemas/ErrorEnvelope)",
		}},
		{"error-without-content", []string{
			"error-envelope: GET /v1/status (getStatus): response default has no content; error responses are the shared ErrorEnvelope ($ref: ./components.yaml#/components/schemas/ErrorEnvelope)",
		}},
		{"local-error-envelope", localErrorEnvelope()},
		{"local-meta", []string{
			"shared-components: POST /v1/books (createBook): response 201 application/json: meta uses $ref #/components/schemas/BookMeta; success envelopes must use the shared Meta ($ref: ./components.yaml#/components/schemas/Meta)",
			"shared-components: GET /v1/books/{bookId} (getBook): response 200 application/json: meta uses $ref #/components/schemas/BookMeta; success envelopes must use the shared Meta ($ref: ./components.yaml#/components/schemas/Meta)",
		}},
		{"open-request-body", []string{
			"strict-request-body: POST /v1/books (createBook): request body application/json: object schema at body (#/components/schemas/CreateBookRequest) does not set additionalProperties: false",
		}},
		{"open-nested-request-body", []string{
			"strict-request-body: POST /v1/books (createBook): request body application/json: object schema at body.authors[] (#/components/schemas/Author) does not set additionalProperties: false",
		}},
		{"open-oneof-request-body", []string{
			"strict-request-body: POST /v1/books (createBook): request body application/json: object schema at body.format<oneOf[1]> (#/components/schemas/EbookFormat) does not set additionalProperties: false",
		}},
		{"unconstrained-path-parameter", []string{
			`path-parameter-constraint: GET /v1/books/{bookId} (getBook): path parameter "bookId" has neither a pattern nor a format`,
		}},
		{"list-without-page-size", []string{
			"pagination: GET /v1/books (listBooks): lists items (200 data is an array) but has no pageSize query parameter",
		}},
		{"list-unbounded-page-size", []string{
			"pagination: GET /v1/books (listBooks): query parameter pageSize has no maximum; page sizes must be bounded",
		}},
		{"list-without-pagination-meta", []string{ // an inline meta cannot be the shared one
			"shared-components: GET /v1/books (listBooks): response 200 application/json: meta uses an inline schema; success envelopes must use the shared Meta ($ref: ./components.yaml#/components/schemas/Meta)",
			"pagination: GET /v1/books (listBooks): lists items (200 data is an array) but its 200 response does not declare meta.pagination",
		}},
		{"invalid-media-type-example", []string{
			"valid-examples: POST /v1/books (createBook): request body application/json example does not match its schema: " +
				"at '': additional properties 'isbn' not allowed; at '/format': additional properties 'pages' not allowed; " +
				"at '/format/kind': value must be 'ebook'; at '/format/pages': minimum: got 0, want 1",
		}},
		{"invalid-referenced-example", []string{
			`valid-examples: GET /v1/books (listBooks): response 200 application/json example "firstPage" (#/components/examples/BookListPage) does not match its schema: ` +
				`at '/data/0/id': 'book-1' does not match pattern '^bk_[0-9]{4}$'; ` +
				`at '/data/0/published': 'July 1855' is not valid date: parsing time "July 1855" as "2006-01-02": cannot parse "July 1855" as "2006"`,
		}},
		{"mcp-tool", []string{
			"mcp-tool: POST /v1/books (createBook): x-mcp must be true or false, got yes",
		}},
		{"invalid-schema-example", []string{
			"valid-examples: components.schemas.Book: schema.title example does not match its schema: at '': got number, want string",
		}},
		{"invalid-parameter-example", []string{
			`valid-examples: GET /v1/books (listBooks): query parameter "genre" example does not match its schema: at '': value must be one of 'fiction', 'poetry'`,
			`valid-examples: components.parameters.PageSize: query parameter "pageSize" example "huge" does not match its schema: at '': maximum: got 500, want 100`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			findings, err := speclint.LintFile(filepath.Join("testdata", tt.fixture+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(findings))
			for i, f := range findings {
				got[i] = f.String()
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n  got  %q\n  want %q", got, tt.want)
			}
		})
	}
}

// TestFixturesCoverEveryRule keeps the table honest: every rule has a failing fixture.
func TestFixturesCoverEveryRule(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		findings, err := speclint.LintFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, f := range findings {
			covered[f.Rule] = true
		}
	}
	for _, rule := range []string{
		speclint.RuleOperationID, speclint.RuleOperationSummary, speclint.RuleErrorResponses,
		speclint.RuleErrorEnvelope, speclint.RuleSharedComponents, speclint.RuleStrictRequestBody, speclint.RulePathParameterConstraint,
		speclint.RulePagination, speclint.RuleValidExamples, speclint.RuleMCPTool,
	} {
		if !covered[rule] {
			t.Errorf("no fixture in testdata/ breaks rule %s", rule)
		}
	}
}

// TestContract: the gateway's own contract follows every rule.
func TestContract(t *testing.T) {
	t.Parallel()
	findings, err := speclint.LintFile(filepath.Join("..", "..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

// TestLint: the in-memory entry point applies the same rules to a self-contained
// document; having no file beside it, such a document cannot use the shared components.
func TestLint(t *testing.T) {
	t.Parallel()
	data, err := contract.BundleFile(filepath.Join("testdata", "missing-summary.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	findings, err := speclint.Lint(data)
	if err != nil {
		t.Fatal(err)
	}
	var summary, shared int
	for _, f := range findings {
		switch f.Rule {
		case speclint.RuleOperationSummary:
			summary++
		case speclint.RuleSharedComponents:
			shared++
		default:
			t.Errorf("unexpected finding %v", f)
		}
	}
	if summary != 1 || shared == 0 {
		t.Errorf("findings = %v, want one %s and %s ones", findings, speclint.RuleOperationSummary, speclint.RuleSharedComponents)
	}
}

// localErrorEnvelope is what local-error-envelope.yaml must produce: every error response
// of every operation names the local schema.
func localErrorEnvelope() []string {
	const msg = "response %s (#/components/responses/Error) application/json uses $ref #/components/schemas/ErrorEnvelope; " +
		"error responses must use the shared ErrorEnvelope ($ref: ./components.yaml#/components/schemas/ErrorEnvelope)"
	var out []string
	for _, op := range []struct {
		where string
		codes []string
	}{
		{"GET /v1/books (listBooks)", []string{"422", "500"}},
		{"POST /v1/books (createBook)", []string{"401", "403", "422", "500"}},
		{"GET /v1/books/{bookId} (getBook)", []string{"401", "403", "404", "422", "500"}},
		{"GET /v1/status (getStatus)", []string{"500", "default"}},
	} {
		for _, c := range op.codes {
			out = append(out, "shared-components: "+op.where+": "+fmt.Sprintf(msg, c))
		}
	}
	return out
}

// TestNotADocument: a document kin-openapi rejects is an error, not a finding.
func TestNotADocument(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		"not: [an, openapi, document",
		"openapi: 3.1.0\ninfo: {title: x, version: 1.0.0}\npaths:\n  /x:\n    get:\n      responses:\n        '200': {}\n",
	} {
		if _, err := speclint.Lint([]byte(doc)); err == nil || !strings.Contains(err.Error(), "contract") {
			t.Errorf("Lint(%q) error = %v, want a loading or validation error", doc, err)
		}
	}
}
