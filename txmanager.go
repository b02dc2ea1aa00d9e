package idempotency

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// TxManager runs a function at most once per idempotency key inside one
// database transaction with the claim and the recorded outcome, for
// functions whose effects are rows in the database that holds the keys (an
// order, a ledger entry, an outbox message). The claim, everything fn writes
// through tx and the outcome commit together, in one commit, or not at all:
// after a crash at any point either fn's writes and the outcome are both
// visible, or neither is and the key is free at once, with no lease to wait
// out. [Manager] cannot close that window: fn's own transaction and the
// recorded outcome are two commits there.
//
// fn must reach the database only through tx. A transaction that fails as a
// whole (a serialization failure or a deadlock) is run again from the start,
// fn included, a few times: anything fn does outside tx happens again. Calls
// to other services belong in a [Manager], which holds its claim across
// them instead of a transaction.
//
// Replays, mismatches, failures ([Permanent], panics) and Config behave as
// with Manager; the differences are listed on [TxManager.Do].
//
// A TxManager is safe for concurrent use by many goroutines; create one per
// operation (Namespace) and share it. Its zero value is not usable: call
// [NewTx].
type TxManager[Req, Resp, Tx any] struct {
	store TxStore[Tx]
	core  core[Resp] // the policy shared with Manager
}

// NewTx returns a TxManager that records outcomes in store and runs fn in
// store's transactions. It validates cfg and fills in defaults as [New]
// does; Config.Lease is the longest a transaction stays open. It starts no
// goroutines and touches no storage.
func NewTx[Req, Resp, Tx any](store TxStore[Tx], cfg Config) (*TxManager[Req, Resp, Tx], error) {
	if store == nil {
		return nil, errors.New("idempotency: NewTx: store is nil")
	}
	m := &TxManager[Req, Resp, Tx]{store: store}
	if err := m.core.init(cfg); err != nil {
		return nil, err
	}
	return m, nil
}

// Do opens a transaction, claims key in it, runs fn(ctx, tx, req) and
// records fn's value in the same transaction, then commits: a new key costs
// one commit. Every later call with the same key and request gets the
// recorded value instead, until Config.TTL has passed. It differs from
// [Manager.Do] in these points:
//
//   - An error from fn rolls back the transaction: fn's writes and the
//     claim are undone, the key is free, and Do returns the error
//     unchanged. A [Permanent] error rolls back fn's writes too, and the
//     failure is then recorded in a second transaction and replayed as a
//     [*StoredError]; a call that claims the key in between wins, which
//     commits no effect twice. A panic rolls back and panics again.
//   - A serialization failure or deadlock (from fn's statements, the
//     claim, the outcome or the commit) runs the whole transaction again,
//     fn included, up to a few times.
//   - There is no lease renewal: Config.Lease is the longest the
//     transaction may stay open. Past it, fn's context is cancelled with
//     cause [ErrLeaseLost], the transaction is rolled back and Do returns
//     an error wrapping ErrLeaseLost. Cancelling ctx rolls back as well.
//   - A duplicate of a call in flight (uncommitted) gets [ErrInProgress]
//     at once, whatever its request: the claim's fingerprint is not
//     visible until it commits, and a mismatch shows from then on. With
//     Config.Wait it waits for the outcome instead. In one process a
//     duplicate never reaches the database while the first call runs.
//   - When the commit fails, nothing was recorded and none of fn's writes
//     persist, or (a connection lost during COMMIT) the outcome is unknown:
//     Do returns fn's value with an error that says so. A retry with the
//     same key replays the outcome if it committed and runs fn again if it
//     did not; either way fn's writes are committed at most once.
//
// Use [TxManager.DoResult] to tell a replay from a first execution.
func (m *TxManager[Req, Resp, Tx]) Do(ctx context.Context, key string, req Req, fn func(ctx context.Context, tx Tx, req Req) (Resp, error)) (Resp, error) {
	r, err := m.DoResult(ctx, key, req, fn)
	return r.Value, err
}

// DoResult is [TxManager.Do] that also reports whether the outcome was
// replayed rather than produced by this call's fn.
func (m *TxManager[Req, Resp, Tx]) DoResult(ctx context.Context, key string, req Req, fn func(ctx context.Context, tx Tx, req Req) (Resp, error)) (Result[Resp], error) {
	var none Tx
	return m.run(ctx, false, none, key, req, fn)
}

