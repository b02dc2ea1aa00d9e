package idempotency

import "github.com/idemkit/idempotency/internal/canonical"

// FingerprintVersion names the canonical form and hash behind [Fingerprint].
// The fingerprint a [Manager] stores is FingerprintVersion + ":" +
// Fingerprint(req), so a future change of format is visible in the data
// instead of silently turning every retry into [ErrRequestMismatch].
const FingerprintVersion = canonical.Version

// Canonical returns the canonical JSON form of v: v's encoding/json encoding
// rewritten per RFC 8785 (JSON Canonicalization Scheme). Object members are
// sorted by UTF-16 code units, strings are escaped exactly as JCS says (no
// HTML escaping; U+2028 and U+2029 raw), numbers are printed as ECMAScript
// prints them (-0 becomes 0, 1e21 becomes 1e+21), and there is no
// insignificant whitespace.
//
// One exception keeps requests apart: an integer written without fraction or
// exponent that a float64 cannot hold exactly keeps its exact digits, so
// 9007199254740993 and 9007199254740992 differ.
//
// Canonical never replaces invalid UTF-8: a string, map key or raw JSON that
// holds it is an error, because encoding/json would turn different byte
// strings into the same U+FFFD. Use []byte for binary data. Values
// encoding/json cannot encode (funcs, channels, NaN, cycles) are errors too.
func Canonical(v any) ([]byte, error) { return canonical.Marshal(v) }

// Fingerprint returns the lowercase hex SHA-256 of [Canonical](v): two values
// with the same JSON meaning have the same fingerprint, whatever their Go
// types or member order.
func Fingerprint(v any) (string, error) { return canonical.Fingerprint(v) }

// storedFingerprint is the versioned form a Manager persists:
// FingerprintVersion + ":" + Fingerprint(v).
func storedFingerprint(v any) (string, error) { return canonical.VersionedFingerprint(v) }
