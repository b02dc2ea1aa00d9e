// Package idempotency runs a function at most once per idempotency key and
// replays the recorded outcome to every retry, across goroutines, processes
// and hosts that share one database.
//
// A retried request must not charge a card twice:
//
//	m, err := idempotency.New[ChargeReq, Charge](store, idempotency.Config{Namespace: "charges"})
//	...
//	charge, err := m.Do(ctx, key, req, chargeCard)
//
// The store is usually a [github.com/idemkit/idempotency/sqlstore.Store] on
// PostgreSQL, MySQL/MariaDB or SQLite; HTTP servers use
// [github.com/idemkit/idempotency/idemhttp].
//
// # The guarantee
//
// For one identity — ([Config].Namespace, key) — and while its outcome is
// kept (Config.TTL after it was recorded), at most one call runs fn to a
// recorded outcome, and every other call with the same request gets that
// outcome instead of running fn. A call with the same key and a different
// request gets [ErrRequestMismatch]. "Request" means the canonical JSON of
// req ([Canonical]), hashed ([Fingerprint]). fn runs again only when no
// outcome was recorded: it returned an ordinary error, panicked, returned a
// value that could not be encoded or was over Config.MaxResponseBytes, or
// its claim lapsed (the process died, or could not renew its lease for
// Config.Lease).
//
// The boundary is the database: the library knows that fn finished only when
// its outcome is committed. Two windows remain, and both are documented
// rather than hidden:
//
//   - fn's side effects outside the database are not rolled back when fn
//     fails, panics or loses its lease; a retry runs fn again. Make external
//     calls idempotent themselves where you can (pass the key on to your
//     payment provider).
//   - When the outcome cannot be written after fn succeeded, Do returns the
//     value with [ErrNotRecorded]: a retry after the lease runs out will run
//     fn again.
//
// # States
//
// A record moves: absent → processing (an owner token and a lease) →
// completed (the encoded response) or failed (a permanent error). Processing
// goes back to absent when fn returns an ordinary error or panics. A
// processing record whose lease ran out can be taken over by a call with the
// same request, under a new token; a finished record past its expiry is
// absent. The [Store] compares leases and expiry with the database clock, so
// hosts with skewed clocks agree.
//
// # What Do returns
//
//   - First execution: fn's value and error.
//   - Replay: the recorded value after the [Codec] round trip, or a
//     [*StoredError] carrying the recorded message. [Manager.DoResult]
//     reports Replayed, for an Idempotent-Replayed header, metrics and logs.
//   - [ErrInProgress]: another call holds the key and did not finish within
//     Config.Wait (HTTP 409).
//   - [ErrRequestMismatch]: the key belongs to another request (HTTP 422).
//   - [ErrInvalidKey]: empty, over [MaxKeyLen] bytes, invalid UTF-8 or NUL
//     (HTTP 400).
//   - [ErrLeaseLost]: this call lost its claim (taken over after the lease
//     ran out, or renewals failed for too long); nothing was recorded.
//   - [ErrNotRecorded], [ErrResponseTooLarge]: see above and [Config].
//
// # Failure policy
//
// An error from fn releases the key and is returned unchanged, so a retry
// runs fn again: timeouts and outages are usually worth retrying. Wrap it
// with [Permanent] when a retry cannot help (card declined): it is recorded
// and replayed as a [*StoredError]. A panic releases the key and keeps
// panicking.
//
// # Leases
//
// A claim holds for Config.Lease and is renewed about every Lease/3 while fn
// runs, so fn may run for as long as it needs. If the process dies, the key
// is free for a retry one Lease after the last renewal. If a renewal finds
// the claim taken over, or renewals keep failing until the lease may have run
// out, fn's context is cancelled with cause [ErrLeaseLost]: fn should honour
// its context. A late owner's writes carry its old token and change nothing.
//
// # Waiting
//
// With Config.Wait > 0 a duplicate waits for the in-flight call and replays
// its outcome. Duplicates inside one process share one execution and wait on
// a channel; duplicates in other processes poll the store with backoff.
//
// # When fn writes to the same database: TxManager
//
// With [Manager], fn's own transaction and the recorded outcome are two
// commits; a crash between them leaves fn's rows committed and the key
// claimed, and a retry after the lease runs fn again. [TxManager] runs fn
// inside one transaction with the claim and the outcome: fn's writes through
// tx and the outcome commit together, one commit per new key, or not at all,
// and a crashed call's key is free at once.
//
//	orders, err := idempotency.NewTx[PlaceOrder, Order](store, idempotency.Config{Namespace: "orders"})
//	...
//	order, err := orders.Do(ctx, key, req, func(ctx context.Context, tx *sqlx.Tx, req PlaceOrder) (Order, error) {
//		// insert the order and an outbox message through tx
//	})
//
// Use TxManager when fn's effects are rows in the database that holds the
// keys, and Manager when fn calls other services (a payment provider): a
// transaction cannot roll those back, and TxManager holds its transaction
// open, with whatever row locks fn took, for as long as fn runs. fn must
// reach the database only through tx: a transaction that fails as a whole
// (a deadlock, a serialization failure) runs fn again. Config.Lease is the
// longest the transaction stays open. [TxManager.DoIn] runs in a transaction
// the caller already has, behind a savepoint; the caller commits.
//
// A duplicate of a call in flight gets [ErrInProgress] at once (or, with
// Config.Wait, the outcome once it commits), never waiting on the first
// call's row lock. On SQLite, which has one writer at a time, a duplicate
// from another process waits for the writer; within one process duplicates
// never reach the database. A Manager and a TxManager may serve one
// namespace: neither runs fn for a key the other recorded, but a Manager's
// duplicate waits for a TxManager's commit instead of failing at once.
//
// # Replays from memory
//
// Config.Cache (package idemcache has one) keeps finished outcomes in the
// process's memory, so that a retry storm on keys it has replayed is
// answered without a store read. An entry never outlives its record: the
// store says how long the record has left, counted here from before the
// read was sent. A new key pays nothing for it.
// [Manager.Forget] drops a key from the store and the cache; a key forgotten
// by another process may still be replayed from this one's cache until the
// cache's bound on an entry's age (a minute by default). See [Cache].
//
// # Cleanup
//
// Expired outcomes are never replayed, whether or not anything deletes them.
// A [Cleaner] deletes them in bounded batches in the background.
//
// # Operations
//
// The stores in this module implement [Inspector], which looks one key up
// (state, times, lease, fingerprint) and forgets it, and [StatsReader],
// which counts records by namespace and state; cmd/idemctl does both, and
// runs the schema, migrations and cleanup, from the command line.
//
// # Concurrency
//
// [Manager], [TxManager], [Cleaner] and the stores in this module are safe
// for concurrent use. Create one Manager per operation at start-up and share
// it.
package idempotency
