// Package scopedkey derives the key that idemhttp and idemgrpc store for a
// client's key sent by one scope (the caller's identity): one derivation,
// so that operators' tools (idemctl's -scope) work for both.
package scopedkey

import (
	"crypto/sha256"
	"encoding/hex"
)

// digestBytes is how much of the scope's SHA-256 a stored key keeps: scopes
// collide only if SHA-256 truncated to 128 bits does.
const digestBytes = 16

// PrefixLen is the length of what Stored puts before the client's key.
const PrefixLen = 2*digestBytes + 1

// Stored is hex(SHA-256(scope)[:16]) + ":" + key. The digest has a fixed
// length, so the split is unambiguous whatever the scope holds, and a long
// scope never eats into the client's key budget.
func Stored(scope, key string) string {
	sum := sha256.Sum256([]byte(scope))
	return hex.EncodeToString(sum[:digestBytes]) + ":" + key
}
