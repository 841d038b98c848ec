// Package validation enforces the contract on every request before its handler runs: path,
// query and header parameters, content type, Accept, and the JSON body, with full OpenAPI
// 3.1 (JSON Schema 2020-12) semantics. Every schema is compiled once at start-up; a request
// only validates. Violations are reported all at once, field by field.
package validation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"github.com/contractgate/contractgate/internal/engine/routes"
	"github.com/contractgate/contractgate/internal/engine/strictjson"
)

// Config tunes validation.
type Config struct {
	// MaxDepth caps the nesting of a JSON body (objects and arrays). Default 64.
	MaxDepth int `yaml:"maxDepth"`
	// MaxDetails caps the violations one 422 VALIDATION_FAILED lists. Validation stops as
	// soon as one more is found, and the error's message then says that more were found.
	// Default 50.
	MaxDetails int `yaml:"maxDetails"`
	// MaxNumberLength caps a number literal in a body or a number parameter, in characters:
	// a longer one is refused (400 MALFORMED_JSON in a body, 422 in a parameter) before any
	// arithmetic on it. Default 1000.
	MaxNumberLength int `yaml:"maxNumberLength"`
	// MaxNumberExponent caps the magnitude of a number literal's exponent as written
	// (1e999999 has 999999), refused like MaxNumberLength. Default 1000.
	MaxNumberExponent int `yaml:"maxNumberExponent"`
	// MaxContainers caps the objects and arrays of a JSON body, counted before the body is
	// decoded: more answer 400 MALFORMED_JSON. A Go map costs some 300 bytes even for one
	// member, so this bounds what a body of tiny objects costs. Default 10000.
	MaxContainers int `yaml:"maxContainers"`
	// MaxBodyBytesInFlight caps what the request bodies being decoded and validated at once
	// may cost, across all requests: each body is charged its size plus an estimate of what
	// its objects and arrays cost decoded (BytesPerContainer each), so that hostile bodies
	// sent in parallel cannot multiply their memory (one client with 64 connections sending
	// 1 MiB bodies took 1 GiB without it). A body that finds no room waits up to BodyWait,
	// then answers 503 UPSTREAM_OVERLOADED with Retry-After. The charge is returned once the
	// body is validated. At least the largest body the server accepts (server.bodyLimit).
	// Default 8388608 (8 MiB), or twice server.bodyLimit when that is more.
	MaxBodyBytesInFlight int64 `yaml:"maxBodyBytesInFlight"`
	// BodyWait is how long a body waits for room under MaxBodyBytesInFlight. Default 2s.
	BodyWait time.Duration `yaml:"bodyWait"`
	// Skip names request headers the validator leaves to another middleware (for example
	// Idempotency-Key, which has its own 400 errors). Canonical form. Set by the server.
	Skip []string `yaml:"-"`
}

// SetDefaults fills every unset field with its documented default.
func (c *Config) SetDefaults() {
	if c.MaxDepth == 0 {
		c.MaxDepth = strictjson.DefaultMaxDepth
	}
	if c.MaxDetails == 0 {
		c.MaxDetails = 50
	}
	if c.MaxNumberLength == 0 {
		c.MaxNumberLength = strictjson.DefaultMaxNumberLength
	}
	if c.MaxNumberExponent == 0 {
		c.MaxNumberExponent = strictjson.DefaultMaxNumberExponent
	}
	if c.MaxContainers == 0 {
		c.MaxContainers = 10_000
	}
	if c.MaxBodyBytesInFlight == 0 {
		c.MaxBodyBytesInFlight = DefaultMaxBodyBytesInFlight
	}
	if c.BodyWait == 0 {
		c.BodyWait = DefaultBodyWait
	}
}

// Defaults of the body budget (Config.MaxBodyBytesInFlight, Config.BodyWait).
const (
	DefaultMaxBodyBytesInFlight = 8 << 20
	DefaultBodyWait             = 2 * time.Second
	// BytesPerContainer estimates what one decoded object or array costs (a Go map of a
	// few members, or a slice, and their headers) in the body budget's charge.
	BytesPerContainer = 320
)

