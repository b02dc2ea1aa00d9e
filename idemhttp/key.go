package idemhttp

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/idemkit/idempotency/internal/scopedkey"
)

// storedKey is the key the Manager stores for a client key sent by scope:
// see package scopedkey, shared with the other transport's package.
func storedKey(scope, key string) string { return scopedkey.Stored(scope, key) }

// scopePrefixLen is what the stored key puts before the client's key.
const scopePrefixLen = scopedkey.PrefixLen

// keyError is why a key header was refused; its message is the problem's
// detail, so it never repeats the (possibly huge or hostile) value itself.
type keyError struct{ detail string }

func (e *keyError) Error() string { return e.detail }

func badKey(format string, args ...any) error {
	return &keyError{detail: fmt.Sprintf(format, args...)}
}

// parseKey returns the client's key from the values of the key header. It
// accepts a Structured Field string (RFC 8941 sf-string: "..." with \" and
// \\ escapes, printable ASCII), as the IETF draft specifies, and a bare value
// (what most clients, Stripe's among them, send). "abc" and abc are the same
// key.
func parseKey(header string, values []string) (string, error) {
	if len(values) > 1 {
		return "", badKey("the %s header was sent %d times; send it once", header, len(values))
	}
	v := strings.Trim(values[0], " \t")
	if v == "" {
		return "", badKey("the %s header is empty; send a unique value such as a UUID", header)
	}
	key := v
	if v[0] == '"' {
		var err error
		if key, err = unquote(header, v); err != nil {
			return "", err
		}
	}
	switch {
	case key == "":
		return "", badKey("the %s header holds an empty string; send a unique value such as a UUID", header)
	case len(key) > MaxKeyLen:
		return "", badKey("the %s header is %d bytes long; the limit is %d bytes", header, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return "", badKey("the %s header is not valid UTF-8", header)
	}
	for i, r := range key {
		if isControl(r) {
			return "", badKey("the %s header holds a control character (U+%04X) at byte %d; use printable characters only", header, r, i)
		}
	}
	return key, nil
}

// unquote decodes an RFC 8941 sf-string that makes up the whole of v.
func unquote(header, v string) (string, error) {
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\':
			i++
			if i == len(v) || (v[i] != '"' && v[i] != '\\') {
				return "", badKey("the quoted %s header has an invalid escape at byte %d: only \\\" and \\\\ are allowed", header, i-1)
			}
			b.WriteByte(v[i])
		case c == '"':
			if i != len(v)-1 {
				return "", badKey("the quoted %s header has data after its closing quote at byte %d; send one key", header, i)
			}
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return "", badKey("the quoted %s header holds byte 0x%02x at offset %d; a quoted key is printable ASCII only", header, c, i)
		default:
			b.WriteByte(c)
		}
	}
	return "", badKey("the quoted %s header has no closing quote", header)
}

// isControl reports the C0 and C1 control characters and DEL.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}
