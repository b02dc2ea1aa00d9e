package idempotency

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound reports that a store holds no live record for a namespace and
// key: it was never claimed, was released or forgotten, or has expired (an
// expired record is reported as absent even before a [Cleaner] deletes it,
// since it is never replayed). Returned by [Inspector.Inspect].
var ErrNotFound = errors.New("idempotency: no record for this key: never claimed, released, forgotten or expired")

// RecordInfo describes one stored record, for operators: what
// [Inspector.Inspect] returns. Times are the store's clock (the database's,
// or the Redis server's), in UTC. Its zero value describes nothing: a
// processing record with no times. It is a plain value: copies are
// independent and safe to share between goroutines.
type RecordInfo struct {
	// Namespace and Key identify the record, as stored. For idemhttp the
	// stored key is derived from the scope and the client's key: see
	// idemhttp.StoredKey.
	Namespace, Key string
	// State is processing, completed or failed.
	State State
	// Fingerprint is the request fingerprint stored at claim: a call with
	// the same key and another fingerprint gets [ErrRequestMismatch].
	Fingerprint string
	// Created is when the record was claimed (or last taken over).
	Created time.Time
	// Expires is when the record stops being replayed and its key is free
	// for any request. While processing it moves with every renewal. Zero
	// for a record without expiry, which the stores never write (a Redis
	// key someone made persistent by hand).
	Expires time.Time
	// LeaseHeld reports a processing record whose lease has not run out: its
	// owner is (as far as the store can tell) alive. False for a lapsed
	// lease, which the next call with the same request takes over, and for
	// a finished record.
	LeaseHeld bool
	// LeaseUntil is when the processing record's lease runs out (or ran
	// out, when LeaseHeld is false). Zero for a finished record.
	LeaseUntil time.Time
	// Now is the store's clock when the record was read: compare the other
	// times with it, not with the local clock.
	Now time.Time
	// PayloadBytes is the size of the recorded response (completed) or
	// error message (failed); 0 while processing.
	PayloadBytes int
}

// Inspector is implemented by stores that let an operator look up one key
// and forget it: *sqlstore.Store and *redisstore.Store do. Detect it with a
// type assertion:
//
//	if in, ok := store.(idempotency.Inspector); ok { info, err := in.Inspect(ctx, "charges", key) }
//
// The cmd/idemctl tool uses it. Implementations are safe for concurrent use,
// as their Store is.
type Inspector interface {
	// Inspect returns the live record of (namespace, key), read with the
	// store's clock, or an error wrapping [ErrNotFound] when there is none:
	// absent or expired. It reads only, and takes no lock. An invalid key
	// or namespace gives an error wrapping [ErrInvalidKey].
	Inspect(ctx context.Context, namespace, key string) (RecordInfo, error)

	// Forget deletes the live record of (namespace, key) whatever its
	// state, an operator's override, and reports whether there was one;
	// the next call with the key runs fn, whatever its request. Use it for
	// a key stuck behind a hung owner, or an outcome that must not be
	// replayed again.
	//
	// Forgetting a processing record does not stop its owner: its function
	// runs on until its next renewal (about Lease/3 later) finds the claim
	// gone and cancels its context, and its Renew, Complete or Release
	// then gets [ErrLeaseLost], so its outcome is not recorded. A second
	// call may run fn meanwhile: forget a processing key only when its
	// owner is known to be dead or stuck, or running twice is acceptable.
	Forget(ctx context.Context, namespace, key string) (bool, error)
}