// Validate reports every problem, each a *configerr.FieldError with a key path relative to
// the validation configuration.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path string, got, lo, hi int) {
		if got < lo || got > hi {
			errs = append(errs, &configerr.FieldError{Path: path, Problem: fmt.Sprintf("must be between %d and %d, got %d", lo, hi, got)})
		}
	}
	bad("maxDepth", c.MaxDepth, 1, strictjson.MaxDepthLimit)
	bad("maxDetails", c.MaxDetails, 1, 10000)
	bad("maxNumberLength", c.MaxNumberLength, 20, 100000)
	bad("maxNumberExponent", c.MaxNumberExponent, 308, 100000)
	bad("maxContainers", c.MaxContainers, 1, 10_000_000)
	if c.MaxBodyBytesInFlight < 64<<10 {
		errs = append(errs, &configerr.FieldError{Path: "maxBodyBytesInFlight", Problem: fmt.Sprintf("must be at least 65536 bytes, got %d", c.MaxBodyBytesInFlight)})
	}
	if c.BodyWait < 0 {
		errs = append(errs, &configerr.FieldError{Path: "bodyWait", Problem: fmt.Sprintf("must not be negative, got %s", c.BodyWait)})
	}
	return errors.Join(errs...)
}

// Validator holds the compiled checks of every operation. Read-only after New; safe for
// concurrent use.
type Validator struct {
	formatless *formatless
	ops        map[*routes.Operation]*operation
	maxDetails int
	numbers    strictjson.Limits
	// bodies is the budget of bodies being decoded (Config.MaxBodyBytesInFlight).
	bodies    *semaphore.Weighted
	maxBodies int64
	bodyWait  time.Duration
}

type operation struct {
	params []*param
	body   *body
}

type body struct {
	required bool
	schema   *schema
}

// New compiles the checks of every operation in table, from the contract the table was built
// from. cfg must be defaulted (Config.SetDefaults, which config.Load applies); New validates
// it.
func New(cfg Config, table *routes.Table) (*Validator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	if table == nil || table.Doc() == nil {
		return nil, errors.New("validation: a route table built from a contract is required")
	}
	full, tree, err := newCompiler(table.Doc())
	if err != nil {
		return nil, err
	}
	c := &compilers{full: full, fast: newFastCompiler(tree, full)}
	fl, err := newFormatless(tree)
	if err != nil {
		return nil, err
	}
	v := &Validator{ops: map[*routes.Operation]*operation{}, formatless: fl,
		maxDetails: cfg.MaxDetails, numbers: strictjson.Limits{MaxDepth: cfg.MaxDepth, MaxNumberLength: cfg.MaxNumberLength, MaxNumberExponent: cfg.MaxNumberExponent, MaxContainers: cfg.MaxContainers},
		bodies: semaphore.NewWeighted(cfg.MaxBodyBytesInFlight), maxBodies: cfg.MaxBodyBytesInFlight, bodyWait: cfg.BodyWait}
	for _, op := range table.All() {
		compiled, err := compileOperation(c, op, cfg.Skip)
		if err != nil {
			return nil, fmt.Errorf("validation: operation %s: %w", op.ID, err)
		}
		v.ops[op] = compiled
	}
	return v, nil
}

func compileOperation(c *compilers, op *routes.Operation, skip []string) (*operation, error) {
	out := &operation{}
	params, err := compileParams(c, op, skip)
	if err != nil {
		return nil, err
	}
	out.params = params
	rb := op.Op.RequestBody
	if rb == nil || rb.Value == nil {
		return out, nil
	}
	base := op.Pointer + "/requestBody"
	if rb.Ref != "" {
		base = refPointer(rb.Ref)
	}
	mt := rb.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil, errors.New("request body must declare application/json with a schema")
	}
	s, err := c.compile(base + "/content/application~1json/schema")
	if err != nil {
		return nil, err
	}
	out.body = &body{required: rb.Value.Required, schema: s}
	return out, nil
}

// Middleware validates the request of every contract operation (after routes.Match) and
// passes the validated body on to the generated handler. Requests outside the contract pass
// through untouched.
func (v *Validator) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			rop := routes.Current(c)
			if rop == nil {
				return next(c)
			}
			op := v.ops[rop]
			req := c.Request()
			if !acceptsJSON(req.Header.Get(echo.HeaderAccept)) {
				return apierror.ErrNotAcceptable
			}
			out := &collector{max: v.maxDetails}
			if len(op.params) > 0 {
				if err := v.validateParams(c, op, out); err != nil {
					return err
				}
			}
			if op.body != nil {
				if err := v.validateBody(c, op.body, out); err != nil {
					return err
				}
			}
			if len(out.out) > 0 {
				sortDetails(out.out)
				e := apierror.ErrValidationFailed.WithDetails(out.out...)
				if out.more {
					e = e.WithMessage("Request validation failed: more than %d violations; the first %d found are listed", len(out.out), len(out.out))
				}
				return e
			}
			return next(c)
		}
	}
}

