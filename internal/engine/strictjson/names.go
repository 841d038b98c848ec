package strictjson

// Names is a read-only table from member names to values, built once (NewNames) from the
// names a schema declares and looked up for each member of a JSON text: for the short names
// of a contract, cheaper than a Go map (open addressing on a hash of the name's length and
// three of its bytes, no hashing of the whole name). The zero value is empty.
type Names[V any] struct {
	slots []nameSlot[V]
	mask  uint32
}

type nameSlot[V any] struct {
	name string
	v    V
	used bool
}

func nameHash(name []byte) uint32 {
	n := len(name)
	if n == 0 {
		return 0
	}
	return uint32(n)*0x9E3779B1 ^ uint32(name[0])*0x85EBCA6B ^ uint32(name[n-1])*0xC2B2AE35 ^ uint32(name[n/2])*0x27D4EB2F
}

// NewNames returns the table of m.
func NewNames[V any](m map[string]V) Names[V] {
	if len(m) == 0 {
		return Names[V]{}
	}
	size := 4
	for size < 2*len(m) {
		size *= 2
	}
	t := Names[V]{slots: make([]nameSlot[V], size), mask: uint32(size - 1)}
	for name, v := range m {
		i := nameHash([]byte(name)) & t.mask
		for t.slots[i].used {
			i = (i + 1) & t.mask
		}
		t.slots[i] = nameSlot[V]{name: name, v: v, used: true}
	}
	return t
}

// Find returns the value of name (unquoted) and whether the table holds it.
func (t Names[V]) Find(name []byte) (v V, ok bool) {
	if t.slots == nil {
		return v, false
	}
	for i := nameHash(name) & t.mask; t.slots[i].used; i = (i + 1) & t.mask {
		if t.slots[i].name == string(name) {
			return t.slots[i].v, true
		}
	}
	return v, false
}
