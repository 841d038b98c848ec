package codegen

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/util"

	"github.com/contractgate/contractgate/internal/engine/binding"
)

// boundOp is the glue of one bound operation, ready to print.
type boundOp struct {
	ID           string   // the public operationId, as written (getProduct)
	GoName       string   // its Go name in the gateway package (GetProduct)
	Service      string   // the upstream (catalog)
	Call         string   // the upstream client method (GetProduct, CreateOrderWithBody)
	Args         []string // path arguments of the call, in order
	Params       []string // statements filling the upstream's params object
	HasParam     bool     // the call takes &params
	Body         bool     // the call sends the public body as JSON
	BodyField    string   // the public request object's body field (Body, JSONBody)
	BodyOptional bool     // the public body may be absent (then the upstream gets none)
	NoBody       bool     // the upstream's optional body is never sent
	Identity     bool     // a source reads auth.subject
	Helpers      []string // generic helpers used (set, deref)
}

// opInfo is one operation of a contract: its oapi-codegen definition (Go names and types).
type opInfo struct {
	codegen.OperationDefinition
	// under is the Go type underneath each parameter's type (in + "." + name): string for a
	// $ref to a string enum, whose Schema.GoType is the enum's name.
	under map[string]string
}

// underlying is the Go type of p's schema with any $ref removed, under the naming state of the
// last Generate.
func underlying(p codegen.ParameterDefinition) string {
	if p.Spec.Schema == nil || p.Spec.Schema.Value == nil {
		return p.Schema.GoType
	}
	s, err := codegen.GenerateGoSchema(openapi3.NewSchemaRef("", p.Spec.Schema.Value), nil)
	if err != nil {
		return p.Schema.GoType
	}
	return s.GoType
}

// definitions runs oapi-codegen's own naming on spec with cfg, so the Go names and types used
// by the glue are exactly those of the generated package, and returns the operations by
// operationId as written.
func definitions(spec *openapi3.T, cfg codegen.Configuration, ids []string) (map[string]opInfo, error) {
	// Generate sets oapi-codegen's naming state (name normalizer, type mappings) from cfg.
	// Keeping the operationIds as written changes no Go name; it only stops oapi-codegen from
	// rewriting them in spec, where they are looked up.
	cfg.Compatibility.PreserveOriginalOperationIdCasingInEmbeddedSpec = true
	if _, err := codegen.Generate(spec, cfg); err != nil {
		return nil, err
	}
	defs, err := codegen.OperationDefinitions(spec)
	if err != nil {
		return nil, err
	}
	out := map[string]opInfo{}
	for _, d := range defs {
		id := d.SpecOperationId
		if ids != nil && !slices.Contains(ids, id) {
			continue
		}
		info := opInfo{OperationDefinition: d, under: map[string]string{}}
		for _, p := range d.AllParams() {
			info.under[p.In+"."+p.ParamName] = underlying(p)
		}
		out[id] = info
	}
	return out, nil
}

type parsed struct {
	id string
	b  *binding.Binding
}

