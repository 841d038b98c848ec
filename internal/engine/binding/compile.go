package binding

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/validation"
)

// compiled is what a bound operation needs per request, resolved once by New.
type compiled struct {
	// success reports the upstream operation's declared 2xx statuses; range2xx is set when
	// it declares 2XX.
	success  map[int]bool
	range2xx bool
	// field is the top-level field of the upstream answer that is the public data ("" for
	// the whole answer).
	field string
	// project drops what the public data schema does not declare.
	project *proj
	// schemas validate the projected data: the public data schema (several when an allOf
	// of the envelope declares data more than once).
	schemas []*validation.Schema
	// status is the public operation's success status.
	status int
}

// located is an operation with the path and method it is declared at.
type located struct {
	path, method string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

func newSet(public *openapi3.T, upstreams map[string]*openapi3.T) (*Set, error) {
	if public == nil || public.Paths == nil {
		return nil, errors.New("binding: no public contract")
	}
	s := &Set{ops: map[string]*Op{}}
	var schemas *validation.Schemas // compiled on the first bound operation
	var errs []error
	for _, at := range operations(public) {
		b, ok, err := Parse(at.op)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		if at.op.OperationID == "" {
			errs = append(errs, fmt.Errorf("%s %s: %s needs an operationId", at.method, at.path, Extension))
			continue
		}
		if schemas == nil {
			if schemas, err = validation.NewSchemas(public); err != nil {
				return nil, fmt.Errorf("binding: compiling the public contract: %w", err)
			}
		}
		c, err := compileOp(at, b, upstreams, schemas)
		if err != nil {
			errs = append(errs, fmt.Errorf("operation %s: %w", at.op.OperationID, err))
			continue
		}
		s.ops[at.op.OperationID] = &Op{operationID: at.op.OperationID, binding: *b, c: c}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// operations lists the operations of doc in a stable order (path, then method).
func operations(doc *openapi3.T) []located {
	var out []located
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			out = append(out, located{path: path, method: method, item: item, op: op})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].method < out[j].method
	})
	return out
}

func find(doc *openapi3.T, operationID string) *located {
	for _, at := range operations(doc) {
		if at.op.OperationID == operationID {
			return &at
		}
	}
	return nil
}

// fieldError locates a problem at a field of the extension.
func fieldError(field, format string, args ...any) error {
	return fmt.Errorf("%s.%s: %s", Extension, field, fmt.Sprintf(format, args...))
}

func compileOp(pub located, b *Binding, upstreams map[string]*openapi3.T, schemas *validation.Schemas) (*compiled, error) {
	doc, ok := upstreams[b.Service]
	if !ok || doc == nil || doc.Paths == nil {
		return nil, fieldError("service", "unknown upstream %q (no api/upstreams/%s.yaml)", b.Service, b.Service)
	}
	up := find(doc, b.Operation)
	if up == nil {
		return nil, fieldError("operation", "upstream %s has no operation %q", b.Service, b.Operation)
	}
	if err := checkParams(pub, *up, b); err != nil {
		return nil, err
	}
	if err := checkBody(pub, *up, b); err != nil {
		return nil, err
	}
	c := &compiled{field: b.Field(), success: map[int]bool{}}
	upSchema, err := upstreamSuccess(*up, c)
	if err != nil {
		return nil, err
	}
	if c.field != "" && upSchema != nil {
		if ps := flatten([]*openapi3.Schema{upSchema}); declaresObject(ps) && !declaresField(ps, c.field) {
			return nil, fieldError("data", "the success schema of upstream %s %s declares no field %q", b.Service, b.Operation, c.field)
		}
	}
	status, pointers, data, err := publicData(pub)
	if err != nil {
		return nil, err
	}
	if upData := fieldSchemas(upSchema, c.field); len(upData) > 0 {
		if err := provides(data, upData, "data", 0); err != nil {
			return nil, fmt.Errorf("%w (upstream %s %s)", err, b.Service, b.Operation)
		}
	}
	c.status = status
	c.project = newProjector().compile(data)
	for _, p := range pointers {
		s, err := schemas.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("public data schema %s: %w", p, err)
		}
		c.schemas = append(c.schemas, s)
	}
	return c, nil
}

// fieldSchemas returns the upstream schemas of the public data: the success schema, or the
// schemas of its field.
func fieldSchemas(s *openapi3.Schema, field string) []*openapi3.Schema {
	if s == nil {
		return nil
	}
	if field == "" {
		return []*openapi3.Schema{s}
	}
	var out []*openapi3.Schema
	for _, f := range flatten([]*openapi3.Schema{s}) {
		if ref := f.Properties[field]; ref != nil && ref.Value != nil {
			out = append(out, ref.Value)
		}
	}
	return out
}

// maxProvideDepth bounds how deep provides compares (recursive schemas).
const maxProvideDepth = 16

