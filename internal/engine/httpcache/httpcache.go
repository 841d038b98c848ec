// Package httpcache caches the answers of GET operations that declare `x-cache` in the
// contract: ETag and Cache-Control on every answer, 304 on a matching If-None-Match, a
// bounded in-memory store of answers with a TTL (keyed so that one caller never sees
// another's private data), and stale-if-error: while the upstream fails, a recent answer is
// served with meta.degraded ["stale"].
package httpcache

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/configerr"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Extension is the contract extension that turns caching on for an operation:
//
//	x-cache: {maxAge: 30s, staleIfError: 10m}
const Extension = "x-cache"

// Config bounds the cache.
type Config struct {
	// Disabled turns caching off (ETag and 304 included). Default false.
	Disabled bool `yaml:"disabled"`
	// MaxEntries bounds the number of stored answers; the least recently used is evicted
	// when full. Default 10000.
	MaxEntries int `yaml:"maxEntries"`
	// MaxBodyBytes: larger answers are not stored. Default 262144 (256 KiB). At most
	// MaxBytes.
	MaxBodyBytes int `yaml:"maxBodyBytes"`
	// MaxBytes bounds the bytes the stored answers hold in total (data, key and a fixed
	// overhead per entry); the least recently used are evicted to stay within it. Default
	// 33554432 (32 MiB).
	MaxBytes int64 `yaml:"maxBytes"`
	// OnBytes, when set, is told the bytes held after every change (for a gauge). It is
	// called with the cache's lock held: it must be quick and must not call the cache.
	OnBytes func(bytes int64) `yaml:"-"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.MaxEntries == 0 {
		c.MaxEntries = 10000
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 256 << 10
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 32 << 20
	}
}

// Validate reports every problem, each a *configerr.FieldError with a key path relative to
// the cache's configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxEntries < 1 {
		errs = append(errs, &configerr.FieldError{Path: "maxEntries", Problem: fmt.Sprintf("must be at least 1, got %d", c.MaxEntries)})
	}
	if c.MaxBodyBytes < 1 {
		errs = append(errs, &configerr.FieldError{Path: "maxBodyBytes", Problem: fmt.Sprintf("must be at least 1, got %d", c.MaxBodyBytes)})
	}
	if c.MaxBytes < 1 {
		errs = append(errs, &configerr.FieldError{Path: "maxBytes", Problem: fmt.Sprintf("must be at least 1, got %d", c.MaxBytes)})
	} else if int64(c.MaxBodyBytes) > c.MaxBytes {
		errs = append(errs, &configerr.FieldError{Path: "maxBodyBytes",
			Problem: fmt.Sprintf("must be at most maxBytes (%d), got %d", c.MaxBytes, c.MaxBodyBytes)})
	}
	return errors.Join(errs...)
}

type policy struct {
	maxAge, staleIfError time.Duration
	private              bool     // secured operation: per caller, Cache-Control private
	query                []string // the declared query parameters, sorted: the key's part
	cacheControl         string   // the Cache-Control of its answers
}

// Cache-Status values of the answers the cache writes.
const (
	statusHit    = "contractgate; hit"
	statusStale  = "contractgate; hit; detail=stale-if-error"
	statusStored = "contractgate; fwd=miss; stored"
)

// entry is one stored answer: the envelope's data and pagination, never its meta.
type entry struct {
	data       json.RawMessage
	pagination *components.Pagination
	etag       string
	stored     time.Time
	key        string
	size       int64 // what the entry is charged against MaxBytes
}

// entryOverhead is charged per entry on top of its data and key: the entry, its list
// element, its map slot, the ETag and the pagination, roughly.
const entryOverhead = 256

// Cache is the middleware's state. Safe for concurrent use.
type Cache struct {
	cfg      Config
	policies map[*routes.Operation]policy
	// secured maps every secured operation to its Vary value: the headers that carry its
	// credentials (see NoStore).
	secured map[*routes.Operation]string
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // of *entry
	lru     *list.List               // most recently used first
	bytes   int64                    // sum of the entries' sizes
}

// New reads every operation's x-cache from the table, once. A malformed extension is an
// error naming the operation. cfg must be defaulted (Config.SetDefaults, which config.Load
// applies); New validates it. Its middlewares (NoStore, Middleware) run after routes.Match.
func New(cfg Config, table *routes.Table) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("httpcache: %w", err)
	}
	c := &Cache{cfg: cfg, policies: map[*routes.Operation]policy{}, secured: map[*routes.Operation]string{},
		now: time.Now, entries: map[string]*list.Element{}, lru: list.New()}
	var schemes openapi3.SecuritySchemes
	if doc := table.Doc(); doc != nil && doc.Components != nil {
		schemes = doc.Components.SecuritySchemes
	}
	for _, op := range table.All() {
		if len(op.Security) > 0 {
			c.secured[op] = credentialHeaders(op.Security, schemes)
		}
		raw, ok := op.Extensions[Extension]
		if !ok {
			continue
		}
		p, err := parsePolicy(raw)
		if err != nil {
			return nil, fmt.Errorf("httpcache: operation %s: %s: %w", op.ID, Extension, err)
		}
		if op.Method != http.MethodGet {
			return nil, fmt.Errorf("httpcache: operation %s: %s only applies to GET", op.ID, Extension)
		}
		p.private = len(op.Security) > 0
		for _, ref := range append(append(openapi3.Parameters{}, op.Op.Parameters...), op.PathItem.Parameters...) {
			if ref.Value != nil && ref.Value.In == openapi3.ParameterInQuery && !slices.Contains(p.query, ref.Value.Name) {
				p.query = append(p.query, ref.Value.Name)
			}
		}
		sort.Strings(p.query)
		vis := "public"
		if p.private {
			vis = "private"
		}
		p.cacheControl = vis + ", max-age=" + strconv.Itoa(int(p.maxAge.Seconds()))
		c.policies[op] = p
	}
	return c, nil
}

// credentialHeaders lists the request headers that carry the credentials of reqs' schemes,
// comma separated, in order of appearance: Authorization (http, oauth2, openIdConnect), an
// apiKey's header, Cookie (an apiKey in a cookie).
func credentialHeaders(reqs openapi3.SecurityRequirements, schemes openapi3.SecuritySchemes) string {
	var out []string
	add := func(h string) {
		for _, o := range out {
			if strings.EqualFold(o, h) {
				return
			}
		}
		out = append(out, h)
	}
	for _, req := range reqs {
		names := make([]string, 0, len(req))
		for name := range req {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ref := schemes[name]
			if ref == nil || ref.Value == nil {
				continue
			}
			switch s := ref.Value; {
			case s.Type == "http", s.Type == "oauth2", s.Type == "openIdConnect":
				add(echo.HeaderAuthorization)
			case s.Type == "apiKey" && s.In == "header" && s.Name != "":
				add(s.Name)
			case s.Type == "apiKey" && s.In == "cookie":
				add(echo.HeaderCookie)
			}
		}
	}
	return strings.Join(out, ", ")
}

// NoStore marks every answer of a secured operation, errors included, as not for any cache
// to keep: Cache-Control: no-store, and Vary naming the headers that carry its credentials.
// A shared cache must never keep a caller's data (an API key is not the Authorization
// header that would otherwise stop it), nor a 401/403 that another caller's request would
// then receive. Place it before authentication, so that its refusals carry the headers too.
// An x-cache operation's own answers (see Middleware) replace Cache-Control with theirs
// (private, max-age). It applies even when caching is Disabled.
func (c *Cache) NoStore() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ctx echo.Context) error {
			if vary, ok := c.secured[routes.Current(ctx)]; ok {
				// Header.Set and Header.Add (canonical names), the new slices in one allocation.
				v := &[2]string{"no-store", vary}
				h := ctx.Response().Header()
				h[echo.HeaderCacheControl] = v[0:1:1]
				if vary != "" {
					if old := h[echo.HeaderVary]; len(old) > 0 {
						h[echo.HeaderVary] = append(old, vary)
					} else {
						h[echo.HeaderVary] = v[1:2:2]
					}
				}
			}
			return next(ctx)
		}
	}
}

func parsePolicy(raw any) (policy, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return policy{}, errors.New("must be an object {maxAge, staleIfError}")
	}
	var p policy
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return policy{}, fmt.Errorf("%s: must be a duration such as \"30s\"", k)
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return policy{}, fmt.Errorf("%s: must be a duration such as \"30s\", got %q", k, s)
		}
		switch k {
		case "maxAge":
			p.maxAge = d
		case "staleIfError":
			p.staleIfError = d
		default:
			return policy{}, fmt.Errorf("unknown key %q (maxAge, staleIfError)", k)
		}
	}
	if p.maxAge <= 0 {
		return policy{}, errors.New("maxAge: is required and must be positive")
	}
	return p, nil
}

// Middleware serves and stores answers of cached operations. Place it after validation
// (the key uses the validated query, defaults applied) and after auth (private answers are
// keyed by the caller).
func (c *Cache) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if c.cfg.Disabled {
			return next
		}
		return func(ctx echo.Context) error {
			op := routes.Current(ctx)
			p, ok := c.policies[op]
			if !ok {
				return next(ctx)
			}
			var buf [128]byte
			kb := c.appendKey(buf[:0], ctx, op, p)
			now := c.now()
			if e := c.getBytes(kb); e != nil && now.Sub(e.stored) < p.maxAge {
				return c.answer(ctx, p, e, now, statusHit, false)
			}
			key := string(kb)
			res := ctx.Response()
			rec := &recorder{ResponseWriter: res.Writer, header: http.Header{}}
			res.Writer = rec
			// What the handler writes goes to the recorder only: afterwards the real response
			// is still unsent, whatever Echo's bookkeeping says. Also on a panic, so that the
			// error handler can write the 500.
			restore := func() {
				res.Writer = rec.ResponseWriter
				res.Committed, res.Size, res.Status = false, 0, http.StatusOK
			}
			defer func() {
				if res.Writer == rec {
					restore()
				}
			}()
			err := next(ctx)
			restore()
			if err != nil {
				if e := c.get(key); e != nil && staleWorthy(err) && now.Sub(e.stored) < p.maxAge+p.staleIfError {
					return c.answer(ctx, p, e, now, statusStale, true)
				}
				return err
			}
			e := c.store(key, rec, now)
			if e == nil { // not storable: pass the recorded answer on as it was
				return rec.flush(res)
			}
			return c.answer(ctx, p, e, now, statusStored, false)
		}
	}
}

// staleWorthy reports whether err is an upstream failure a stale answer may cover.
func staleWorthy(err error) bool {
	for _, e := range []*apierror.Error{apierror.ErrUpstream, apierror.ErrUpstreamTimeout, apierror.ErrUpstreamUnavailable,
		apierror.ErrCircuitOpen, apierror.ErrUpstreamOverloaded, apierror.ErrUpstreamContractViolation} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// appendKey appends the key that identifies an answer to b: operation, its decoded path parameters (so that
// /v1/products/prd%5F0001 and /v1/products/prd_0001 share an entry), the declared query
// parameters, decoded and in name order (undeclared ones cannot change the answer, and must
// not flood the store) and, for secured operations, the caller. Every part is escaped, so
// that no value can forge a separator.
func (c *Cache) appendKey(b []byte, ctx echo.Context, op *routes.Operation, p policy) []byte {
	q := ctx.QueryParams()
	b = append(b, url.QueryEscape(op.ID)...)
	names, values := ctx.ParamNames(), ctx.ParamValues()
	for i, name := range names {
		if i >= len(values) {
			break
		}
		b = append(b, '/')
		b = append(b, url.QueryEscape(name)...)
		v, err := url.PathUnescape(values[i])
		if err != nil { // the validator refuses it before; "!" keeps it apart from any decoded value
			v = values[i]
			b = append(b, '!')
		}
		b = append(b, '=')
		b = append(b, url.QueryEscape(v)...)
	}
	b = append(b, '?')
	for _, k := range p.query {
		for _, v := range q[k] {
			b = append(b, url.QueryEscape(k)...)
			b = append(b, '=')
			b = append(b, url.QueryEscape(v)...)
			b = append(b, '&')
		}
	}
	if p.private {
		id, _ := identity.FromContext(ctx.Request().Context())
		b = append(b, "#subject="...)
		b = append(b, url.QueryEscape(id.Subject)...)
	}
	return b
}

// getBytes is get(string(key)) without the string's allocation.
func (c *Cache) getBytes(key []byte) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[string(key)]
	if el == nil {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*entry)
}

func (c *Cache) get(key string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[key]
	if el == nil {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*entry)
}

// Bytes returns what the stored answers are charged in total (at most MaxBytes).
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Len returns the number of stored answers (at most MaxEntries).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// store keeps a successful envelope's data and pagination; nil when the answer is not
// storable (not a 200 envelope, degraded, too large).
func (c *Cache) store(key string, rec *recorder, now time.Time) *entry {
	if rec.status != http.StatusOK || rec.body.Len() > c.cfg.MaxBodyBytes {
		return nil
	}
	var env struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
		Meta    components.Meta `json:"meta"`
	}
	if json.Unmarshal(rec.body.Bytes(), &env) != nil || !env.Success || env.Meta.Degraded != nil {
		return nil
	}
	sum := sha256.New()
	sum.Write(env.Data)
	if env.Meta.Pagination != nil {
		p, _ := json.Marshal(env.Meta.Pagination)
		sum.Write(p)
	}
	e := &entry{data: env.Data, pagination: env.Meta.Pagination, stored: now,
		etag: `"` + base64.RawURLEncoding.EncodeToString(sum.Sum(nil)[:16]) + `"`}
	e.key = key
	e.size = int64(len(e.data)+len(key)) + entryOverhead
	if e.size > c.cfg.MaxBytes {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil {
		c.remove(old)
	}
	c.entries[key] = c.lru.PushFront(e)
	c.bytes += e.size
	for len(c.entries) > c.cfg.MaxEntries || c.bytes > c.cfg.MaxBytes {
		c.remove(c.lru.Back())
	}
	if c.cfg.OnBytes != nil {
		c.cfg.OnBytes(c.bytes)
	}
	return e
}

// remove drops el from the store. c.mu must be held.
func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// answer writes e as this request's envelope (fresh meta), or 304 when If-None-Match has
// its ETag.
func (c *Cache) answer(ctx echo.Context, p policy, e *entry, now time.Time, status string, stale bool) error {
	// Header.Set's work (canonical names), the values' slices in one allocation.
	v := &[4]string{e.etag, p.cacheControl, status}
	h := ctx.Response().Header()
	h["Etag"] = v[0:1:1]
	h["Cache-Control"] = v[1:2:2]
	h["Cache-Status"] = v[2:3:3]
	if age := now.Sub(e.stored); age >= time.Second {
		v[3] = strconv.Itoa(int(age.Seconds()))
		h["Age"] = v[3:4:4]
	}
	if matches(ctx.Request().Header.Get("If-None-Match"), e.etag) {
		return ctx.NoContent(http.StatusNotModified)
	}
	// The envelope written around the stored data's bytes, as the bindings write theirs: no
	// re-encoding of the data, no reflection for the meta in the common case.
	bp := answerBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledAnswer {
			answerBuffers.Put(bp)
		}
	}()
	b := append(append((*bp)[:0], `{"success":true,"data":`...), e.data...)
	b = append(b, `,"meta":`...)
	if e.pagination == nil && !stale {
		b = envelope.AppendContextMeta(ctx.Request().Context(), b)
	} else {
		meta := envelope.Meta(ctx.Request().Context())
		meta.Pagination = e.pagination
		if stale {
			meta.Degraded = &[]string{components.DegradedStale}
		}
		var err error
		if b, err = envelope.AppendMeta(b, meta); err != nil {
			return err
		}
	}
	*bp = append(b, '}')
	return ctx.Blob(http.StatusOK, echo.MIMEApplicationJSON, *bp)
}

// answerBuffers holds the buffers answers from the store are written in; maxPooledAnswer is
// the largest kept.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledAnswer = 64 << 10

// matches reports whether an If-None-Match header lists etag (weak comparison) or is "*".
func matches(header, etag string) bool {
	if header == "" {
		return false
	}
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// recorder holds a handler's answer until the cache decides what to send.
type recorder struct {
	http.ResponseWriter
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// flush sends the recorded answer unchanged, through Echo's response (so that status and
// size are accounted for).
func (r *recorder) flush(res *echo.Response) error {
	h := res.Header()
	for k, v := range r.header {
		h[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	res.WriteHeader(r.status)
	_, err := res.Write(r.body.Bytes())
	return err
}
