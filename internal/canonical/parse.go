package canonical

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
)

// maxDepth bounds nesting so that hostile input fails with an error instead
// of exhausting the stack. It matches encoding/json's own limit.
const maxDepth = 10000

var errTooDeep = fmt.Errorf("%w: JSON nested deeper than %d levels; flatten the value", ErrUnsupported, maxDepth)

// member locates one emitted `"name":value` of the object being built.
type member struct {
	name       []byte // decoded name: ordering and duplicates are defined on it
	start, end int    // canonical bytes in st.out, without separators
	// high is set when name has a rune >= U+E000; unless both names have
	// one, their byte order is their UTF-16 order.
	high bool
}

func compareMembers(a, b *member) int {
	if a.high && b.high {
		return compareUTF16(a.name, b.name)
	}
	return bytes.Compare(a.name, b.name)
}

// parse strictly parses the JSON in and leaves its canonical form in st.out.
// The JSON is emitted while it is parsed; only objects whose members are
// out of order are rewritten, which keeps the common case to a single pass.
func (st *state) parse(in []byte) error {
	st.in, st.pos = in, 0
	st.out = st.out[:0]
	st.names = st.names[:0]
	st.members = st.members[:0]
	st.sawFFFD = false
	st.skipSpace()
	if err := st.value(0); err != nil {
		return err
	}
	st.skipSpace()
	if st.pos != len(st.in) {
		return st.syntaxError()
	}
	return nil
}

func (st *state) syntaxError() error {
	return fmt.Errorf("%w: malformed JSON at offset %d of the encoding/json output", ErrUnsupported, st.pos)
}

func (st *state) skipSpace() {
	for st.pos < len(st.in) {
		switch st.in[st.pos] {
		case ' ', '\t', '\n', '\r':
			st.pos++
		default:
			return
		}
	}
}

func (st *state) value(depth int) error {
	if st.pos >= len(st.in) {
		return st.syntaxError()
	}
	switch c := st.in[st.pos]; c {
	case '{':
		return st.object(depth + 1)
	case '[':
		return st.array(depth + 1)
	case '"':
		_, _, err := st.str(false)
		return err
	case 't':
		return st.literal("true")
	case 'f':
		return st.literal("false")
	case 'n':
		return st.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return st.number()
		}
		return st.syntaxError()
	}
}

func (st *state) literal(lit string) error {
	end := st.pos + len(lit)
	if end > len(st.in) || string(st.in[st.pos:end]) != lit {
		return st.syntaxError()
	}
	st.pos += len(lit)
	st.out = append(st.out, lit...)
	return nil
}

func (st *state) array(depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	st.pos++
	st.out = append(st.out, '[')
	st.skipSpace()
	if st.pos < len(st.in) && st.in[st.pos] == ']' {
		st.pos++
		st.out = append(st.out, ']')
		return nil
	}
	for {
		st.skipSpace()
		if err := st.value(depth); err != nil {
			return err
		}
		st.skipSpace()
		if st.pos >= len(st.in) {
			return st.syntaxError()
		}
		c := st.in[st.pos]
		st.pos++
		switch c {
		case ',':
			st.out = append(st.out, ',')
		case ']':
			st.out = append(st.out, ']')
			return nil
		default:
			st.pos--
			return st.syntaxError()
		}
	}
}

func (st *state) object(depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	st.pos++
	st.out = append(st.out, '{')
	st.skipSpace()
	if st.pos < len(st.in) && st.in[st.pos] == '}' {
		st.pos++
		st.out = append(st.out, '}')
		return nil
	}
	objStart := len(st.out)
	base := len(st.members)
	// Names decoded for this object are dead once it is emitted, so the
	// arena can be reused from here; slices held by enclosing objects point
	// below this mark (or into an older backing array) and stay intact.
	namesBase := len(st.names)
	for {
		st.skipSpace()
		if st.pos >= len(st.in) || st.in[st.pos] != '"' {
			return st.syntaxError()
		}
		start := len(st.out)
		name, high, err := st.str(true)
		if err != nil {
			return err
		}
		st.skipSpace()
		if st.pos >= len(st.in) || st.in[st.pos] != ':' {
			return st.syntaxError()
		}
		st.pos++
		st.out = append(st.out, ':')
		st.skipSpace()
		if err := st.value(depth); err != nil {
			return err
		}
		st.members = append(st.members, member{name: name, start: start, end: len(st.out), high: high})
		st.skipSpace()
		if st.pos >= len(st.in) {
			return st.syntaxError()
		}
		c := st.in[st.pos]
		st.pos++
		if c == ',' {
			st.out = append(st.out, ',')
			continue
		}
		if c != '}' {
			st.pos--
			return st.syntaxError()
		}
		break
	}
	if len(st.members)-base > 1 {
		if err := st.order(objStart, st.members[base:]); err != nil {
			return err
		}
	}
	st.members = st.members[:base]
	st.names = st.names[:namesBase]
	st.out = append(st.out, '}')
	return nil
}

// order sorts the members of the object whose canonical members start at
// objStart in st.out and rejects duplicate names.
func (st *state) order(objStart int, ms []member) error {
	sorted := true
	for i := 1; i < len(ms); i++ {
		c := compareMembers(&ms[i-1], &ms[i])
		if c == 0 {
			return duplicateError(ms[i].name)
		}
		if c > 0 {
			sorted = false
			break
		}
	}
	// encoding/json already sorts map keys, and for the usual ASCII names
	// that is the canonical order, so most objects end here.
	if sorted {
		return nil
	}
	// Sorting indices moves 8 bytes per swap instead of a whole member.
	perm := st.perm[:0]
	for i := range ms {
		perm = append(perm, i)
	}
	st.perm = perm
	slices.SortFunc(perm, func(i, j int) int { return compareMembers(&ms[i], &ms[j]) })
	for k := 1; k < len(perm); k++ {
		if bytes.Equal(ms[perm[k-1]].name, ms[perm[k]].name) {
			return duplicateError(ms[perm[k]].name)
		}
	}
	st.tmp = append(st.tmp[:0], st.out[objStart:]...)
	st.out = st.out[:objStart]
	for k, i := range perm {
		if k > 0 {
			st.out = append(st.out, ',')
		}
		st.out = append(st.out, st.tmp[ms[i].start-objStart:ms[i].end-objStart]...)
	}
	return nil
}

func duplicateError(name []byte) error {
	return fmt.Errorf("%w: %s", ErrDuplicateKey, strconv.Quote(string(name)))
}