// validateBody reads, decodes strictly and validates the body, then leaves the validated
// value on the request for the generated handler (which binds it instead of decoding again).
func (v *Validator) validateBody(c echo.Context, b *body, out *collector) error {
	req := c.Request()
	if err := checkContentEncoding(req.Header.Values(echo.HeaderContentEncoding)); err != nil {
		return err
	}
	empty := req.ContentLength == 0 || req.Body == nil || req.Body == http.NoBody
	if empty && req.Header.Get(echo.HeaderContentType) == "" {
		if b.required {
			return apierror.ErrMalformedJSON.WithMessage("Request body is required")
		}
		return nil
	}
	if err := checkContentType(req.Header.Get(echo.HeaderContentType)); err != nil {
		return err
	}
	raw, err := readBody(req)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if b.required {
			return apierror.ErrMalformedJSON.WithMessage("Request body is required")
		}
		req.Body = http.NoBody
		return nil
	}
	release, err := v.reserve(req.Context(), raw)
	if err != nil {
		return err
	}
	defer release() // decoding and validating are what cost; the handler only reads the value
	value, err := strictjson.DecodeLimits(raw, v.numbers)
	if err != nil {
		return apierror.ErrMalformedJSON.WithMessage("Request body is not well-formed JSON: %s", malformed(err)).Wrap(err)
	}
	n := len(out.out)
	b.schema.explain(&walk{v: v, c: out, prefix: "body"}, value)
	if len(out.out) > n || out.full() {
		return nil
	}
	if mayHoldFractionalNumbers(raw) {
		value = canonicalNumbers(value)
	}
	req.Body = &validatedBody{Reader: bytes.NewReader(raw), value: value}
	return nil
}

// reserve charges the budget of bodies being decoded for raw (read already: a slow upload
// holds no budget), waiting up to bodyWait for room. The returned release gives the charge
// back; call it exactly once.
func (v *Validator) reserve(ctx context.Context, raw []byte) (release func(), err error) {
	charge := min(int64(len(raw))+BytesPerContainer*int64(bytes.Count(raw, []byte("{"))+bytes.Count(raw, []byte("["))), v.maxBodies)
	if !v.bodies.TryAcquire(charge) {
		wctx, cancel := context.WithTimeout(ctx, v.bodyWait)
		defer cancel()
		if err := v.bodies.Acquire(wctx, charge); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err() // the client went away
			}
			return nil, errBodiesBusy.Wrap(err)
		}
	}
	return func() { v.bodies.Release(charge) }, nil
}

// errBodiesBusy answers a body that found no room in the budget of bodies being decoded.
var errBodiesBusy = apierror.ErrUpstreamOverloaded.
	WithMessage("The gateway is busy decoding other request bodies; retry later").
	WithHeader("Retry-After", "1")

// mayHoldFractionalNumbers is a cheap filter for canonicalNumbers: a digit followed by '.',
// 'e' or 'E' somewhere in the body (numbers such as 1.0 or 1e2; text may match too).
func mayHoldFractionalNumbers(raw []byte) bool {
	for i := 1; i < len(raw); i++ {
		if c := raw[i]; (c == '.' || c == 'e' || c == 'E') && raw[i-1] >= '0' && raw[i-1] <= '9' {
			return true
		}
	}
	return false
}

// canonicalNumbers rewrites integral numbers written with a fraction or exponent (1.0, 1e2)
// as plain integers, so that a value the contract accepts as an integer also binds to the
// generated model's integer field. Values are unchanged; the tree is edited in place.
func canonicalNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			return x
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return json.Number(strconv.FormatInt(int64(f), 10))
		}
	case map[string]any:
		for k, e := range x {
			if n := canonicalNumbers(e); !sameNumber(n, e) {
				x[k] = n
			}
		}
	case []any:
		for i, e := range x {
			x[i] = canonicalNumbers(e)
		}
	}
	return v
}

func sameNumber(a, b any) bool {
	na, ok1 := a.(json.Number)
	nb, ok2 := b.(json.Number)
	return !ok1 || !ok2 || na == nb
}