// resolveBindings reads the x-upstream extensions of the public contract at publicPath and resolves
// each against the upstream contracts in upDir (names: the registry). It returns the glue of
// every bound operation, or every error, each naming the operation and the field.
func resolveBindings(publicPath string, gw config, upDir string, names []string) ([]boundOp, error) {
	public, err := util.LoadSwagger(publicPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", publicPath, err)
	}
	// Parse first: oapi-codegen normalizes the operationIds of the spec it is given.
	var bound []parsed
	var errs []error
	for _, path := range public.Paths.InMatchingOrder() {
		ops := public.Paths.Value(path).Operations()
		for _, method := range sortedKeys(ops) {
			op := ops[method]
			b, ok, err := binding.Parse(op)
			switch {
			case err != nil:
				errs = append(errs, err)
			case ok && op.OperationID == "":
				errs = append(errs, fmt.Errorf("%s %s: %s: a bound operation needs an operationId", method, path, binding.Extension))
			case ok:
				bound = append(bound, parsed{id: op.OperationID, b: b})
			}
		}
	}
	if len(bound) == 0 || len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	slices.SortFunc(bound, func(a, b parsed) int { return strings.Compare(a.id, b.id) })

	ids := make([]string, len(bound))
	for i, p := range bound {
		ids[i] = p.id
	}
	pubDefs, err := definitions(public, gw.cfg, ids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", publicPath, err)
	}
	upDefs := map[string]map[string]opInfo{}
	for _, p := range bound {
		if _, done := upDefs[p.b.Service]; done || !slices.Contains(names, p.b.Service) {
			continue
		}
		path := filepath.Join(upDir, p.b.Service+".yaml")
		spec, err := util.LoadSwagger(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		src, err := upstreamConfig(p.b.Service)
		if err != nil {
			return nil, err
		}
		cfg, err := parseConfig(path, src)
		if err != nil {
			return nil, err
		}
		if upDefs[p.b.Service], err = definitions(spec, cfg.cfg, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}

	var out []boundOp
	for _, p := range bound {
		r := resolver{id: p.id, b: p.b, pub: pubDefs[p.id]}
		if !slices.Contains(names, p.b.Service) {
			errs = append(errs, r.fail("service", "no upstream %q (no upstreams/%s.yaml)", p.b.Service, p.b.Service))
			continue
		}
		up, ok := upDefs[p.b.Service][p.b.Operation]
		if !ok {
			errs = append(errs, r.fail("operation", "%s has no operation %q", p.b.Service, p.b.Operation))
			continue
		}
		r.up = up
		g := r.resolve()
		if len(r.errs) > 0 {
			errs = append(errs, r.errs...)
			continue
		}
		out = append(out, g)
	}
	return out, joinSorted(errs)
}

// joinSorted joins errs in the order of their messages, so that the output is deterministic.
func joinSorted(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// resolver resolves one binding; errors accumulate in errs.
type resolver struct {
	id   string
	b    *binding.Binding
	pub  opInfo
	up   opInfo
	errs []error
	g    boundOp
}

func (r *resolver) fail(field, format string, args ...any) error {
	return fmt.Errorf("%s: %s.%s: %s", r.id, binding.Extension, field, fmt.Sprintf(format, args...))
}

func (r *resolver) errorf(field, format string, args ...any) {
	r.errs = append(r.errs, r.fail(field, format, args...))
}

// upName names the upstream operation in messages: "catalog getProduct".
func (r *resolver) upName() string { return r.b.Service + " " + r.b.Operation }

func (r *resolver) resolve() boundOp {
	r.g = boundOp{ID: r.id, GoName: r.pub.OperationId, Service: r.b.Service, Call: r.up.OperationId}

	upParams := slices.Concat(r.up.PathParams, r.up.QueryParams, r.up.HeaderParams, r.up.CookieParams)
	for _, name := range sortedKeys(r.b.Params) {
		if !slices.ContainsFunc(upParams, func(p codegen.ParameterDefinition) bool { return p.ParamName == name }) {
			r.errorf("params."+name, "%s has no parameter %q", r.upName(), name)
		}
	}
	r.g.HasParam = r.up.RequiresParamObject()
	for _, p := range upParams {
		r.param(p)
	}
	r.body()
	r.data()
	return r.g
}

// source is where an upstream parameter's value comes from.
type source struct {
	expr    string // Go expression
	ptr     bool   // expr is a pointer (an optional public parameter)
	typ     string // package-qualified Go type of the value (empty for an untyped constant)
	under   string // the Go type underneath (the schema's)
	deflt   string // the public parameter's default as an untyped constant, or ""
	literal bool   // expr is an untyped constant
	desc    string // for messages
}

// param fills one upstream parameter from its source.
func (r *resolver) param(u codegen.ParameterDefinition) {
	field := "params." + u.ParamName
	src, explicit := r.b.Params[u.ParamName] // keyed by the upstream's name as written (as the runtime)
	var s source
	var ok bool
	if explicit {
		s, ok = r.explicit(field, src, u)
		if !ok {
			return
		}
	} else {
		p := findParam(r.pub.OperationDefinition, u.In, u.ParamName)
		if p == nil {
			if u.Required {
				r.errorf(field, "%s requires %s parameter %q and no source fills it (no public %s parameter %q, no params.%s)",
					r.upName(), u.In, u.ParamName, u.In, u.ParamName, u.ParamName)
			}
			return
		}
		s = r.publicSource(*p)
	}

	dstPtr := u.In != "path" && u.HasOptionalPointer()
	dstType := qualify(r.b.Service, u.TypeDef())
	convert := func(e string) string {
		if s.literal || s.typ == dstType || s.under != r.up.under[u.In+"."+u.ParamName] || !basicTypes[s.under] {
			return e
		}
		return dstType + "(" + e + ")"
	}
	needsConv := convert("x") != "x"

	var value string // the value (not a pointer) to pass, or "" when assigned directly
	switch {
	case s.ptr && s.deflt != "":
		r.helper("deref")
		value = convert("deref(" + s.expr + ", " + s.deflt + ")")
	case s.ptr && !dstPtr:
		r.errorf(field, "%s requires %s parameter %q but its source %s is optional in the public operation and has no default",
			r.upName(), u.In, u.ParamName, s.desc)
		return
	case s.ptr && !needsConv:
		r.g.Params = append(r.g.Params, "params."+u.GoName()+" = "+s.expr)
		return
	case s.ptr:
		r.helper("set")
		r.g.Params = append(r.g.Params, fmt.Sprintf("if v := %s; v != nil {\nset(&params.%s, %s)\n}", s.expr, u.GoName(), convert("*v")))
		return
	default:
		value = convert(s.expr)
	}
	switch {
	case u.In == "path":
		r.g.Args = append(r.g.Args, value)
	case dstPtr:
		r.helper("set")
		r.g.Params = append(r.g.Params, "set(&params."+u.GoName()+", "+value+")")
	default:
		r.g.Params = append(r.g.Params, "params."+u.GoName()+" = "+value)
	}
}

func (r *resolver) helper(name string) {
	if !slices.Contains(r.g.Helpers, name) {
		r.g.Helpers = append(r.g.Helpers, name)
	}
}

// explicit resolves a source written in x-upstream.params.
func (r *resolver) explicit(field, src string, u codegen.ParameterDefinition) (source, bool) {
	place, name, err := binding.ParseSource(src)
	if err != nil {
		r.errorf(field, "%v", err)
		return source{}, false
	}
	switch place {
	case binding.SourceAuth:
		r.g.Identity = true
		return source{expr: "id.Subject", typ: "string", under: "string", desc: src}, true
	case binding.SourceConst:
		lit, err := literal(u.Spec.Schema, name)
		if err != nil {
			r.errorf(field, "%s: %v", src, err)
			return source{}, false
		}
		return source{expr: lit, literal: true, desc: src}, true
	}
	p := findParam(r.pub.OperationDefinition, place, name)
	if p == nil {
		r.errorf(field, "source %s: the public operation has no %s parameter %q", src, place, name)
		return source{}, false
	}
	return r.publicSource(*p), true
}

// publicSource is the Go expression of a public parameter in the strict server's request object.
func (r *resolver) publicSource(p codegen.ParameterDefinition) source {
	s := source{typ: qualify("gateway", p.TypeDef()), under: r.pub.under[p.In+"."+p.ParamName], desc: p.In + "." + p.ParamName}
	if p.In == "path" {
		s.expr = "request." + exported(p.GoName())
		return s
	}
	s.expr = "request.Params." + p.GoName()
	s.ptr = p.HasOptionalPointer()
	if p.Spec.Schema != nil && p.Spec.Schema.Value != nil && p.Spec.Schema.Value.Default != nil {
		if lit, err := literal(p.Spec.Schema, fmt.Sprint(p.Spec.Schema.Value.Default)); err == nil {
			s.deflt = lit
		}
	}
	return s
}

// sameParam reports whether name (of a source or the implied same-name rule) names p; header
// names ignore case.
func sameParam(p codegen.ParameterDefinition, name string) bool {
	return p.ParamName == name || (p.In == "header" && strings.EqualFold(p.ParamName, name))
}

// findParam finds the parameter of op in place with name (header names ignore case).
func findParam(op codegen.OperationDefinition, place, name string) *codegen.ParameterDefinition {
	for _, p := range op.AllParams() {
		if p.In != place {
			continue
		}
		if sameParam(p, name) {
			return &p
		}
	}
	return nil
}

// literal renders value as an untyped Go constant of the schema's type.
func literal(ref *openapi3.SchemaRef, value string) (string, error) {
	if ref == nil || ref.Value == nil {
		return "", errors.New("the parameter has no schema")
	}
	t := ref.Value.Type
	switch {
	case t.Is("string"):
		return strconv.Quote(value), nil
	case t.Is("integer"):
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return "", fmt.Errorf("%q is not an integer", value)
		}
		return value, nil
	case t.Is("number"):
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return "", fmt.Errorf("%q is not a number", value)
		}
		return value, nil
	case t.Is("boolean"):
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", fmt.Errorf("%q is not a boolean", value)
		}
		return strconv.FormatBool(b), nil
	}
	return "", fmt.Errorf("a constant needs a string, integer, number or boolean parameter, not %v", t.Slice())
}

