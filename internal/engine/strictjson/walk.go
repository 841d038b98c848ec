package strictjson

// Walking accepted text. A reader of bytes Accepts accepted (the value it returns, or a part
// of it) needs no tokenizer: these step over the grammar's parts and check nothing. On
// other bytes their results are unspecified (but within len(b)+5 of i).

// SkipSpace returns the index of the first byte at or after b[i] that is not JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// SkipString returns the index after the string whose opening quote is b[i]. A byte loop:
// the strings of JSON text, member names above all, are too short for bytes.IndexByte to pay.
func SkipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// NumberEnd returns the index after the number literal starting at b[i].
func NumberEnd(b []byte, i int) int {
	for i < len(b) {
		switch c := b[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			i++
		default:
			return i
		}
	}
	return i
}

// SkipValue returns the index after the value starting at b[i].
func SkipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = SkipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	case 't', 'n':
		return i + 4
	case 'f':
		return i + 5
	}
	return NumberEnd(b, i)
}
