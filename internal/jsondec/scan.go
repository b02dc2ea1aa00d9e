package jsondec

import (
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner reads JSON without whitespace, and no string that
// encoding/json would have to repair (invalid UTF-8, lone surrogates): what
// encoding/json.Marshal writes, and some valid JSON it does not write (\/,
// upper-case hex, 1E5), which it reads as encoding/json does. Every method
// leaves d.off after what it consumed, or reports false.

// consume skips c if it comes next.
func (d *decodeState) consume(c byte) bool {
	if d.off < len(d.data) && d.data[d.off] == c {
		d.off++
		return true
	}
	return false
}

// literal skips lit if it comes next. What follows it is checked by the
// caller, which expects a comma, a closing bracket or the end.
func (d *decodeState) literal(lit string) bool {
	if len(d.data)-d.off >= len(lit) && string(d.data[d.off:d.off+len(lit)]) == lit {
		d.off += len(lit)
		return true
	}
	return false
}

func (d *decodeState) null() bool { return d.literal("null") }

// enter starts a value of a container type: null, which leaves a zero value
// as it is, or the opening bracket, one level deeper. ok is false for
// anything else, and past maxDepth.
func (d *decodeState) enter(open byte, depth int) (inner int, null, ok bool) {
	if d.null() {
		return depth, true, true
	}
	if !d.consume(open) || depth >= maxDepth {
		return depth, false, false
	}
	return depth + 1, false, true
}

// next ends a container's member: done after the closing bracket, more
// after a comma, neither on anything else.
func (d *decodeState) next(end byte) (done, more bool) {
	if d.consume(end) {
		return true, false
	}
	return false, d.consume(',')
}

// digits reads the integer part of a number: 0, or a nonzero digit and
// more digits (JSON has no leading zeros). It reports false if there are
// none or the value overflows uint64.
func (d *decodeState) digits() (uint64, bool) {
	start := d.off
	var u uint64
	for d.off < len(d.data) {
		c := d.data[d.off]
		if c < '0' || c > '9' {
			break
		}
		if d.off > start && d.data[start] == '0' {
			return 0, false
		}
		digit := uint64(c - '0')
		if u > (1<<64-1-digit)/10 {
			return 0, false
		}
		u = u*10 + digit
		d.off++
	}
	return u, d.off > start
}

// numberContinues reports whether a fraction or an exponent follows an
// integer part: a number that is not an integer literal.
func (d *decodeState) numberContinues() bool {
	if d.off == len(d.data) {
		return false
	}
	c := d.data[d.off]
	return c == '.' || c == 'e' || c == 'E'
}

// number returns a number literal as the JSON grammar has it.
func (d *decodeState) number() ([]byte, bool) {
	start := d.off
	d.consume('-')
	first := d.off
	if !d.someDigits() || d.data[first] == '0' && d.off-first > 1 {
		return nil, false // no digits, or a leading zero
	}
	if d.consume('.') && !d.someDigits() {
		return nil, false
	}
	if d.consume('e') || d.consume('E') {
		if !d.consume('+') {
			d.consume('-')
		}
		if !d.someDigits() {
			return nil, false
		}
	}
	return d.data[start:d.off], true
}

// someDigits skips one or more decimal digits.
func (d *decodeState) someDigits() bool {
	start := d.off
	for d.off < len(d.data) && d.data[d.off] >= '0' && d.data[d.off] <= '9' {
		d.off++
	}
	return d.off > start
}

// plainString returns the bytes of a string literal that has no escapes,
// no control characters and only ASCII: an object key as encoding/json
// writes most field names, base64, a timestamp. The caller compares or decodes the bytes;
// anything else takes the route that unescapes.
func (d *decodeState) plainString() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.off
	for ; d.off < len(d.data); d.off++ {
		c := d.data[d.off]
		if c == '"' {
			s := d.data[start:d.off]
			d.off++
			return s, true
		}
		if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return nil, false
}

// plainKey returns an object key and skips the colon after it. Field
// names with escapes or beyond ASCII are compared by encoding/json.
func (d *decodeState) plainKey() ([]byte, bool) {
	k, ok := d.plainString()
	return k, ok && d.consume(':')
}

// string returns a string literal's value. It gives up where encoding/json
// would repair the input rather than reject it (invalid UTF-8, a lone
// surrogate: both become U+FFFD there), and on what it rejects.
func (d *decodeState) string() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start := d.off
	ascii := true
	for ; d.off < len(d.data); d.off++ {
		switch c := d.data[d.off]; {
		case c == '"':
			s := d.data[start:d.off]
			d.off++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\':
			return d.escapedString(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// escapedString finishes a string literal that started at start and has
// an escape at d.off.
func (d *decodeState) escapedString(start int) (string, bool) {
	d.buf = append(d.buf[:0], d.data[start:d.off]...)
	for d.off < len(d.data) {
		c := d.data[d.off]
		switch {
		case c == '"':
			d.off++
			if !utf8.Valid(d.buf) {
				return "", false
			}
			return string(d.buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			d.buf = append(d.buf, c)
			d.off++
			continue
		}
		if d.off+1 >= len(d.data) {
			return "", false
		}
		e := d.data[d.off+1]
		d.off += 2
		switch e {
		case '"', '\\', '/':
			d.buf = append(d.buf, e)
		case 'b':
			d.buf = append(d.buf, '\b')
		case 'f':
			d.buf = append(d.buf, '\f')
		case 'n':
			d.buf = append(d.buf, '\n')
		case 'r':
			d.buf = append(d.buf, '\r')
		case 't':
			d.buf = append(d.buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				if !d.literal(`\u`) {
					return "", false
				}
				r2, ok := d.hex4()
				if !ok {
					return "", false
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return "", false
				}
			}
			d.buf = utf8.AppendRune(d.buf, r)
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func (d *decodeState) hex4() (rune, bool) {
	if len(d.data)-d.off < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.off : d.off+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.off += 4
	return r, true
}
