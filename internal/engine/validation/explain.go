package validation

import (
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

// Explaining an invalid value. The full engine reports every violation of a value at once,
// building an error for each: an array of 500,000 wrong items costs 500,000 errors before a
// single detail is written. explain walks the value with the fast tree instead, down the
// containers (properties, additionalProperties, items, allOf, $ref) to the parts that fail,
// and asks the full engine only about those parts where its answer is cheap: a scalar, or a
// container failing type, const, enum or format (the full engine stops at the first of
// those). anyOf and oneOf are explained by the branch the value was meant for, as collect
// picks it from the full engine's errors. Where the fast path is unsure of a container (a
// branch it cannot decide, uniqueItems over containers), the full engine judges it whole.
// The details come from the full engine's own error kinds either way, so they read the
// same (a differential fuzz test holds the two to it); the walk stops as soon as the
// collector is full.

// seg is one step of a path into the instance: an array index (idx >= 0) or a member name.
type seg struct {
	key string
	idx int
}

// walk explains the violations of one value (a body or a parameter).
type walk struct {
	v      *Validator
	c      *collector
	prefix string // body, query.page, ...
	path   []seg
}

// field renders the current path: body.items[3].quantity (names written as field does).
func (w *walk) field() string {
	if len(w.path) == 0 {
		return w.prefix
	}
	var b strings.Builder
	b.WriteString(w.prefix)
	for _, s := range w.path {
		if s.idx >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.idx))
			b.WriteByte(']')
		} else {
			appendKey(&b, s.key)
		}
		if b.Len() > maxFieldPath {
			break
		}
	}
	return clipPath(b.String())
}

// emit adds the detail of one error kind found at the current path, for value x.
func (w *walk) emit(x any, k jsonschema.ErrorKind) {
	leaf(w.field(), x, &jsonschema.ValidationError{ErrorKind: k}, w.c)
}

// delegate lets the full engine report x's violations of n (see above for when that is cheap).
func (w *walk) delegate(n *node, x any) {
	err := n.full.Validate(x)
	if err == nil {
		return
	}
	ve, ok := asValidationError(err)
	if !ok {
		w.c.add(apierror.Detail{Field: w.field(), Constraint: "schema", Message: "is invalid"})
		return
	}
	w.v.violations(w.field(), x, ve, w.c)
}

// explain adds the details of x's violations of n. x is known not to be valid (check
// answered invalid or unsure); a valid x adds nothing.
func (w *walk) explain(n *node, x any) {
	if w.c.full() || n.always {
		return
	}
	var obj map[string]any
	var arr []any
	switch t := x.(type) {
	case map[string]any:
		obj = t
	case []any:
		arr = t
	}
	if n.never || obj == nil && arr == nil || n.full == nil || unsureBranches(n, x) {
		w.delegate(n, x)
		return
	}
	// The full engine stops at a failing type, const, enum or format: it answers cheaply.
	if n.types != 0 && n.checkType(x) != valid || n.hasConst && jsonEqual(x, n.constVal) != valid ||
		n.format != nil && n.format(x) != valid || n.enum != nil && !inEnum(n.enum, x) {
		w.delegate(n, x)
		return
	}
	if n.ref != nil && n.ref.check(x) != valid {
		w.explain(n.ref, x)
	}
	if obj != nil {
		w.object(n, obj)
	} else {
		w.array(n, arr)
	}
	for _, s := range n.allOf {
		if s.check(x) != valid {
			w.explain(s, x)
		}
	}
	if n.anyOf != nil {
		w.alternatives(n.anyOf, x, "anyOf")
	}
	if n.oneOf != nil {
		w.alternatives(n.oneOf, x, "oneOf")
	}
	if n.not != nil && n.not.check(x) == valid {
		w.emit(x, &kind.Not{})
	}
}

// unsureBranches reports whether the fast path cannot decide a branch of n's anyOf, oneOf
// or not on x (then the full engine judges the whole).
func unsureBranches(n *node, x any) bool {
	if n.not != nil && n.not.check(x) == unsure {
		return true
	}
	for _, list := range [][]*node{n.anyOf, n.oneOf} {
		for _, b := range list {
			if b.check(x) == unsure {
				return true
			}
		}
	}
	return false
}

// alternatives reports x's violation of an anyOf or oneOf as the full engine's details do
// (see collect): the branch x was evidently meant for, the only one whose discriminating
// type, const or enum did not fail, explained; else one detail for the keyword.
func (w *walk) alternatives(branches []*node, x any, keyword string) {
	matched := 0
	for _, b := range branches {
		if b.check(x) == valid {
			matched++
		}
	}
	if keyword == "anyOf" && matched > 0 || keyword == "oneOf" && matched == 1 {
		return
	}
	msg := "must match exactly one of the allowed alternatives"
	if keyword == "anyOf" {
		msg = "must match at least one of the allowed alternatives"
	}
	if matched > 1 {
		msg = "matches more than one of the allowed alternatives"
	} else {
		var intended *node
		for _, b := range branches {
			if mismatch(b, x) {
				continue
			}
			if intended != nil {
				intended = nil
				break
			}
			intended = b
		}
		if intended != nil {
			w.explain(intended, x)
			return
		}
	}
	w.c.add(apierror.Detail{Field: w.field(), Constraint: keyword, Message: msg})
}

