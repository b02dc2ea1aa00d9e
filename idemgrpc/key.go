package idemgrpc

import (
	"fmt"
	"unicode/utf8"

	"github.com/idemkit/idempotency/internal/scopedkey"
)

// storedKey is the key the Manager stores for a client key sent by scope:
// see package scopedkey, shared with the other transport's package.
func storedKey(scope, key string) string { return scopedkey.Stored(scope, key) }

// scopePrefixLen is what the stored key puts before the client's key.
const scopePrefixLen = scopedkey.PrefixLen

// StoredKey returns the key under which the interceptor records a call a
// client made with key while its scope was scope: what an operator passes,
// with the interceptor's namespace ([Config.Namespace], [DefaultNamespace]
// when empty), to an [idempotency.Inspector]'s Inspect and Forget, or to
// idemctl with -scope. scope is what [Config.Scope] returned for the
// client's calls ("" without a Scope); key is the metadata value. It is the
// same derivation as idemhttp.StoredKey.
//
// StoredKey does not validate key: a key the interceptor would refuse (see
// [MaxKeyLen]) was never stored. It is a pure function, safe for concurrent
// use.
func StoredKey(scope, key string) string { return storedKey(scope, key) }

// checkKey returns the client's key from the values of the key metadata
// entry, or why it is refused; the message never repeats the (possibly
// huge or hostile) value itself.
func checkKey(mdKey string, values []string) (string, error) {
	if len(values) > 1 {
		return "", fmt.Errorf("the %s metadata entry was sent %d times; send it once", mdKey, len(values))
	}
	key := values[0]
	switch {
	case key == "":
		return "", fmt.Errorf("the %s metadata entry is empty; send a unique value such as a UUID", mdKey)
	case len(key) > MaxKeyLen:
		return "", fmt.Errorf("the %s metadata entry is %d bytes long; the limit is %d bytes", mdKey, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return "", fmt.Errorf("the %s metadata entry is not valid UTF-8", mdKey)
	}
	for i, r := range key {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return "", fmt.Errorf("the %s metadata entry holds a control character (U+%04X) at byte %d; use printable characters only", mdKey, r, i)
		}
	}
	return key, nil
}