var basicTypes = map[string]bool{
	"string": true, "bool": true, "int": true, "int8": true, "int16": true, "int32": true,
	"int64": true, "uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"float32": true, "float64": true, "byte": true, "rune": true,
}

var ident = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// qualify qualifies a type declared in the generated package pkg (a bare identifier that is not
// a predeclared type) with the package name.
func qualify(pkg, typ string) string {
	if ident.MatchString(typ) && !basicTypes[typ] && typ != "any" && typ != "error" {
		return pkg + "." + typ
	}
	return typ
}

// body maps the request body: the public JSON body as is, when both operations declare one
// (or x-upstream.body says so).
func (r *resolver) body() {
	pubJSON, upJSON := jsonBody(r.pub.OperationDefinition), jsonBody(r.up.OperationDefinition)
	switch {
	case r.up.HasBody() && !upJSON:
		r.errorf("body", "%s takes a request body that is not JSON", r.upName())
	case r.b.Body == "body" && !pubJSON:
		r.errorf("body", "the public operation declares no JSON request body")
	case r.b.Body == "body" && !r.up.HasBody():
		r.errorf("body", "%s takes no request body", r.upName())
	case r.up.HasBody() && !pubJSON && r.up.BodyRequired:
		r.errorf("body", "%s requires a request body and the public operation declares no JSON body to fill it", r.upName())
	case r.up.HasBody() && !pubJSON:
		r.g.Call += "WithBody" // an optional upstream body, not sent
		r.g.NoBody = true
	case r.up.HasBody():
		r.g.Body = true
		r.g.BodyOptional = !r.pub.BodyRequired
		r.g.BodyField = "Body"
		if len(r.pub.Bodies) > 1 {
			r.g.BodyField = "JSONBody"
		}
		r.g.Call += "WithBody"
	}
}

