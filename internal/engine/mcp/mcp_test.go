package mcp

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/routes"
)

// contractWith is a small contract whose one operation, POST /v1/things/{thingId}, has the
// given parameters, request body and x-mcp (YAML fragments, indented for the operation).
func contractWith(t *testing.T, mark, params, body string) (*openapi3.T, *routes.Operation) {
	t.Helper()
	src := `openapi: 3.1.0
info: {title: T, version: 1.0.0}
paths:
  /v1/things/{thingId}:
    post:
      operationId: makeThing
      summary: Make a thing
` + mark + `
      parameters:
        - {name: thingId, in: path, required: true, schema: {type: string, pattern: '^t_[0-9]+$'}}
` + params + "\n" + body + `
      responses:
        '201':
          description: made
          content:
            application/json:
              schema:
                type: object
                properties:
                  data: {$ref: '#/components/schemas/Node'}
components:
  schemas:
    Node:
      type: object
      properties:
        name: {type: string}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
`
	doc, err := openapi3.NewLoader().LoadFromData([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	table, err := routes.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, table.All()[0]
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mark, params, body, want string
	}{
		{"not marked", "", "", "", ""},
		{"marked false", "      x-mcp: false", "", "", ""},
		{"marked", "      x-mcp: true", "        - {name: tags, in: query, schema: {type: array, items: {type: string}}}", "", ""},
		{"not a boolean", "      x-mcp: 'yes'", "", "", "x-mcp must be true or false, got yes"},
		{"cookie", "      x-mcp: true", "        - {name: session, in: cookie, schema: {type: string}}", "", `x-mcp: parameter "session" in cookie cannot be a tool argument`},
		{"a parameter named body", "      x-mcp: true", "        - {name: body, in: query, schema: {type: string}}",
			"      requestBody: {content: {application/json: {schema: {type: object}}}}", `x-mcp: two arguments named "body"`},
		{"a body that is not JSON", "      x-mcp: true", "", "      requestBody: {content: {text/plain: {schema: {type: string}}}}", "x-mcp: the request body is not application/json"},
		{"not marked, not checked", "", "        - {name: session, in: cookie, schema: {type: string}}", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, op := contractWith(t, tt.mark, tt.params, tt.body)
			err := Check(doc, op)
			if got := ""; err != nil {
				got = err.Error()
				if got != tt.want {
					t.Fatalf("Check: %q, want %q", got, tt.want)
				}
			} else if tt.want != "" {
				t.Fatalf("Check: nil, want %q", tt.want)
			}
		})
	}
}

func TestSchemas(t *testing.T) {
	t.Parallel()
	doc, op := contractWith(t, "      x-mcp: true",
		"        - {name: Idempotency-Key, in: header, required: true, description: the key, schema: {type: string}}\n"+
			"        - {name: tags, in: query, explode: false, schema: {type: array, items: {type: string}}}",
		"      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/Node'}}}}")
	args, in, err := inputSchema(op, doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"$defs":{"Node":{"properties":{"children":{"items":{"$ref":"#/$defs/Node"},"type":"array"},"name":{"type":"string"}},"type":"object"}},` +
		`"additionalProperties":false,"properties":{"body":{"$ref":"#/$defs/Node"},` +
		`"idempotencyKey":{"description":"the key","type":"string"},` +
		`"tags":{"items":{"type":"string"},"type":"array"},` +
		`"thingId":{"pattern":"^t_[0-9]+$","type":"string"}},` +
		`"required":["thingId","idempotencyKey","body"],"type":"object"}`
	if string(in) != want {
		t.Fatalf("input schema\n got %s\nwant %s", in, want)
	}
	var names []string
	for _, a := range args {
		names = append(names, a.name+":"+a.in)
	}
	if !slices.Equal(names, []string{"thingId:path", "idempotencyKey:header", "tags:query", "body:body"}) {
		t.Fatalf("arguments %v", names)
	}
	out, err := outputSchema(op, doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), `{"$defs":{"Node":`) || !strings.Contains(string(out), `"$ref":"#/$defs/Node"`) {
		t.Fatalf("output schema %s", out)
	}
	if a := annotations(op, args); a.ReadOnlyHint || !a.IdempotentHint {
		t.Fatalf("annotations %+v", a)
	}
}

func TestArgumentText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		explode bool
		want    []string
	}{
		{`"a b"`, true, []string{"a b"}},
		{`42`, true, []string{"42"}},
		{`true`, true, []string{"true"}},
		{`["x","y"]`, true, []string{"x", "y"}},
		{`["x",2]`, false, []string{"x,2"}},
		{`{"a":1}`, true, []string{`{"a":1}`}}, // the gateway's validation refuses it
	}
	for _, tt := range tests {
		if got := queryValues(json.RawMessage(tt.raw), tt.explode); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("queryValues(%s, %v) = %q, want %q", tt.raw, tt.explode, got, tt.want)
		}
	}
}

func TestAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept []string
		want   bool
	}{
		{[]string{"application/json, text/event-stream"}, true},
		{[]string{"application/json", "text/event-stream"}, true},
		{[]string{"*/*"}, true},
		{[]string{"application/json;q=0.9, text/*"}, true},
		{[]string{"application/json"}, false},
		{[]string{"text/event-stream"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := accepts(tt.accept); got != tt.want {
			t.Errorf("accepts(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}

func TestRecorderResult(t *testing.T) {
	t.Parallel()
	rec := &recorder{header: http.Header{"Retry-After": {"7"}}}
	rec.WriteHeader(http.StatusTooManyRequests)
	_, _ = rec.Write([]byte(`{"success":false,"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Rate limit exceeded"},"meta":{"requestId":"r1"}}`))
	res := rec.result()
	got, _ := json.Marshal(res.StructuredContent)
	if !res.IsError || string(got) != `{"status":429,"code":"RATE_LIMIT_EXCEEDED","message":"Rate limit exceeded","retryAfter":7}` {
		t.Fatalf("result %s (isError %v)", got, res.IsError)
	}
	// An answer that is no envelope is an internal error, not a success.
	rec = &recorder{header: http.Header{}}
	_, _ = rec.Write([]byte(`<html>`))
	if res := rec.result(); !res.IsError {
		t.Fatal("a body that is no envelope became a success")
	}
}
