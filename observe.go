package idempotency

import (
	"context"
	"errors"
	"time"
)

// Observer receives what [Manager] and [TxManager] do, for metrics and
// traces (package idemotel implements one on OpenTelemetry). Every hook is
// optional; a nil *Observer in Config costs one nil check per event.
//
// Hooks run synchronously on the goroutine that does the work, so they must
// be quick, must not call back into the Manager, and must be safe for
// concurrent use. The zero value observes nothing.
type Observer struct {
	// CallStart runs when a call to Do, DoResult, DoIn or DoInResult
	// begins, before the key is checked. The context it returns, when not
	// nil, is the call's from then on (a tracer starts its span here) and
	// is the one CallEnd receives.
	CallStart func(ctx context.Context, call CallInfo) context.Context
	// CallEnd runs exactly once per call, when it returns (also when fn
	// panics: with OutcomePanic, before the panic goes on).
	CallEnd func(ctx context.Context, call CallInfo, end CallEnd)
	// StoreOp runs after each operation the call makes on the store, and
	// after each renewal of its lease.
	StoreOp func(ctx context.Context, op StoreOp)
	// LeaseLost runs when a call's lease is lost while fn runs: a renewal
	// found the key taken over, or renewals failed until the lease might
	// have run out. fn's context is cancelled right after.
	LeaseLost func(ctx context.Context, call CallInfo, err error)
}

// CallInfo names one call. Its zero value is a call to a Manager in the
// empty namespace.
type CallInfo struct {
	// Namespace is the Manager's Config.Namespace.
	Namespace string
	// Key is the call's key. It is there for logs and span events of
	// your own: it is unbounded in number and may carry personal data, so
	// never make it a metric attribute (idemotel does not).
	Key string
	// Transactional is true for a [TxManager] call.
	Transactional bool
}

// CallEnd is how a call ended. Its zero value is an executed call that took
// no time.
type CallEnd struct {
	// Outcome classifies the call; it is low in cardinality, fit for a
	// metric attribute.
	Outcome Outcome
	// Duration is the call's wall time.
	Duration time.Duration
	// Waited is the part of Duration spent waiting for another call of
	// the same key (Config.Wait): in this process on its flight, or
	// polling the store.
	Waited time.Duration
	// TookOver reports that the call claimed a key whose previous owner's
	// lease had lapsed (a crashed or cut-off process).
	TookOver bool
	// Cached reports that Config.Cache answered the call (a replay or a
	// mismatch) without a store read.
	Cached bool
	// Err is what the call returned.
	Err error
}

// Outcome classifies how a call ended.
type Outcome string

// The outcomes a call can end with.
const (
	// OutcomeExecuted: fn ran and its value was recorded.
	OutcomeExecuted Outcome = "executed"
	// OutcomeReplayed: fn did not run; a recorded value or permanent
	// failure was returned.
	OutcomeReplayed Outcome = "replayed"
	// OutcomeMismatch: the key belongs to another request
	// ([ErrRequestMismatch]).
	OutcomeMismatch Outcome = "mismatch"
	// OutcomeInProgress: another call holds the key ([ErrInProgress]).
	OutcomeInProgress Outcome = "in_progress"
	// OutcomeFnError: fn returned an ordinary error; the key was released.
	OutcomeFnError Outcome = "fn_error"
	// OutcomePermanentFailure: fn returned a [Permanent] error, recorded.
	OutcomePermanentFailure Outcome = "permanent_failure"
	// OutcomeNotRecorded: fn ran but its outcome could not be recorded
	// ([ErrNotRecorded], [ErrResponseTooLarge], a failed commit).
	OutcomeNotRecorded Outcome = "not_recorded"
	// OutcomeLeaseLost: the call's claim was lost while fn ran
	// ([ErrLeaseLost]).
	OutcomeLeaseLost Outcome = "lease_lost"
	// OutcomeStoreError: the store failed before fn could run, or kept
	// failing a transaction as a whole; fn did not run.
	OutcomeStoreError Outcome = "store_error"
	// OutcomeInvalid: the key or the request was refused before anything
	// else ([ErrInvalidKey], a request that cannot be fingerprinted).
	OutcomeInvalid Outcome = "invalid"
	// OutcomeCanceled: the caller's context ended before fn ran (while
	// the call claimed the key or waited for it).
	OutcomeCanceled Outcome = "canceled"
	// OutcomePanic: fn panicked (or called runtime.Goexit, as t.FailNow
	// does); the key was released.
	OutcomePanic Outcome = "panic"
	// OutcomeError: anything else, such as a recorded response that can no
	// longer be decoded.
	OutcomeError Outcome = "error"
)

// StoreOp is one operation on the store. Its zero value is an operation
// with no name that took no time and succeeded.
type StoreOp struct {
	// Namespace is the calling Manager's.
	Namespace string
	// Op names the operation: "claim", "renew", "complete" or "release"
	// (TxManager: "claim", "complete" and "commit", in its transaction).
	Op string
	// Duration is the operation's wall time.
	Duration time.Duration
	// Err is the store's error, nil on success. A lost lease
	// ([ErrLeaseLost]) is an answer, not a failure of the store.
	Err error
}

