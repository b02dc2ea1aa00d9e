package canonical

import "unicode/utf8"

// appendJCSString appends s as a JCS string literal, producing the bytes
// the parser emits for encoding/json's encoding of s: plainASCII bytes and
// valid multi-byte runes (U+2028, U+2029 included) stay raw, the rest is
// escaped by appendStringRune. It reports false, leaving dst in an
// unspecified state, if s is not valid UTF-8: encoding/json would replace
// the bad bytes, and the slow path reports that as an error.
func appendJCSString(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	start, i := 0, 0
	for {
		for i < len(s) && plainASCII[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			dst = appendStringRune(dst, rune(c))
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return dst, false
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}

// hasHighRune reports whether the valid UTF-8 string s holds a rune >=
// U+E000, as the parser records for member names: exactly the runes whose
// leading byte is 0xEE or above, since continuation bytes stay below 0xC0.
func hasHighRune(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xEE {
			return true
		}
	}
	return false
}
