package canonical

import (
	"cmp"
	"unicode/utf8"
)

// compareUTF16 orders two valid UTF-8 strings by their UTF-16 code units,
// as RFC 8785 requires for member names.
//
// UTF-8 byte order equals code point order, which differs from UTF-16
// order only between U+E000..U+FFFF and the supplementary planes (whose
// surrogates D800..DFFF sort first in UTF-16). So bytes are compared
// directly and only the first differing rune is decoded, and only when it
// is not ASCII.
func compareUTF16[T ~string | ~[]byte](a, b T) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	if a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
		return cmp.Compare(a[i], b[i])
	}
	// The common prefix may end inside a multi-byte rune; both strings
	// share that rune's leading bytes, so back up to its start.
	for i > 0 && a[i]&0xC0 == 0x80 {
		i--
	}
	// At most one rune's bytes, so that converting a []byte needs no
	// allocation.
	ra, _ := utf8.DecodeRuneInString(string(a[i:min(len(a), i+utf8.UTFMax)]))
	rb, _ := utf8.DecodeRuneInString(string(b[i:min(len(b), i+utf8.UTFMax)]))
	return cmp.Compare(utf16Key(ra), utf16Key(rb))
}

// utf16Key maps a rune to a value whose order is the UTF-16 code unit order:
// U+E000..U+FFFF move above the supplementary planes.
func utf16Key(r rune) rune {
	if r >= 0xE000 && r <= 0xFFFF {
		return r + 0x200000
	}
	return r
}