func jsonBody(op codegen.OperationDefinition) bool {
	return op.HasBody() && slices.ContainsFunc(op.Bodies, func(b codegen.RequestBodyDefinition) bool { return b.IsJSON() })
}

// data checks that every property the public data schema requires can come from the upstream
// answer (or its field named by x-upstream.data).
func (r *resolver) data() {
	pubCode, pubResp := success(r.pub.Spec)
	upCode, upResp := success(r.up.Spec)
	if pubResp == nil {
		return
	}
	pubData := props(pubResp).props["data"]
	if pubData == nil {
		return
	}
	what := fmt.Sprintf("%s's answer (%s)", r.upName(), upCode)
	if upResp == nil {
		r.errorf("data", "%s has no JSON success answer for the public data (%s)", r.upName(), pubCode)
		return
	}
	if f := r.b.Field(); f != "" {
		p := props(upResp)
		if p.props[f] == nil && !p.open {
			r.errorf("data", "%s has no field %q", what, f)
			return
		}
		upResp = p.props[f]
		what = fmt.Sprintf("field %q of %s", f, what)
	}
	for _, m := range missing(pubData, upResp, "data") {
		r.errorf("data", "the public schema requires %s, which %s does not provide", m, what)
	}
}

// success is the first 2xx answer of op with a JSON schema.
func success(op *openapi3.Operation) (string, *openapi3.Schema) {
	if op == nil || op.Responses == nil {
		return "", nil
	}
	codes := sortedKeys(op.Responses.Map())
	for _, code := range codes {
		if !strings.HasPrefix(code, "2") {
			continue
		}
		resp := op.Responses.Value(code)
		if resp == nil || resp.Value == nil {
			continue
		}
		for _, ct := range sortedKeys(resp.Value.Content) {
			mt := resp.Value.Content[ct]
			if strings.Contains(ct, "json") && mt.Schema != nil && mt.Schema.Value != nil {
				return code, mt.Schema.Value
			}
		}
	}
	return "", nil
}

type propSet struct {
	props    map[string]*openapi3.Schema
	required []string
	open     bool // the schema may carry properties it does not declare
}

// props collects the declared properties and required names of s, through allOf.
func props(s *openapi3.Schema) propSet {
	ps := propSet{props: map[string]*openapi3.Schema{}}
	var walk func(s *openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil {
			return
		}
		for name, p := range s.Properties {
			if p != nil && p.Value != nil {
				ps.props[name] = p.Value
			}
		}
		ps.required = append(ps.required, s.Required...)
		if len(s.OneOf) > 0 || len(s.AnyOf) > 0 {
			ps.open = true
		}
		if ap := s.AdditionalProperties; (ap.Has != nil && *ap.Has) || ap.Schema != nil {
			ps.open = true
		}
		for _, a := range s.AllOf {
			if a != nil {
				walk(a.Value)
			}
		}
	}
	walk(s)
	if len(ps.props) == 0 && !s.Type.Is("array") && !s.Type.Is("string") && !s.Type.Is("integer") &&
		!s.Type.Is("number") && !s.Type.Is("boolean") {
		ps.open = true // a free-form object
	}
	slices.Sort(ps.required)
	ps.required = slices.Compact(ps.required)
	return ps
}

// missing lists the properties pub requires that up does not declare, as paths from prefix
// (data.price, data[].price, data.owner.name).
func missing(pub, up *openapi3.Schema, prefix string) []string {
	if pub == nil || up == nil {
		return nil
	}
	if pub.Type.Is("array") {
		if pub.Items != nil && up.Items != nil {
			return missing(pub.Items.Value, up.Items.Value, prefix+"[]")
		}
		return nil
	}
	p, u := props(pub), props(up)
	if u.open {
		return nil
	}
	var out []string
	for _, name := range p.required {
		us, ok := u.props[name]
		if !ok {
			out = append(out, prefix+"."+name)
			continue
		}
		out = append(out, missing(p.props[name], us, prefix+"."+name)...)
	}
	return out
}