// mismatch reports whether validating x against b fails on a discriminator, as
// discriminatorMismatch tells from the full engine's errors: x of the wrong type, or a
// member whose const or enum fails (with its type right).
func mismatch(b *node, x any) bool {
	if b.never || b.always {
		return false
	}
	if b.types != 0 && b.checkType(x) == invalid {
		return true
	}
	if b.ref != nil && mismatch(b.ref, x) {
		return true
	}
	for _, s := range b.allOf {
		if mismatch(s, x) {
			return true
		}
	}
	o, ok := x.(map[string]any)
	if !ok {
		return false
	}
	for _, p := range b.propList {
		if v, ok := o[p.name]; ok && constFails(p.node, v) {
			return true
		}
	}
	return false
}

// constFails reports whether the full engine fails v on n's const or enum: after its type
// passed, and following $ref and allOf.
func constFails(n *node, v any) bool {
	if n.types != 0 && n.checkType(v) != valid {
		return false
	}
	if n.hasConst && jsonEqual(v, n.constVal) == invalid || n.enum != nil && !inEnum(n.enum, v) {
		return true
	}
	if n.ref != nil && constFails(n.ref, v) {
		return true
	}
	for _, s := range n.allOf {
		if constFails(s, v) {
			return true
		}
	}
	return false
}

func inEnum(enum []any, x any) bool {
	for _, e := range enum {
		if jsonEqual(x, e) == valid {
			return true
		}
	}
	return false
}

// child explains element x of the current value at step s, when n does not accept it.
func (w *walk) child(n *node, s seg, x any) {
	if w.c.full() || n.check(x) == valid {
		return
	}
	w.path = append(w.path, s)
	w.explain(n, x)
	w.path = w.path[:len(w.path)-1]
}

func (w *walk) object(n *node, o map[string]any) {
	if n.maxProps >= 0 && len(o) > n.maxProps {
		w.emit(o, &kind.MaxProperties{Got: len(o), Want: n.maxProps})
	}
	if len(o) < n.minProps {
		w.emit(o, &kind.MinProperties{Got: len(o), Want: n.minProps})
	}
	var missing []string
	for _, name := range n.required {
		if _, ok := o[name]; !ok {
			missing = append(missing, name)
		}
	}
	if missing != nil {
		w.emit(o, &kind.Required{Missing: missing})
	}
	declared := 0
	for _, p := range n.propList {
		if v, ok := o[p.name]; ok {
			declared++
			w.child(p.node, seg{key: p.name, idx: -1}, v)
		}
	}
	if declared == len(o) || n.additional == nil || n.additional.always || w.c.full() {
		return
	}
	// The undeclared members, in a stable order: when there are more violations than the
	// cap, the same request gets the same details.
	if n.additional.never {
		// Only the first names count, one beyond the cap: enough to know there are more.
		w.emit(o, &kind.AdditionalProperties{Properties: smallestExtra(o, n.props, w.c.max-len(w.c.out)+1)})
		return
	}
	extra := make([]string, 0, len(o)-declared)
	for k := range o {
		if _, ok := n.props[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		w.child(n.additional, seg{key: k, idx: -1}, o[k])
	}
}

// smallestExtra returns, in order, the k smallest member names of o that props does not
// declare, in O(len(o)·k) time and O(k) memory.
func smallestExtra(o map[string]any, props map[string]*node, k int) []string {
	out := make([]string, 0, k+1)
	for name := range o {
		if _, ok := props[name]; ok {
			continue
		}
		if len(out) == k && name >= out[k-1] {
			continue
		}
		i, _ := slices.BinarySearch(out, name)
		out = slices.Insert(out, i, name)
		if len(out) > k {
			out = out[:k]
		}
	}
	return out
}

func (w *walk) array(n *node, a []any) {
	dup, i, j := invalid, 0, 0
	if n.uniqueItems {
		if i, j, dup = findDuplicate(a); dup == unsure {
			// Cannot tell in linear time (items that are containers, or numbers beyond
			// float64): the full engine, which hashes them, judges the array whole.
			w.delegate(n, a)
			return
		}
	}
	if len(a) < n.minItems {
		w.emit(a, &kind.MinItems{Got: len(a), Want: n.minItems})
	}
	if n.maxItems >= 0 && len(a) > n.maxItems {
		w.emit(a, &kind.MaxItems{Got: len(a), Want: n.maxItems})
	}
	if dup == valid {
		w.emit(a, &kind.UniqueItems{Duplicates: [2]int{i, j}})
	}
	if n.items == nil {
		return
	}
	for i, x := range a {
		if w.c.full() {
			return
		}
		w.child(n.items, seg{idx: i}, x)
	}
}