// DoIn is [TxManager.Do] inside the caller's transaction tx, for a request
// whose other writes are already in tx. The library never commits or rolls
// back tx itself:
//
//   - A finished key is replayed from a plain read in tx, which locks
//     nothing. Otherwise the claim, fn's writes and the outcome are made
//     behind a savepoint in tx.
//   - fn succeeds: its writes and the outcome stay in tx, and become
//     visible (and replayable) when the caller commits tx. If the caller
//     rolls back tx, nothing happened and the key is free.
//   - fn fails: tx is rolled back to the savepoint, as it was before DoIn,
//     and the error returned unchanged; for a [Permanent] error the failure
//     is then recorded in tx, so it persists if the caller commits.
//   - A failure of tx as a whole (a serialization failure, a deadlock) is
//     returned, wrapped, for the caller to retry its transaction: DoIn
//     cannot run the caller's earlier statements again. In a PostgreSQL
//     REPEATABLE READ or SERIALIZABLE transaction, or an SQLite one that
//     has read, whose snapshot predates another call's commit of the same
//     key, the claim fails this way.
//   - Duplicates in this process wait for DoIn's flight but cannot share an
//     outcome that the caller has not committed; they see the key in
//     progress until the caller commits. On MySQL a duplicate from another
//     process that arrives after DoIn returned waits on the new row's lock
//     until the caller commits or rolls back.
//
// DoIn uses only tx, never another connection of the pool, so it works when
// the caller holds the pool's last connection. Config.Lease bounds fn: its
// context is cancelled past it, and DoIn rolls back to the savepoint and
// returns [ErrLeaseLost]. It does not bound tx, which the caller bounds; but
// pgx, lib/pq and go-sql-driver/mysql close the connection when a running
// statement's context is cancelled, and with it tx, so choose a Lease longer
// than fn ever needs.
func (m *TxManager[Req, Resp, Tx]) DoIn(ctx context.Context, tx Tx, key string, req Req, fn func(ctx context.Context, tx Tx, req Req) (Resp, error)) (Resp, error) {
	r, err := m.DoInResult(ctx, tx, key, req, fn)
	return r.Value, err
}

// DoInResult is [TxManager.DoIn] that also reports whether the outcome was
// replayed rather than produced by this call's fn.
func (m *TxManager[Req, Resp, Tx]) DoInResult(ctx context.Context, tx Tx, key string, req Req, fn func(ctx context.Context, tx Tx, req Req) (Resp, error)) (Result[Resp], error) {
	return m.run(ctx, true, tx, key, req, fn)
}

func (m *TxManager[Req, Resp, Tx]) run(ctx context.Context, joined bool, outer Tx, key string, req Req, fn func(context.Context, Tx, Req) (Resp, error)) (Result[Resp], error) {
	ctx, obs := m.core.startCall(ctx, key, true)
	if obs != nil {
		defer obs.panicked(ctx)
	}
	fp, err := checkCall(key, req, fn == nil)
	if err != nil {
		obs.end(ctx, false, err)
		return Result[Resp]{}, err
	}
	// A cached outcome was committed, so it answers DoIn as well.
	if res, err, ok := m.core.fromCache(key, fp); ok {
		obs.cacheHit()
		obs.end(ctx, res.Replayed, err)
		return res, err
	}
	c := &txCall[Req, Resp, Tx]{m: m, key: key, req: req, fp: fp, fn: fn, joined: joined, outer: outer, obs: obs}
	if m.core.cfg.Wait > 0 {
		c.deadline = time.Now().Add(m.core.cfg.Wait)
	}
	// Always through the flight, keyed by key alone and also without
	// Wait: an in-process duplicate, whatever its request, must not reach
	// the database, where on SQLite it would wait for the first call's
	// transaction instead of failing at once.
	res, err := m.core.shareFlight(ctx, key, fp, c.deadline, obs, c.attempt)
	obs.end(ctx, res.Replayed, err)
	return res, err
}

// txAttempts bounds how many times a transaction that failed as a whole
// (serialization failure, deadlock) runs.
const txAttempts = 8

