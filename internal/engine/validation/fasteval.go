package validation

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// check evaluates v against n. It never allocates on the valid path.
func (n *node) check(v any) verdict {
	if n.always {
		return valid
	}
	if n.never {
		return invalid
	}
	r := valid
	merge := func(x verdict) bool { // false: stop, the answer is invalid
		if x == invalid {
			r = invalid
			return false
		}
		if x == unsure {
			r = unsure
		}
		return true
	}
	if n.ref != nil && !merge(n.ref.check(v)) {
		return invalid
	}
	if n.types != 0 && !merge(n.checkType(v)) {
		return invalid
	}
	if n.enum != nil {
		found := invalid
		for _, e := range n.enum {
			if eq := jsonEqual(v, e); eq != invalid {
				found = eq
				if eq == valid {
					break
				}
			}
		}
		if !merge(found) {
			return invalid
		}
	}
	if n.hasConst && !merge(jsonEqual(v, n.constVal)) {
		return invalid
	}
	switch x := v.(type) {
	case string:
		if !merge(n.checkString(x)) {
			return invalid
		}
	case json.Number:
		if !merge(n.checkNumber(x)) {
			return invalid
		}
	case map[string]any:
		if !merge(n.checkObject(x)) {
			return invalid
		}
	case []any:
		if !merge(n.checkArray(x)) {
			return invalid
		}
	}
	if n.format != nil && !merge(n.format(v)) {
		return invalid
	}
	for _, s := range n.allOf {
		if !merge(s.check(v)) {
			return invalid
		}
	}
	if n.anyOf != nil {
		any := invalid
		for _, s := range n.anyOf {
			if x := s.check(v); x != invalid {
				any = x
				if x == valid {
					break
				}
			}
		}
		if !merge(any) {
			return invalid
		}
	}
	if n.oneOf != nil {
		matched, doubt := 0, false
		for _, s := range n.oneOf {
			switch s.check(v) {
			case valid:
				matched++
			case unsure:
				doubt = true
			}
		}
		switch {
		case doubt:
			r = unsure
		case matched != 1:
			return invalid
		}
	}
	if n.not != nil {
		switch n.not.check(v) {
		case valid:
			return invalid
		case unsure:
			r = unsure
		}
	}
	return r
}

func (n *node) checkType(v any) verdict {
	var t typeMask
	switch x := v.(type) {
	case nil:
		t = tNull
	case bool:
		t = tBoolean
	case string:
		t = tString
	case map[string]any:
		t = tObject
	case []any:
		t = tArray
	case json.Number:
		t = tNumber
		if n.types&tInteger != 0 && n.types&tNumber == 0 {
			switch isIntegral(x) {
			case valid:
				t |= tInteger
			case unsure:
				return unsure
			}
		}
	default:
		return unsure
	}
	if n.types&t == 0 {
		return invalid
	}
	if t&tNumber != 0 && n.types&(tNumber|tInteger) == 0 {
		return invalid
	}
	return valid
}

// isIntegral reports whether a JSON number is mathematically an integer ("2", "2.0", "2e3").
func isIntegral(num json.Number) verdict {
	s := string(num)
	plain := true
	for i := 0; i < len(s) && plain; i++ { // a byte loop: cheaper than strings.ContainsAny here
		plain = s[i] != '.' && s[i] != 'e' && s[i] != 'E'
	}
	if plain {
		return valid
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Abs(f) >= 1<<53 {
		return unsure
	}
	if f != math.Trunc(f) {
		return invalid
	}
	return valid
}

func (n *node) checkString(s string) verdict {
	if n.minLen >= 0 || n.maxLen >= 0 {
		l := len(s)
		if l >= n.minLen || n.maxLen >= 0 { // count runes only when bytes do not decide
			l = utf8.RuneCountInString(s)
		}
		if n.minLen >= 0 && l < n.minLen || n.maxLen >= 0 && l > n.maxLen {
			return invalid
		}
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		return invalid
	}
	return valid
}

// exactDigits is how many significant digits a float64 holds exactly.
const exactDigits = 15

func (n *node) checkNumber(num json.Number) verdict {
	if n.min == nil && n.max == nil && n.exMin == nil && n.exMax == nil && n.multipleOf == 0 {
		return valid
	}
	var f float64
	if i, ok := smallInt(string(num)); ok {
		f = float64(i) // exact, as ParseFloat would give it
	} else {
		if significantDigits(string(num)) > exactDigits {
			return unsure
		}
		var err error
		if f, err = strconv.ParseFloat(string(num), 64); err != nil || math.IsInf(f, 0) {
			return unsure
		}
	}
	if n.min != nil && f < *n.min || n.max != nil && f > *n.max ||
		n.exMin != nil && f <= *n.exMin || n.exMax != nil && f >= *n.exMax {
		return invalid
	}
	if n.multipleOf != 0 {
		if n.multipleOf != math.Trunc(n.multipleOf) || f != math.Trunc(f) {
			return unsure
		}
		if math.Mod(f, n.multipleOf) != 0 {
			return invalid
		}
	}
	return valid
}

// smallInt returns the value of s when it is a plain integer literal of at most exactDigits
// digits (no fraction, no exponent): exact in a float64, and read without strconv.
func smallInt(s string) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	digits := s
	if neg {
		digits = s[1:]
	}
	if len(digits) == 0 || len(digits) > exactDigits {
		return 0, false
	}
	var i int64
	for k := 0; k < len(digits); k++ {
		c := digits[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int64(c-'0')
	}
	if neg {
		i = -i
	}
	return i, true
}

func significantDigits(s string) int {
	n, leading := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' || c == 'E' {
			break
		}
		if c < '0' || c > '9' {
			continue
		}
		if c == '0' && leading {
			continue
		}
		leading = false
		n++
	}
	return n
}