// malformed describes a strict JSON rejection to the client in the gateway's own words.
func malformed(err error) string {
	se, ok := errors.AsType[*strictjson.SyntaxError](err)
	if !ok {
		return "it could not be decoded"
	}
	switch se.Reason {
	case strictjson.ReasonTruncated:
		return fmt.Sprintf("the body ends before the JSON value is complete (at byte %d)", se.Offset)
	case strictjson.ReasonInvalidSyntax:
		return fmt.Sprintf("a JSON syntax error at byte %d (NaN, Infinity, comments, single quotes and trailing commas are not JSON)", se.Offset)
	}
	return se.Error()
}

// validatedBody carries the validated value to the generated strict handler, which binds it
// with exact member-name matching (oapi-codegen's ValidatedValue contract) instead of
// decoding the bytes a second time.
type validatedBody struct {
	*bytes.Reader
	value any
}

func (b *validatedBody) Close() error { return nil }

// ValidatedValue returns the decoded, validated body.
func (b *validatedBody) ValidatedValue() any { return b.value }

func readBody(req *http.Request) ([]byte, error) {
	size := req.ContentLength
	if size < 0 || size > 1<<20 {
		size = 512
	}
	// ReadFrom wants bytes.MinRead free bytes before each read: with less, it would grow
	// (copy) a buffer already the size of the body just to read the end of input.
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(req.Body); err != nil {
		if he, ok := errors.AsType[*echo.HTTPError](err); ok && he.Code == http.StatusRequestEntityTooLarge {
			return nil, apierror.ErrPayloadTooLarge.Wrap(err)
		}
		return nil, apierror.ErrMalformedJSON.WithMessage("Request body could not be read completely").Wrap(err)
	}
	return buf.Bytes(), nil
}

// checkContentType accepts application/json (the one request media type the contract's
// operations declare) in UTF-8. A Content-Type that is not a well-formed media type
// (RFC 9110 section 8.3, e.g. "application/json; ;;; =\"") is refused like any other.
func checkContentType(ct string) error {
	if ct == "application/json" || strings.EqualFold(ct, "application/json; charset=utf-8") {
		return nil
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return apierror.ErrUnsupportedMediaType.WithMessage("Content-Type is not a well-formed media type").Wrap(err)
	}
	if mediaType != "application/json" {
		return apierror.ErrUnsupportedMediaType.WithMessage("Content-Type must be application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return apierror.ErrUnsupportedMediaType.WithMessage("Only the UTF-8 charset is accepted")
	}
	return nil
}

// checkContentEncoding refuses a body in any content coding but identity: the gateway
// decodes none, and would otherwise read compressed bytes as JSON or pass them on. The 415
// names the one coding accepted in Accept-Encoding (RFC 9110 section 12.5.3).
func checkContentEncoding(values []string) error {
	for _, v := range values {
		for coding := range strings.SplitSeq(v, ",") {
			if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
				return apierror.ErrUnsupportedMediaType.
					WithMessage("Content-Encoding is not supported: send the body without a content coding").
					WithHeader("Accept-Encoding", "identity")
			}
		}
	}
	return nil
}

// acceptsJSON reports whether an Accept header allows the operation's JSON answer: the
// most specific range matching application/json (exact, then application/*, then */*)
// decides its quality (RFC 9110 section 12.5.1); application/problem+json, in which errors
// can be answered, also counts.
func acceptsJSON(accept string) bool {
	if accept == "" || accept == "*/*" || accept == "application/json" {
		return true
	}
	jsonQ, jsonSpec, problemZero, problem := false, -1, false, false
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		spec := -1
		switch mt {
		case "*/*":
			spec = 0
		case "application/*":
			spec = 1
		case "application/json":
			spec = 2
		case "application/problem+json":
			problem, problemZero = true, zeroQuality(params)
			continue
		}
		if spec > jsonSpec {
			jsonSpec, jsonQ = spec, !zeroQuality(params)
		}
	}
	return jsonSpec >= 0 && jsonQ || problem && !problemZero
}

func zeroQuality(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			v = strings.TrimSpace(v)
			return v == "0" || strings.HasPrefix(v, "0.") && strings.Trim(v[2:], "0") == ""
		}
	}
	return false
}

func sortDetails(d []apierror.Detail) {
	sort.SliceStable(d, func(i, j int) bool {
		if d[i].Field != d[j].Field {
			return d[i].Field < d[j].Field
		}
		return d[i].Constraint < d[j].Constraint
	})
}

// refPointer turns a local $ref ("#/components/...") into a JSON pointer.
func refPointer(ref string) string {
	p, _ := url.PathUnescape(strings.TrimPrefix(ref, "#"))
	return p
}