// txCall is one TxManager call.
type txCall[Req, Resp, Tx any] struct {
	m        *TxManager[Req, Resp, Tx]
	key      string
	req      Req
	fp       string
	fn       func(context.Context, Tx, Req) (Resp, error)
	joined   bool          // DoIn: claim inside outer, behind a savepoint
	outer    Tx            // the caller's transaction, when joined
	deadline time.Time     // zero: do not wait for an in-flight call
	obs      *callObserver // nil without Config.Observer
}

// next says what attempt does after one claim-and-run.
type next uint8

const (
	finished      next = iota // return what the step returned
	waitThenRetry             // the key is in flight elsewhere: wait if allowed, then claim again
	runAgain                  // the transaction failed as a whole: run it again
)

// attempt claims the key and runs fn, again after a transaction that failed
// as a whole, and polling the store while another call holds the key and
// the wait deadline allows.
func (c *txCall[Req, Resp, Tx]) attempt(ctx context.Context, claimed func()) (Result[Resp], outcome, error) {
	var poll poller
	for failures := 1; ; {
		res, out, then, err := c.once(ctx, claimed)
		switch then {
		case finished:
			return res, out, err
		case waitThenRetry:
			if c.deadline.IsZero() {
				if err == nil {
					err = ErrInProgress
				}
				return Result[Resp]{}, outcome{}, err // wraps ErrInProgress, with what the store saw
			}
			waitStart := time.Now()
			err := poll.wait(ctx, c.deadline, c.m.core.cfg.Lease)
			c.obs.wait(time.Since(waitStart))
			if err != nil {
				return Result[Resp]{}, outcome{}, err
			}
		case runAgain:
			if failures == txAttempts {
				if c.obs != nil && !c.obs.fnRan {
					c.obs.failedClaim() // the store failed every transaction before fn
				} else {
					c.obs.outcomeNotRecorded()
				}
				return res, outcome{}, fmt.Errorf("idempotency: key %q: the transaction failed %d times (serialization failure or deadlock); nothing committed, retry later: %w", c.key, failures, err)
			}
			c.m.core.log.Debug("idempotency: transaction failed as a whole; running it again", c.m.core.keyAttr(c.key), "attempt", failures, c.m.core.errAttr(err, c.key))
			if err := backoff(ctx, failures); err != nil {
				return Result[Resp]{}, outcome{}, err
			}
			failures++
		}
	}
}

// once claims the key in a transaction and, when claimed, runs fn in it.
func (c *txCall[Req, Resp, Tx]) once(ctx context.Context, claimed func()) (Result[Resp], outcome, next, error) {
	m := c.m
	c.obs.newAttempt()
	req := ClaimRequest{
		Namespace:   m.core.cfg.Namespace,
		Key:         c.key,
		Fingerprint: c.fp,
		Token:       newToken(),
		Lease:       m.core.cfg.Lease,
		TTL:         m.core.cfg.TTL,
	}
	// The lease is the transaction's whole life: the claim, fn and the
	// commit. The store bounds the transaction with it and ends the
	// claim's context when it runs out; a replay opens no transaction and
	// needs no deadline.
	mark := m.core.mark(c.key)
	start := time.Now()
	claim, cr, err := c.claim(ctx, req)
	if errors.Is(err, ErrInProgress) {
		c.obs.storeOp(ctx, "claim", start, nil) // an answer, not a failure
	} else {
		c.obs.storeOp(ctx, "claim", start, err)
	}
	switch {
	case errors.Is(err, ErrInProgress):
		return Result[Resp]{}, outcome{}, waitThenRetry, err
	case err != nil && c.retryable(err):
		return Result[Resp]{}, outcome{}, runAgain, err
	case err != nil:
		c.obs.failedClaim()
		return Result[Resp]{}, outcome{}, finished, fmt.Errorf("idempotency: claim key %q: %w", c.key, err)
	case !cr.Claimed:
		if res, out, err, done := m.core.settle(c.fp, cr.Record); done {
			if c.joined {
				out = outcome{} // read in the caller's transaction: maybe its own, uncommitted
			} else {
				m.core.rememberRead(c.key, cr.Record, start, mark)
			}
			return res, out, finished, err
		}
		return Result[Resp]{}, outcome{}, waitThenRetry, nil
	}
	claimed()
	c.obs.claimed(cr.TookOver)
	return c.execute(ctx, claim.Context(), claim)
}