// provides checks that every property the public schemas require is one the upstream schemas
// declare, recursively through declared properties and array items. Upstream schemas that
// declare no properties (free-form objects) provide anything.
func provides(public, up []*openapi3.Schema, at string, depth int) error {
	if depth > maxProvideDepth {
		return nil
	}
	pub, ups := flatten(public), flatten(up)
	upProps := map[string][]*openapi3.Schema{}
	open := len(ups) == 0
	for _, s := range ups {
		ap := s.AdditionalProperties
		if ap.Schema != nil || (ap.Has != nil && *ap.Has) || (len(s.Properties) == 0 && len(s.AllOf)+len(s.OneOf)+len(s.AnyOf) == 0) {
			open = true
		}
		for name, ref := range s.Properties {
			if ref != nil && ref.Value != nil {
				upProps[name] = append(upProps[name], ref.Value)
			}
		}
	}
	var required []string
	pubProps := map[string][]*openapi3.Schema{}
	for _, s := range pub {
		required = append(required, s.Required...)
		for name, ref := range s.Properties {
			if ref != nil && ref.Value != nil {
				pubProps[name] = append(pubProps[name], ref.Value)
			}
		}
	}
	sort.Strings(required)
	if !open {
		for _, name := range required {
			if _, ok := upProps[name]; !ok {
				return fieldError("data", "the public schema requires %s.%s, which the upstream success schema does not declare", at, name)
			}
		}
	}
	names := make([]string, 0, len(pubProps))
	for name := range pubProps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if u := upProps[name]; len(u) > 0 {
			if err := provides(pubProps[name], u, at+"."+name, depth+1); err != nil {
				return err
			}
		}
	}
	var pubItems, upItems []*openapi3.Schema
	for _, s := range pub {
		if s.Items != nil && s.Items.Value != nil {
			pubItems = append(pubItems, s.Items.Value)
		}
	}
	for _, s := range ups {
		if s.Items != nil && s.Items.Value != nil {
			upItems = append(upItems, s.Items.Value)
		}
	}
	if len(pubItems) > 0 && len(upItems) > 0 {
		return provides(pubItems, upItems, at+"[]", depth+1)
	}
	return nil
}

// params returns the parameters of an operation, the operation's own overriding its path
// item's, keyed by place and name (header names canonical).
func params(at located) map[[2]string]*openapi3.Parameter {
	out := map[[2]string]*openapi3.Parameter{}
	for _, list := range []openapi3.Parameters{at.item.Parameters, at.op.Parameters} {
		for _, ref := range list {
			if p := ref.Value; p != nil {
				out[paramKey(p.In, p.Name)] = p
			}
		}
	}
	return out
}

func paramKey(in, name string) [2]string {
	if in == openapi3.ParameterInHeader {
		name = http.CanonicalHeaderKey(name)
	}
	return [2]string{in, name}
}

// checkParams checks that every listed upstream parameter exists, that every source exists in
// the public operation, and that every required upstream parameter has a source.
func checkParams(pub, up located, b *Binding) error {
	pubParams, upParams := params(pub), params(up)
	byName := map[string]*openapi3.Parameter{}
	for _, p := range upParams {
		byName[p.Name] = p
	}
	names := make([]string, 0, len(b.Params))
	for name := range b.Params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if byName[name] == nil {
			return fieldError("params."+name, "upstream operation %s %s has no parameter %q", b.Service, b.Operation, name)
		}
		place, src, _ := ParseSource(b.Params[name])
		switch place {
		case SourcePath, SourceQuery, SourceHeader:
			if pubParams[paramKey(place, src)] == nil {
				return fieldError("params."+name, "the public operation has no %s parameter %q", place, src)
			}
		}
	}
	var missing []*openapi3.Parameter
	for key, p := range upParams {
		if _, listed := b.Params[p.Name]; listed || !p.Required {
			continue
		}
		if pubParams[key] == nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		sort.Slice(missing, func(i, j int) bool { return missing[i].Name < missing[j].Name })
		p := missing[0]
		return fieldError("params."+p.Name, "required by upstream operation %s %s, and no source fills it (the public operation has no %s parameter %q)",
			b.Service, b.Operation, p.In, p.Name)
	}
	return nil
}

func checkBody(pub, up located, b *Binding) error {
	pubBody := pub.op.RequestBody != nil && pub.op.RequestBody.Value != nil
	upBody := up.op.RequestBody != nil && up.op.RequestBody.Value != nil
	switch {
	case b.Body == "body" && !pubBody:
		return fieldError("body", "the public operation declares no request body")
	case b.Body == "body" && !upBody:
		return fieldError("body", "upstream operation %s %s declares no request body", b.Service, b.Operation)
	case upBody && up.op.RequestBody.Value.Required && !pubBody:
		return fieldError("body", "upstream operation %s %s requires a body and the public operation declares none", b.Service, b.Operation)
	}
	return nil
}

