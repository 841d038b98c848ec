package ratelimit

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/go-redis/redis_rate/v10"

	"github.com/contractgate/contractgate/internal/engine/routes"
)

// Extension is the contract's per-operation extension, e.g.
// x-ratelimit: {requests: 60, window: 1m, burst: 10}. window is a Go duration string or a
// number of seconds; burst defaults to requests.
const Extension = "x-ratelimit"

// DefaultPolicyName names the configured default policy in the RateLimit headers.
const DefaultPolicyName = "default"

// ExtensionError is a malformed x-ratelimit extension: New refuses to start with one.
type ExtensionError struct {
	// Operation is the operationId carrying the extension.
	Operation string
	// Path locates the problem, e.g. "x-ratelimit.burst".
	Path string
	// Problem says what is wrong.
	Problem string
}

// Error returns "ratelimit: operation ID: path: problem".
func (e *ExtensionError) Error() string {
	return fmt.Sprintf("ratelimit: operation %s: %s: %s", e.Operation, e.Path, e.Problem)
}

// policy is a validated Policy, ready for the request path: GCRA parameters in nanoseconds,
// precomputed header values, and its own key namespace.
type policy struct {
	name string
	Policy
	// interval is the GCRA emission interval T = window/requests; tolerance is burst*T.
	interval, tolerance int64
	// sfName is the name as a structured-field string; header is the RateLimit-Policy value.
	sfName, header string
	// seeds namespace the in-memory keys: subjects, addresses (maphash, random per process).
	seeds [2]maphash.Seed
	// redisKey prefixes this policy's keys in Redis; limit is the same quota for redis_rate.
	redisKey string
	limit    redis_rate.Limit
}

func newPolicy(name string, p Policy) (*policy, error) {
	sf, ok := sfString(name)
	if !ok {
		return nil, fmt.Errorf("policy name %q is not printable ASCII", name)
	}
	interval := int64(p.Window) / int64(p.Requests)
	return &policy{
		name:      name,
		Policy:    p,
		interval:  interval,
		tolerance: interval * int64(p.Burst),
		sfName:    sf,
		header:    fmt.Sprintf("%s;q=%d;w=%d", sf, p.Requests, int64(p.Window/time.Second)),
		seeds:     [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		redisKey:  "contractgate:" + name + ":",
		limit:     redis_rate.Limit{Rate: p.Requests, Burst: p.Burst, Period: p.Window},
	}, nil
}

// rateLimit formats the RateLimit field: remaining requests r and t, the whole seconds
// (rounded up) until the quota is fully restored.
func (p *policy) rateLimit(remaining, resetSeconds int64) string {
	var buf [rateLimitText]byte
	return string(p.appendField(buf[:0], remaining, resetSeconds))
}

// rateLimitText is room for the RateLimit field of a policy name of up to 50 bytes.
const rateLimitText = 96

// appendRateLimit is rateLimit writing into buf (spare capacity, never read before): the
// string shares buf's memory, or a larger array's when the field does not fit, so buf must
// not change afterwards.
func (p *policy) appendRateLimit(buf []byte, remaining, resetSeconds int64) string {
	b := p.appendField(buf, remaining, resetSeconds)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (p *policy) appendField(b []byte, remaining, resetSeconds int64) []byte {
	b = append(b, p.sfName...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, remaining, 10)
	b = append(b, ";t="...)
	return strconv.AppendInt(b, resetSeconds, 10)
}

// policies reads the default policy and every operation's x-ratelimit from the table, once.
func policies(def Policy, table *routes.Table) (map[*routes.Operation]*policy, error) {
	dp, err := newPolicy(DefaultPolicyName, def)
	if err != nil {
		return nil, err
	}
	byOp := map[*routes.Operation]*policy{}
	var errs []error
	for _, op := range table.All() {
		raw, ok := op.Extensions[Extension]
		if !ok {
			byOp[op] = dp
			continue
		}
		p, perrs := parseExtension(raw)
		if len(perrs) == 0 {
			var np *policy
			if np, err = newPolicy(op.ID, p); err == nil {
				byOp[op] = np
				continue
			}
			perrs = FieldErrors{{Path: "operationId", Problem: err.Error()}}
		}
		for _, e := range perrs {
			errs = append(errs, &ExtensionError{Operation: op.ID, Path: joinPath(Extension, e.Path), Problem: e.Problem})
		}
	}
	return byOp, errors.Join(errs...)
}

func joinPath(a, b string) string {
	if b == "" {
		return a
	}
	return a + "." + b
}

// parseExtension decodes and validates an x-ratelimit value as kin-openapi decoded it.
func parseExtension(raw any) (Policy, FieldErrors) {
	m, ok := raw.(map[string]any)
	if !ok {
		return Policy{}, FieldErrors{{Problem: fmt.Sprintf("must be an object {requests, window, burst}, got %T", raw)}}
	}
	var p Policy
	var errs FieldErrors
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		switch k {
		case "requests", "burst":
			n, ok := wholeNumber(v)
			if !ok || n < 1 || n > math.MaxInt32 {
				bad(k, "must be a positive integer, got %v", v)
				continue
			}
			if k == "requests" {
				p.Requests = int(n)
			} else {
				p.Burst = int(n)
			}
		case "window":
			d, ok := duration(v)
			if !ok {
				bad(k, "must be a duration such as \"1m\" or a number of seconds, got %v", v)
				continue
			}
			p.Window = d
		default:
			bad(k, "unknown key (known: burst, requests, window)")
		}
	}
	if _, ok := m["requests"]; !ok {
		bad("requests", "is required")
	}
	if _, ok := m["window"]; !ok {
		bad("window", "is required")
	}
	if len(errs) > 0 {
		return p, errs
	}
	if p.Burst == 0 {
		p.Burst = p.Requests
	}
	return p, p.problems()
}

func wholeNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float64:
		return int64(n), n == math.Trunc(n) && math.Abs(n) < 1<<53
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func duration(v any) (time.Duration, bool) {
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(s)
		return d, err == nil
	}
	n, ok := wholeNumber(v)
	if !ok || n > int64(math.MaxInt64/time.Second) {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// sfString quotes s as an RFC 8941 structured-field string, which holds printable ASCII only.
func sfString(s string) (string, bool) {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", false
		}
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String(), s != ""
}