// claim claims the key in a transaction of its own, or in the caller's.
func (c *txCall[Req, Resp, Tx]) claim(ctx context.Context, req ClaimRequest) (ClaimedTx[Tx], ClaimResult, error) {
	if c.joined {
		return c.m.store.JoinTx(ctx, c.outer, req)
	}
	return c.m.store.BeginTx(ctx, req)
}

// execute runs fn in the claim's transaction and commits its outcome.
func (c *txCall[Req, Resp, Tx]) execute(ctx, txCtx context.Context, claim ClaimedTx[Tx]) (Result[Resp], outcome, next, error) {
	m := c.m
	// No recover: a panic keeps its original stack. The deferred rollback
	// runs while it unwinds (and on runtime.Goexit).
	returned := false
	defer func() {
		if !returned {
			c.rollback(ctx, claim, "fn panicked")
		}
	}()
	resp, fnErr := c.fn(txCtx, claim.Tx(), c.req)
	returned = true
	c.obs.ranFn()
	res := Result[Resp]{Value: resp}

	if leaseRanOut(txCtx) {
		c.rollback(ctx, claim, "the lease ran out")
		return res, outcome{}, finished, c.leaseLost(ctx, fnErr)
	}
	if fnErr != nil {
		c.rollback(ctx, claim, "fn returned an error")
		switch {
		case c.retryable(fnErr):
			return res, outcome{}, runAgain, fnErr
		case IsPermanent(fnErr):
			out, err := c.recordFailure(ctx, fnErr)
			if err != nil {
				c.obs.outcomeNotRecorded()
				return res, outcome{}, finished, errors.Join(fnErr, err)
			}
			c.obs.recordedFailure()
			return res, out, finished, fnErr
		}
		return res, outcome{}, finished, fnErr
	}

	payload, err := m.core.encode(resp)
	if err != nil {
		c.rollback(ctx, claim, "response not recorded")
		c.obs.outcomeNotRecorded()
		return res, outcome{}, finished, fmt.Errorf("%w; transaction rolled back", err)
	}
	start := time.Now()
	err = claim.Complete(txCtx, StateCompleted, payload, m.core.cfg.TTL)
	c.obs.storeOp(ctx, "complete", start, err)
	if err != nil {
		c.rollback(ctx, claim, "outcome not written")
		c.obs.outcomeNotRecorded()
		switch {
		case c.retryable(err):
			return res, outcome{}, runAgain, err
		case leaseRanOut(txCtx):
			return res, outcome{}, finished, c.leaseLost(ctx, err)
		}
		return res, outcome{}, finished, fmt.Errorf("idempotency: record outcome of key %q; transaction rolled back: %w", c.key, err)
	}
	start = time.Now()
	err = claim.Commit(txCtx)
	c.obs.storeOp(ctx, "commit", start, err)
	if err != nil {
		c.obs.outcomeNotRecorded()
		if c.joined { // the caller's transaction must not keep what DoIn reports as failed
			c.rollback(ctx, claim, "savepoint not released")
		}
		switch {
		case c.retryable(err):
			return res, outcome{}, runAgain, err
		// A COMMIT that was sent and failed may have committed, even when
		// the lease ran out meanwhile (its answer came too late): only a
		// commit the store refused because the lease had ended first, or
		// DoIn's savepoint, rolled back for sure.
		case leaseRanOut(txCtx) && (c.joined || errors.Is(err, ErrLeaseLost)):
			return res, outcome{}, finished, c.leaseLost(ctx, err)
		case c.joined:
			return res, outcome{}, finished, fmt.Errorf("idempotency: key %q: release savepoint: %w", c.key, err)
		}
		return res, outcome{}, finished, fmt.Errorf("idempotency: commit key %q: the outcome and fn's writes were committed together or not at all; retry with the same key to find out which: %w", c.key, err)
	}
	// An outcome that the caller has not committed yet is not shared.
	return res, outcome{settled: !c.joined, state: StateCompleted, payload: payload}, finished, nil
}

