package idemgrpc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// A stored key is hex(SHA-256(scope)[:16]) + ":" + the client's key, the
// same derivation as idemhttp's, so operators' tools (idemctl's -scope) work
// for both. The digest has a fixed length, so the split is unambiguous
// whatever the scope holds, and a long scope never eats into the client's
// key budget.
const (
	scopeDigestBytes = 16
	scopePrefixLen   = 2*scopeDigestBytes + 1
)

func storedKey(scope, key string) string {
	sum := sha256.Sum256([]byte(scope))
	return hex.EncodeToString(sum[:scopeDigestBytes]) + ":" + key
}

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