// upstreamSuccess records the upstream operation's 2xx statuses in c and returns the JSON
// schema of its success body (nil when it declares none but a schema-less JSON body).
func upstreamSuccess(up located, c *compiled) (*openapi3.Schema, error) {
	var schema *openapi3.Schema
	hasJSON := false
	for code, ref := range up.op.Responses.Map() {
		switch {
		case strings.EqualFold(code, "2XX"):
			c.range2xx = true
		case len(code) == 3 && code[0] == '2':
			n, err := strconv.Atoi(code)
			if err != nil {
				continue
			}
			c.success[n] = true
		default:
			continue
		}
		if ref.Value == nil {
			continue
		}
		if mt := jsonMedia(ref.Value.Content); mt != nil {
			hasJSON = true
			if mt.Schema != nil && mt.Schema.Value != nil && schema == nil {
				schema = mt.Schema.Value
			}
		}
	}
	if len(c.success) == 0 && !c.range2xx {
		return nil, fieldError("operation", "upstream operation %s declares no 2xx response", up.op.OperationID)
	}
	if !hasJSON {
		return nil, fieldError("operation", "upstream operation %s declares no JSON success body", up.op.OperationID)
	}
	return schema, nil
}

// publicData finds the public operation's success status (its lowest 2xx with a JSON body),
// the JSON pointers of the envelope's data schema and that schema.
func publicData(pub located) (int, []string, []*openapi3.Schema, error) {
	status, code := 0, ""
	for c, ref := range pub.op.Responses.Map() {
		n, err := strconv.Atoi(c)
		if err != nil || n < 200 || n > 299 || ref.Value == nil || jsonMedia(ref.Value.Content) == nil {
			continue
		}
		if status == 0 || n < status {
			status, code = n, c
		}
	}
	if status == 0 {
		return 0, nil, nil, errors.New("the public operation declares no 2xx response with an application/json body")
	}
	ref := pub.op.Responses.Value(code)
	at := "/paths/" + escape(pub.path) + "/" + strings.ToLower(pub.method) + "/responses/" + escape(code)
	if ref.Ref != "" {
		p, err := localPointer(ref.Ref)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("public response %s: %w", code, err)
		}
		at = p
	}
	content := ref.Value.Content
	mtName := "application/json"
	if content[mtName] == nil {
		for name, mt := range content {
			if jsonMedia(openapi3.Content{name: mt}) != nil {
				mtName = name
				break
			}
		}
	}
	mt := content[mtName]
	if mt.Schema == nil {
		return 0, nil, nil, fmt.Errorf("public response %s declares no schema", code)
	}
	var pointers []string
	var schemas []*openapi3.Schema
	if err := findData(mt.Schema, at+"/content/"+escape(mtName)+"/schema", &pointers, &schemas, 0); err != nil {
		return 0, nil, nil, fmt.Errorf("public response %s: %w", code, err)
	}
	if len(pointers) == 0 {
		return 0, nil, nil, fmt.Errorf("public response %s: the envelope declares no data property", code)
	}
	return status, pointers, schemas, nil
}

// findData collects the envelope's data property schemas: its own, and those of its allOf.
func findData(ref *openapi3.SchemaRef, at string, pointers *[]string, schemas *[]*openapi3.Schema, depth int) error {
	if ref == nil || ref.Value == nil || depth > 16 {
		return nil
	}
	if ref.Ref != "" {
		p, err := localPointer(ref.Ref)
		if err != nil {
			return err
		}
		at = p
	}
	if d := ref.Value.Properties["data"]; d != nil && d.Value != nil {
		*pointers = append(*pointers, at+"/properties/data")
		*schemas = append(*schemas, d.Value)
	}
	for i, sub := range ref.Value.AllOf {
		if err := findData(sub, at+"/allOf/"+strconv.Itoa(i), pointers, schemas, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// localPointer returns the JSON pointer of a local $ref ("#/components/schemas/X").
func localPointer(ref string) (string, error) {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return "", fmt.Errorf("$ref %q is not local to the contract: internalize the contract's references first (openapi3.T.InternalizeRefs)", ref)
	}
	return p, nil
}

// jsonMedia returns the JSON media type of content: application/json, or any */*+json.
func jsonMedia(content openapi3.Content) *openapi3.MediaType {
	if mt := content["application/json"]; mt != nil {
		return mt
	}
	for name, mt := range content {
		t, _, err := mime.ParseMediaType(name)
		if err == nil && (t == "application/json" || strings.HasSuffix(t, "+json")) {
			return mt
		}
	}
	return nil
}

// escape encodes a JSON pointer token (RFC 6901).
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func (s *Set) op(operationID string) (*Op, error) {
	if s == nil {
		return nil, fmt.Errorf("binding: operation %s is bound but no binding set was given (seam.Deps.Bindings)", operationID)
	}
	o, ok := s.ops[operationID]
	if !ok {
		return nil, fmt.Errorf("binding: operation %s has no %s", operationID, Extension)
	}
	return o, nil
}

func (s *Set) bound() []string {
	ids := make([]string, 0, len(s.ops))
	for id := range s.ops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
