// Package canonical produces the canonical JSON form of a Go value and its
// fingerprint, so that two requests carrying the same data always hash to
// the same key and two requests carrying different data never do.
//
// The form is RFC 8785 (JSON Canonicalization Scheme, JCS) applied to the
// output of encoding/json: object members sorted by their names compared
// as UTF-16 code units, no insignificant whitespace, strings escaped only
// where JCS requires it (no HTML escaping), and numbers printed the way
// ECMAScript's Number.prototype.toString prints them.
//
// One deliberate exception keeps distinct requests apart: JCS reads every
// number as an IEEE 754 double, so 9007199254740993 and 9007199254740992
// would share a fingerprint. An integer written without fraction or
// exponent therefore keeps its exact value: it takes the ECMAScript form
// only when it is exactly a double and that form spells all of its digits
// (1000000000000000000000 becomes 1e+21), and otherwise stays as written
// ("-0" still becomes "0"). Below 10^21 this means integers are emitted as
// written. Numbers with a fraction or an exponent follow JCS unchanged
// ("1E30" becomes "1e+30").
//
// Where JCS would silently lose information this package fails instead:
// strings that are not valid UTF-8 (which encoding/json would replace with
// U+FFFD), lone surrogate escapes, duplicate member names in raw JSON and
// numbers outside the range of a double are errors, never collisions.
//
// Most values never go through encoding/json: for plain types (no
// MarshalJSON or MarshalText methods, no float32, no ",string" fields) an
// encoder compiled once per type writes the canonical form directly. It
// produces exactly the bytes of the route through encoding/json, which
// every other value, and every value that fails, still takes.
//
// Fingerprints are persisted, so the output of this package must never
// change for a given input. Any change to the form requires a new Version.
package canonical