// recordFailure records fn's permanent failure after the rollback that
// undid fn's writes, in a new claim of its own: a new transaction, or a new
// savepoint in the caller's. A call that claimed the key in between wins,
// and its outcome stands. It returns the outcome to share with the flight's
// followers: none unless this call recorded it in its own transaction.
func (c *txCall[Req, Resp, Tx]) recordFailure(ctx context.Context, fnErr error) (outcome, error) {
	m := c.m
	msg := []byte(fnErr.Error())
	// fn has run and its failure is final, so the record is written even
	// when ctx is done, as Manager writes its outcomes.
	wctx, cancel := m.core.writeContext(ctx)
	defer cancel()
	req := ClaimRequest{Namespace: m.core.cfg.Namespace, Key: c.key, Fingerprint: c.fp, Token: newToken(), Lease: m.core.cfg.Lease, TTL: m.core.cfg.TTL}
	claim, cr, err := c.claim(wctx, req)
	if (err == nil && !cr.Claimed) || errors.Is(err, ErrInProgress) {
		// Another call got there first (after the rollback freed the
		// key): its outcome stands. Reporting this failure as not
		// recorded would send the caller back for a retry that meets the
		// same race again (the spin model found that cycle).
		return outcome{}, nil
	}
	if err == nil {
		if err = claim.Complete(wctx, StateFailed, msg, m.core.cfg.TTL); err != nil {
			c.rollback(wctx, claim, "failure not recorded")
		} else {
			err = claim.Commit(wctx)
		}
	}
	if err != nil {
		m.core.log.Error("idempotency: permanent failure not recorded", m.core.keyAttr(c.key), m.core.errAttr(err, c.key))
		return outcome{}, fmt.Errorf("%w: key %q: the permanent failure was not recorded; a retry runs fn again (none of its writes were committed): %w", ErrNotRecorded, c.key, err)
	}
	return outcome{settled: !c.joined, state: StateFailed, payload: msg}, nil
}

// rollback ends a claim undoing its work. It runs even when ctx is done, and
// a failure is only logged: the transaction is gone with the connection, or
// ends when the caller ends it.
func (c *txCall[Req, Resp, Tx]) rollback(ctx context.Context, claim ClaimedTx[Tx], why string) {
	rctx, cancel := c.m.core.writeContext(ctx)
	defer cancel()
	if err := claim.Rollback(rctx); err != nil {
		c.m.core.log.Warn("idempotency: rollback failed", c.m.core.keyAttr(c.key), "why", why, c.m.core.errAttr(err, c.key))
	}
}

// leaseLost is the error of a call whose lease ran out, wrapping cause when
// there is one.
func (c *txCall[Req, Resp, Tx]) leaseLost(ctx context.Context, cause error) error {
	c.obs.lost()
	c.obs.leaseLost(ctx, cause)
	what := "the transaction outlived Config.Lease and was rolled back"
	if c.joined {
		// A driver whose statement is cancelled may close the connection,
		// and the caller's transaction with it.
		what = "fn outlived Config.Lease; rolled back to the savepoint (if a statement of fn's was cancelled, the driver may have closed the connection and the caller's transaction with it)"
	}
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", ErrLeaseLost, what, cause)
	}
	return fmt.Errorf("%w: %s", ErrLeaseLost, what)
}

// retryable reports whether the transaction failed as a whole and may be
// run again here: only a transaction the library opened, since DoIn cannot
// repeat the caller's earlier statements.
func (c *txCall[Req, Resp, Tx]) retryable(err error) bool {
	return !c.joined && c.m.store.RetryableTx(err)
}

// leaseRanOut reports whether txCtx ended because the lease ran out.
func leaseRanOut(txCtx context.Context) bool {
	return txCtx.Err() != nil && errors.Is(context.Cause(txCtx), ErrLeaseLost)
}

// backoff waits a little before a transaction runs again, longer after each
// failure and with jitter, so that the rivals of a deadlock do not meet
// again in lockstep.
func backoff(ctx context.Context, failures int) error {
	d := time.Duration(rand.N(failures*5)+1) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("idempotency: gave up running the transaction again: %w", ctxErr(ctx))
	}
}