func (n *node) checkObject(o map[string]any) verdict {
	if len(o) < n.minProps || n.maxProps >= 0 && len(o) > n.maxProps {
		return invalid
	}
	for _, name := range n.required {
		if _, ok := o[name]; !ok {
			return invalid
		}
	}
	r := valid
	// Declared properties are looked up rather than the instance ranged over: cheaper for
	// the small objects of request bodies.
	declared := 0
	for _, p := range n.propList {
		v, ok := o[p.name]
		if !ok {
			continue
		}
		declared++
		switch p.node.check(v) {
		case invalid:
			return invalid
		case unsure:
			r = unsure
		}
	}
	if declared == len(o) || n.additional == nil || n.additional.always {
		return r
	}
	if n.additional.never {
		return invalid
	}
	for k, v := range o {
		if _, ok := n.props[k]; ok {
			continue
		}
		switch n.additional.check(v) {
		case invalid:
			return invalid
		case unsure:
			r = unsure
		}
	}
	return r
}

func (n *node) checkArray(a []any) verdict {
	if len(a) < n.minItems || n.maxItems >= 0 && len(a) > n.maxItems {
		return invalid
	}
	r := valid
	if n.items != nil {
		for _, v := range a {
			switch n.items.check(v) {
			case invalid:
				return invalid
			case unsure:
				r = unsure
			}
		}
	}
	if n.uniqueItems {
		switch _, _, found := findDuplicate(a); found {
		case valid:
			return invalid
		case unsure:
			r = unsure
		}
	}
	return r
}

// pairwiseUpTo is the longest array findDuplicate compares pairwise.
const pairwiseUpTo = 32

// findDuplicate looks for two equal items of a (as JSON Schema compares them): found is
// valid with their indexes, invalid when there are none, unsure when it cannot tell. Long
// arrays are checked in linear time by a canonical key per scalar item; long arrays of
// containers, or of numbers beyond float64's exact range, are unsure (the full engine
// hashes them).
func findDuplicate(a []any) (i, j int, found verdict) {
	if len(a) <= pairwiseUpTo {
		found = invalid
		for j := 1; j < len(a); j++ {
			for i := range j {
				switch jsonEqual(a[i], a[j]) {
				case valid:
					return i, j, valid
				case unsure:
					found = unsure
				}
			}
		}
		return 0, 0, found
	}
	seen := make(map[string]int, len(a))
	var key []byte
	for j, x := range a {
		key = key[:0]
		switch v := x.(type) {
		case nil:
			key = append(key, 'z')
		case bool:
			key = strconv.AppendBool(append(key, 'b'), v)
		case string:
			key = append(append(key, 's'), v...)
		case json.Number:
			if significantDigits(string(v)) > exactDigits {
				return 0, 0, unsure
			}
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsInf(f, 0) {
				return 0, 0, unsure
			}
			if f == 0 {
				f = 0 // -0 equals 0
			}
			key = strconv.AppendFloat(append(key, 'n'), f, 'g', -1, 64)
		default:
			return 0, 0, unsure
		}
		if i, ok := seen[string(key)]; ok {
			return i, j, valid
		}
		seen[string(key)] = j
	}
	return 0, 0, invalid
}

// jsonEqual compares two JSON values as JSON Schema does (numbers by value).
func jsonEqual(a, b any) verdict {
	switch x := a.(type) {
	case nil:
		return boolVerdict(b == nil)
	case bool:
		y, ok := b.(bool)
		return boolVerdict(ok && x == y)
	case string:
		y, ok := b.(string)
		return boolVerdict(ok && x == y)
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return invalid
		}
		return numberEqual(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return invalid
		}
		r := valid
		for i := range x {
			switch jsonEqual(x[i], y[i]) {
			case invalid:
				return invalid
			case unsure:
				r = unsure
			}
		}
		return r
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return invalid
		}
		r := valid
		for k, xv := range x {
			yv, ok := y[k]
			if !ok {
				return invalid
			}
			switch jsonEqual(xv, yv) {
			case invalid:
				return invalid
			case unsure:
				r = unsure
			}
		}
		return r
	}
	return unsure
}

// numberEqual compares two JSON numbers by value.
func numberEqual(x, y json.Number) verdict {
	if x == y {
		return valid
	}
	if significantDigits(string(x)) > exactDigits || significantDigits(string(y)) > exactDigits {
		return unsure
	}
	fx, err1 := strconv.ParseFloat(string(x), 64)
	fy, err2 := strconv.ParseFloat(string(y), 64)
	if err1 != nil || err2 != nil {
		return unsure
	}
	return boolVerdict(fx == fy)
}

func boolVerdict(b bool) verdict {
	if b {
		return valid
	}
	return invalid
}
