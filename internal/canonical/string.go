package canonical

import (
	"fmt"
	"unicode/utf8"
)

var (
	errRawUTF8 = fmt.Errorf("%w (found in raw JSON from a json.RawMessage or MarshalJSON method)", ErrInvalidUTF8)

	errLoneSurrogate = fmt.Errorf("%w (found a lone surrogate \\u escape in raw JSON from a json.RawMessage or MarshalJSON method)", ErrInvalidUTF8)
)

// str parses the string at st.pos and appends its canonical form to st.out.
// With name set it also returns the decoded content, which member ordering
// and duplicate detection are defined on (it may alias st.in or st.names),
// and whether it holds a rune >= U+E000, the only runes whose UTF-8 and
// UTF-16 orders disagree.
func (st *state) str(name bool) (decoded []byte, high bool, err error) {
	in := st.in
	start := st.pos + 1
	i := start
	for i < len(in) {
		for i < len(in) && plainASCII[in[i]] {
			i++
		}
		if i >= len(in) {
			break
		}
		c := in[i]
		switch {
		case c == '"':
			// Without escapes the raw bytes are already canonical: JSON
			// forbids raw control characters, and valid UTF-8 stays raw.
			s := in[start:i]
			st.out = append(st.out, '"')
			st.out = append(st.out, s...)
			st.out = append(st.out, '"')
			st.pos = i + 1
			return s, high, nil
		case c == '\\':
			return st.strEscaped(start, name)
		case c < 0x20:
			st.pos = i
			return nil, false, st.syntaxError()
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError {
				if size == 1 {
					return nil, false, errRawUTF8
				}
				st.sawFFFD = true
			}
			high = high || r >= 0xE000
			i += size
		}
	}
	st.pos = len(in)
	return nil, false, st.syntaxError()
}

// plainASCII marks the bytes that stand for themselves inside a JSON string
// and need no further look.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// strEscaped is the slow path of str for strings containing escapes: every
// escape is decoded and re-emitted in the single form JCS allows.
func (st *state) strEscaped(start int, name bool) (decoded []byte, high bool, err error) {
	in := st.in
	namesStart := len(st.names)
	st.out = append(st.out, '"')
	i := start
	for i < len(in) {
		c := in[i]
		switch {
		case c == '"':
			st.out = append(st.out, '"')
			st.pos = i + 1
			if name {
				return st.names[namesStart:], high, nil
			}
			return nil, false, nil
		case c == '\\':
			r, n, err := st.unescape(i)
			if err != nil {
				return nil, false, err
			}
			high = high || r >= 0xE000
			if r == utf8.RuneError || (r == '\\' && spellsFFFD(in[i+n:])) {
				// The second case is a string encoded with the ",string"
				// option: there the replacement is the text \ufffd.
				st.sawFFFD = true
			}
			i += n
			st.out = appendStringRune(st.out, r)
			if name {
				st.names = utf8.AppendRune(st.names, r)
			}
		case c < 0x20:
			st.pos = i
			return nil, false, st.syntaxError()
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(in) && plainASCII[in[j]] {
				j++
			}
			st.out = append(st.out, in[i:j]...)
			if name {
				st.names = append(st.names, in[i:j]...)
			}
			i = j
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError {
				if size == 1 {
					return nil, false, errRawUTF8
				}
				st.sawFFFD = true
			}
			high = high || r >= 0xE000
			st.out = append(st.out, in[i:i+size]...)
			if name {
				st.names = append(st.names, in[i:i+size]...)
			}
			i += size
		}
	}
	st.pos = len(in)
	return nil, false, st.syntaxError()
}

// unescape decodes the escape sequence at in[i] (a backslash), returning the
// rune and the number of bytes consumed. A surrogate pair spelled as two
// \u escapes is one rune; a lone surrogate has no UTF-8 form, so it is an
// error rather than a silent U+FFFD.
func (st *state) unescape(i int) (rune, int, error) {
	in := st.in
	if i+1 >= len(in) {
		st.pos = i
		return 0, 0, st.syntaxError()
	}
	switch in[i+1] {
	case '"':
		return '"', 2, nil
	case '\\':
		return '\\', 2, nil
	case '/':
		return '/', 2, nil
	case 'b':
		return '\b', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'u':
		r, ok := hex4(in[i+2:])
		if !ok {
			st.pos = i
			return 0, 0, st.syntaxError()
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return 0, 0, errLoneSurrogate
		case r >= 0xD800 && r <= 0xDBFF:
			if i+7 >= len(in) || in[i+6] != '\\' || in[i+7] != 'u' {
				return 0, 0, errLoneSurrogate
			}
			lo, ok := hex4(in[i+8:])
			if !ok {
				st.pos = i + 6
				return 0, 0, st.syntaxError()
			}
			if lo < 0xDC00 || lo > 0xDFFF {
				return 0, 0, errLoneSurrogate
			}
			return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12, nil
		}
		return r, 6, nil
	}
	st.pos = i
	return 0, 0, st.syntaxError()
}

// spellsFFFD reports whether b starts with "ufffd" (hex digits in any case).
func spellsFFFD(b []byte) bool {
	return len(b) >= 5 && b[0] == 'u' && (b[1]|0x20) == 'f' && (b[2]|0x20) == 'f' && (b[3]|0x20) == 'f' && (b[4]|0x20) == 'd'
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

const lowerHex = "0123456789abcdef"

// appendStringRune appends r as it must appear inside a JCS string: only
// '"', '\\' and control characters are escaped, using the short forms
// where JSON has them and lowercase \u00xx otherwise.
func appendStringRune(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\t':
		return append(dst, '\\', 't')
	case '\n':
		return append(dst, '\\', 'n')
	case '\f':
		return append(dst, '\\', 'f')
	case '\r':
		return append(dst, '\\', 'r')
	}
	if r < 0x20 {
		return append(dst, '\\', 'u', '0', '0', lowerHex[r>>4], lowerHex[r&0xF])
	}
	return utf8.AppendRune(dst, r)
}
