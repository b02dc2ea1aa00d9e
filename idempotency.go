package idempotency

import (
	"context"
	"time"
)

// State is the lifecycle state of a stored record. The zero value is
// [StateProcessing].
type State uint8

const (
	// StateProcessing: a caller owns the key and its function is running.
	// The record carries the owner's token and a lease.
	StateProcessing State = 0
	// StateCompleted: the function succeeded; Payload is the encoded
	// response, replayed until the record expires.
	StateCompleted State = 1
	// StateFailed: the function returned a [Permanent] error; Payload is the
	// error message, replayed as a [*StoredError] until the record expires.
	StateFailed State = 2
)

// String returns the state's lower-case name, as used in logs.
func (s State) String() string {
	switch s {
	case StateProcessing:
		return "processing"
	case StateCompleted:
		return "completed"
	case StateFailed:
		return "failed"
	}
	return "unknown"
}

// Record is what a [Store] returns when a claim finds the key taken. Its
// zero value is a processing record with no fingerprint.
type Record struct {
	// Fingerprint is the versioned request fingerprint stored at claim.
	Fingerprint string
	// State is processing, completed or failed.
	State State
	// Payload is the encoded response (completed) or the error message
	// (failed); nil while processing.
	Payload []byte
	// ExpiresIn is how long a finished record has left before it expires,
	// by the store's clock when the store read it; zero when the store
	// does not say (and always while processing). A [Cache] keeps a
	// replayed record no longer than this, counted from before the read
	// was sent, so a skewed host clock cannot stretch it.
	ExpiresIn time.Duration
}

// ClaimRequest asks a [Store] to make a caller the owner of one key. Its zero
// value is not a valid request: Key, Fingerprint and Token must be set and
// Lease and TTL must be positive.
type ClaimRequest struct {
	// Namespace and Key together identify the record. Both are compared as
	// exact bytes.
	Namespace, Key string
	// Fingerprint identifies the request; a lapsed lease is taken over only
	// by a request with the same fingerprint.
	Fingerprint string
	// Token is the new owner's secret, unique per claim.
	Token string
	// Lease is how long the claim holds without renewal, measured on the
	// store's clock.
	Lease time.Duration
	// TTL is how long a finished record is kept and how long an abandoned
	// processing record is kept after its lease ran out.
	TTL time.Duration
}

// ClaimResult is the answer to [Store.Claim]. Its zero value means "not
// claimed, processing record with no fingerprint".
type ClaimResult struct {
	// Claimed reports that the caller now owns the key under its token.
	Claimed bool
	// Record is the record that kept the caller from claiming; zero when
	// Claimed is true.
	Record Record
	// TookOver reports, with Claimed, that the claim replaced a processing
	// record of the same request whose lease had lapsed: its owner crashed
	// or lost touch with the store. For metrics; a store may leave it
	// false.
	TookOver bool
}

// Lock names a claim held by one owner: the identity and the owner's token.
// Every write after the claim carries it, so a stale owner changes nothing.
// Its zero value names no claim: writes with it report [ErrLeaseLost].
type Lock struct {
	Namespace, Key, Token string
}

// Store persists records as bytes. It knows nothing of request or response
// types, and holds no goroutines: all policy lives in [Manager] and
// [Cleaner]. Implementations must be safe for concurrent use by many
// goroutines and by many processes sharing the same storage, and must compare
// leases and expiry with one clock shared by all of them (a SQL store uses the
// database clock, never the application host's).
//
// Package idempotencytest holds the conformance suite every implementation
// must pass; package sqlstore is the implementation for PostgreSQL, MySQL and
// SQLite.
type Store interface {
	// Claim makes the caller the owner of (Namespace, Key) under Token, in
	// one atomic step, when the record is absent, expired (ExpiresAt past),
	// or processing with a lease that ran out and the same Fingerprint. A
	// new claim holds a lease of Lease and expires after Lease+TTL unless
	// renewed or finished.
	//
	// Otherwise it returns the existing record with Claimed false. It must
	// not write anything then, and should answer with a plain read that
	// takes no lock. (sqlstore does once retries are common; while nearly
	// every claim is a new key it tries the insert first, which on MySQL
	// and SQLite briefly locks when the key exists: see
	// sqlstore.ClaimOrder.) It never returns an expired record.
	Claim(ctx context.Context, req ClaimRequest) (ClaimResult, error)

	// Renew extends the lease of the claim held by lock to Lease from now
	// and its expiry to Lease+TTL from now. It returns an error wrapping
	// [ErrLeaseLost] when lock's token no longer owns a processing record
	// (taken over, released, finished or expired-and-deleted).
	Renew(ctx context.Context, lock Lock, lease, ttl time.Duration) error

	// Complete records the outcome of the claim held by lock: state
	// StateCompleted or StateFailed, with payload, kept for ttl from now.
	// It returns an error wrapping [ErrLeaseLost] when lock's token no
	// longer owns a processing record; then nothing is changed.
	Complete(ctx context.Context, lock Lock, state State, payload []byte, ttl time.Duration) error

	// Release deletes the processing record held by lock, so the next call
	// runs again. It returns an error wrapping [ErrLeaseLost] when lock's
	// token no longer owns a processing record; then nothing is changed.
	Release(ctx context.Context, lock Lock) error

	// DeleteExpired deletes at most limit records whose expiry has passed
	// and returns how many it deleted. It re-checks expiry on each row as it
	// deletes it, so a record claimed again a moment before is never
	// deleted, and it never holds locks long enough to stall Claim. Several
	// callers may run it at once.
	DeleteExpired(ctx context.Context, limit int) (int64, error)
}

// ExpiringStore is a [Store] that deletes expired records by itself, as
// redisstore does through Redis key expiry: its DeleteExpired has nothing to
// delete and a [Cleaner] is not needed. Package idempotencytest detects it
// and checks that expired records vanish instead of counting deletions.
type ExpiringStore interface {
	Store
	// ExpiresRecords reports whether the store deletes expired records by
	// itself.
	ExpiresRecords() bool
}
