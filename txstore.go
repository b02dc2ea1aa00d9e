package idempotency

import (
	"context"
	"time"
)

// TxStore is a [Store] that can also hold a claim inside a database
// transaction, so that a [TxManager] commits the claim, the function's own
// writes and the recorded outcome together. Tx is the transaction type the
// function receives (for package sqlstore, *sqlx.Tx).
//
// The contract, beyond [Store]'s:
//
//   - A claim held in a transaction is invisible to other callers until it
//     commits, and never makes them wait for the function: a caller that
//     meets a claim in flight gets an error wrapping [ErrInProgress] from
//     BeginTx or JoinTx without waiting on its row lock (each backend has
//     its own way; a backend with one writer at a time, such as SQLite,
//     waits for the writer instead and says so).
//   - BeginTx and JoinTx answer a finished record with a plain read that
//     writes nothing and takes no lock where the backend allows it, as
//     [Store.Claim] does.
//   - Rolling back a claim leaves nothing behind: the key is free at once.
//
// Implementations must be safe for concurrent use. Package sqlstore is the
// implementation for PostgreSQL, MySQL and SQLite.
type TxStore[Tx any] interface {
	Store

	// BeginTx opens a transaction and claims req's key in it. When the
	// claim succeeds it returns the claim, holding the open transaction.
	// The transaction lives at most req.Lease from the moment it was
	// opened, and no longer than ctx: then the store rolls it back and the
	// claim's Context is done, with cause [ErrLeaseLost] when the lease
	// ran out. The store has the server enforce the lease too where it
	// can. When the key is taken it returns, with a nil claim and no
	// transaction left open, the record that holds it
	// (ClaimResult.Record), or an error wrapping [ErrInProgress] for a
	// claim in flight in another transaction.
	BeginTx(ctx context.Context, req ClaimRequest) (ClaimedTx[Tx], ClaimResult, error)

	// JoinTx claims req's key inside the caller's transaction tx, behind
	// a savepoint, and otherwise answers as BeginTx. It never commits or
	// rolls back tx: the claim's Commit and Rollback release or roll back
	// to the savepoint, and whether anything persists is decided when the
	// caller commits or rolls back tx. A failed JoinTx leaves tx as it was
	// (save that on PostgreSQL a failed statement aborts the transaction).
	// It must use no connection but tx's: the caller may hold the pool's
	// last one. The claim's Context ends req.Lease after JoinTx began, but
	// tx lives as long as its caller keeps it.
	JoinTx(ctx context.Context, tx Tx, req ClaimRequest) (ClaimedTx[Tx], ClaimResult, error)

	// RetryableTx reports whether err (from the store or from the
	// function's statements in the transaction, possibly wrapped) means the
	// transaction failed as a whole and running it again from the start is
	// safe and likely to succeed: a serialization failure or a deadlock.
	RetryableTx(err error) bool
}

// ClaimedTx is a claim held inside a transaction, returned by
// [TxStore.BeginTx] and [TxStore.JoinTx]. Exactly one of Commit and Rollback
// ends it. It is used by one goroutine at a time.
type ClaimedTx[Tx any] interface {
	// Tx returns the transaction the claim is held in, for the function's
	// own statements.
	Tx() Tx

	// Context returns the context of the claim's statements and the
	// function: ctx of BeginTx or JoinTx, done too when the claim's lease
	// runs out (with cause [ErrLeaseLost]) and when the claim ends.
	Context() context.Context

	// Complete records the outcome in the transaction: state
	// StateCompleted or StateFailed, with payload, kept for ttl from the
	// moment of the statement. It returns an error wrapping [ErrLeaseLost]
	// when the claim is no longer held.
	Complete(ctx context.Context, state State, payload []byte, ttl time.Duration) error

	// Commit ends the claim keeping its work: it commits a transaction
	// BeginTx opened, or releases JoinTx's savepoint.
	Commit(ctx context.Context) error

	// Rollback ends the claim undoing its work and the function's: it
	// rolls back a transaction BeginTx opened, or rolls back to JoinTx's
	// savepoint.
	Rollback(ctx context.Context) error
}
