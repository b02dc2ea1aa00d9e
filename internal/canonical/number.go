package canonical

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// number parses the JSON number at st.pos and appends its canonical form.
func (st *state) number() error {
	in := st.in
	start := st.pos
	i := start
	if in[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		i = skipDigits(in, i+1)
	default:
		st.pos = i
		return st.syntaxError()
	}
	intEnd := i
	var frac []byte
	if i < len(in) && in[i] == '.' {
		j := skipDigits(in, i+1)
		if j == i+1 {
			st.pos = j
			return st.syntaxError()
		}
		frac = in[i+1 : j]
		i = j
	}
	hasExp := false
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		hasExp = true
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		j := skipDigits(in, i)
		if j == i {
			st.pos = j
			return st.syntaxError()
		}
		i = j
	}
	st.pos = i
	lit := in[start:i]

	if frac == nil && !hasExp {
		st.out = appendInteger(st.out, lit, in[intStart:intEnd])
		return nil
	}
	if !hasExp && isShortestDecimal(in[intStart:intEnd], frac) {
		st.out = append(st.out, lit...)
		return nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		// The grammar was checked above, so this is overflow to ±Inf;
		// underflow quietly yields 0 as in ECMAScript.
		return fmt.Errorf("%w: number %s is out of the range of float64; send it as a string", ErrUnsupported, lit)
	}
	st.out = appendES6(st.out, f)
	return nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// appendInteger appends the canonical form of an integer literal lit whose
// digits (without sign) are digits.
//
// This is the package's one exception to RFC 8785. JCS prints the nearest
// double, so 9007199254740993 would collide with 9007199254740992, and the
// exactly representable 2^60 (which ECMAScript prints as
// 1152921504606847000) with 1152921504606847000. Instead an integer takes
// the ECMAScript form only if it is exactly a double and that form spells
// its exact value; otherwise it keeps its digits. Either way the output
// denotes exactly the integer written, so distinct integers never share a
// form, and the JCS output of any double stays a fixed point.
func appendInteger(dst, lit, digits []byte) []byte {
	if len(digits) == 1 && digits[0] == '0' {
		return append(dst, '0') // "-0" too
	}
	// Below 10^21 ECMAScript writes integers without exponent, so its
	// form, when exact, is the literal itself.
	if len(digits) <= 21 {
		return append(dst, lit...)
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err == nil && es6IsExact(f, digits) {
		return appendES6(dst, f)
	}
	// Not representable, not printed exactly, or beyond float64 entirely:
	// JSON allows any integer, and its digits are already canonical since
	// the grammar forbids leading zeros.
	return append(dst, lit...)
}

// es6IsExact reports whether f equals the integer with the given decimal
// digits and the ECMAScript form of f spells all of them.
func es6IsExact(f float64, digits []byte) bool {
	var buf [400]byte // 'f' format of the largest float64 has 309 digits
	exact := strconv.AppendFloat(buf[:0], math.Abs(f), 'f', 0, 64)
	if !bytes.Equal(exact, digits) {
		return false
	}
	var sbuf [32]byte
	mant, exp := shortest(sbuf[:0], math.Abs(f))
	return exp+1 == len(digits) && bytes.Equal(mant, bytes.TrimRight(digits, "0"))
}

// isShortestDecimal reports whether a plain decimal int.frac (no exponent)
// is already what ECMAScript would print for its value, sparing a float
// round trip for everyday amounts such as 12.34. That holds when it has no
// trailing zero, at most 15 significant digits (so no shorter decimal maps
// to the same double) and fewer than 6 zeros after "0." (where ECMAScript
// switches to exponent form).
func isShortestDecimal(intDigits, frac []byte) bool {
	if frac[len(frac)-1] == '0' {
		return false
	}
	if len(intDigits) == 1 && intDigits[0] == '0' {
		z := 0
		for frac[z] == '0' {
			z++
		}
		return z <= 5 && len(frac)-z <= 15
	}
	return len(intDigits)+len(frac) <= 15
}

// shortest appends to dst the shortest decimal digits that round-trip to
// f > 0 and returns them with the decimal exponent of the first digit.
func shortest(dst []byte, f float64) (digits []byte, exp int) {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d[.ddd]e±dd
	e := bytes.IndexByte(b, 'e')
	for _, c := range b[:e] {
		if c != '.' {
			dst = append(dst, c)
		}
	}
	for _, c := range b[e+2:] {
		exp = exp*10 + int(c-'0')
	}
	if b[e+1] == '-' {
		exp = -exp
	}
	return dst, exp
}

// appendES6 appends f as ECMAScript's Number.prototype.toString prints it
// (ECMA-262, Number::toString), which is what RFC 8785 prescribes. f must
// be finite.
func appendES6(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0') // -0 included
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	d, exp := shortest(buf[:0], f)
	k := len(d)
	n := exp + 1 // value = 0.d1..dk × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