// callObserver tracks one call for an Observer. A nil *callObserver (no
// Observer configured) does nothing.
type callObserver struct {
	obs   *Observer
	info  CallInfo
	start time.Time

	// What the library decided, set where it decides: the outcome is
	// never read off the returned error, which may be fn's own and wrap
	// anything.
	fnRan       bool // fn returned (it may have failed)
	claimFailed bool // the store failed before fn ran
	notRecorded bool // fn's outcome could not be recorded
	lostLease   bool // the claim was lost while fn ran
	permanent   bool // fn's permanent failure was recorded
	tookOver    bool
	cached      bool // answered from Config.Cache
	waited      time.Duration
	ended       bool
}

// startCall begins observing a call. It returns nil when there is no
// Observer, so that every method below costs a nil check.
func (c *core[Resp]) startCall(ctx context.Context, key string, transactional bool) (context.Context, *callObserver) {
	obs := c.cfg.Observer
	if obs == nil {
		return ctx, nil
	}
	o := &callObserver{obs: obs, info: CallInfo{Namespace: c.cfg.Namespace, Key: key, Transactional: transactional}, start: time.Now()}
	if obs.CallStart != nil {
		if octx := obs.CallStart(ctx, o.info); octx != nil {
			ctx = octx
		}
	}
	return ctx, o
}

// end reports the call's outcome, once.
func (o *callObserver) end(ctx context.Context, replayed bool, err error) {
	if o == nil || o.ended {
		return
	}
	o.ended = true
	if o.obs.CallEnd == nil {
		return
	}
	o.obs.CallEnd(ctx, o.info, CallEnd{
		Outcome:  o.classify(ctx, replayed, err),
		Duration: time.Since(o.start),
		Waited:   o.waited,
		TookOver: o.tookOver,
		Cached:   o.cached,
		Err:      err,
	})
}

// panicked reports a call whose fn panicked, if end has not run.
func (o *callObserver) panicked(ctx context.Context) {
	if o == nil || o.ended {
		return
	}
	o.ended = true
	if o.obs.CallEnd != nil {
		o.obs.CallEnd(ctx, o.info, CallEnd{Outcome: OutcomePanic, Duration: time.Since(o.start), Waited: o.waited, TookOver: o.tookOver})
	}
}

func (o *callObserver) classify(ctx context.Context, replayed bool, err error) Outcome {
	if err == nil {
		if replayed {
			return OutcomeReplayed
		}
		return OutcomeExecuted
	}
	if o.fnRan {
		switch {
		case o.lostLease:
			return OutcomeLeaseLost
		case o.notRecorded:
			return OutcomeNotRecorded
		case o.permanent:
			return OutcomePermanentFailure
		}
		return OutcomeFnError
	}
	switch {
	case replayed:
		return OutcomeReplayed // a recorded permanent failure
	case errors.Is(err, ErrRequestMismatch):
		return OutcomeMismatch
	case errors.Is(err, ErrInProgress):
		return OutcomeInProgress
	case errors.Is(err, ErrInvalidKey), errors.Is(err, errNotFingerprinted):
		return OutcomeInvalid
	case ctx.Err() != nil:
		// The caller went away (a client that hung up): not the store's
		// failure, even when the claim was the statement it cut short.
		return OutcomeCanceled
	case o.claimFailed || o.notRecorded:
		return OutcomeStoreError
	}
	return OutcomeError
}

// storeOp reports one store operation begun at start.
func (o *callObserver) storeOp(ctx context.Context, op string, start time.Time, err error) {
	if o == nil || o.obs.StoreOp == nil {
		return
	}
	o.obs.StoreOp(ctx, StoreOp{Namespace: o.info.Namespace, Op: op, Duration: time.Since(start), Err: err})
}

// leaseLost reports the loss of the call's lease.
func (o *callObserver) leaseLost(ctx context.Context, err error) {
	if o == nil || o.obs.LeaseLost == nil {
		return
	}
	o.obs.LeaseLost(ctx, o.info, err)
}

// failedClaim notes that the store failed before fn could run.
func (o *callObserver) failedClaim() {
	if o != nil {
		o.claimFailed = true
	}
}

// claimed notes a successful claim, and whether it took over a lapsed one.
func (o *callObserver) claimed(tookOver bool) {
	if o != nil && tookOver {
		o.tookOver = true
	}
}

// cacheHit notes that Config.Cache answered the call.
func (o *callObserver) cacheHit() {
	if o != nil {
		o.cached = true
	}
}

// lost notes that the call's claim was lost while fn ran.
func (o *callObserver) lost() {
	if o != nil {
		o.lostLease = true
	}
}

// recordedFailure notes that fn's permanent failure was recorded.
func (o *callObserver) recordedFailure() {
	if o != nil {
		o.permanent = true
	}
}

// ranFn notes that fn returned.
func (o *callObserver) ranFn() {
	if o != nil {
		o.fnRan = true
	}
}

// outcomeNotRecorded notes that fn's outcome could not be recorded.
func (o *callObserver) outcomeNotRecorded() {
	if o != nil {
		o.notRecorded = true
	}
}

// newAttempt forgets what an earlier transaction of the call noted: it
// failed as a whole and runs again.
func (o *callObserver) newAttempt() {
	if o != nil {
		o.fnRan, o.notRecorded, o.lostLease, o.permanent = false, false, false, false
	}
}

// wait adds d to the time the call spent waiting.
func (o *callObserver) wait(d time.Duration) {
	if o != nil {
		o.waited += d
	}
}
