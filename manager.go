package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Manager runs a function at most once per idempotency key and replays the
// recorded outcome to every retry. Req is the request type, fingerprinted to
// detect a key reused with another request; Resp is the response type,
// encoded with Config.Codec for replay.
//
// A Manager is safe for concurrent use by many goroutines; create one per
// operation (Namespace) and share it. Many Managers in many processes may
// share one [Store]. Its zero value is not usable: call [New].
type Manager[Req, Resp any] struct {
	store Store
	core  core[Resp] // the policy shared with TxManager
}

// Result is the outcome of [Manager.DoResult]: the value and whether it was
// replayed. Its zero value is a zero Value that was not replayed.
type Result[Resp any] struct {
	// Value is the function's value on a first execution, or the recorded
	// value, decoded with Config.Codec, on a replay.
	Value Resp
	// Replayed reports that the function did not run for this call: Value
	// (or a [*StoredError]) is the outcome another call recorded. Use it
	// for an Idempotent-Replayed header, metrics and logs.
	Replayed bool
}

// New returns a Manager that records outcomes in store. It validates cfg and
// fills in defaults; it starts no goroutines and touches no storage.
func New[Req, Resp any](store Store, cfg Config) (*Manager[Req, Resp], error) {
	if store == nil {
		return nil, errors.New("idempotency: New: store is nil")
	}
	m := &Manager[Req, Resp]{store: store}
	if err := m.core.init(cfg); err != nil {
		return nil, err
	}
	return m, nil
}

// Do runs fn(ctx, req) at most once for key within the Manager's namespace and
// returns its outcome; every later call with the same key and request gets the
// recorded outcome instead, until Config.TTL has passed.
//
//   - A new key: fn runs under a lease that is renewed while it runs; its
//     value is recorded and returned.
//   - A finished key: fn does not run; the recorded value, or a
//     [*StoredError] for a recorded [Permanent] failure, is returned.
//   - The same key with a different request: [ErrRequestMismatch]; fn
//     does not run.
//   - A key in progress elsewhere: [ErrInProgress], or with Config.Wait the
//     other call's outcome once it is recorded.
//   - An invalid key: [ErrInvalidKey]; a request that cannot be
//     fingerprinted: an error saying why. fn does not run.
//
// When fn returns an error, the key is released so a retry runs fn again, and
// Do returns that error unchanged; wrap it with [Permanent] to record it
// instead. When fn panics, the key is released and the panic continues.
//
// When the lease is lost while fn runs (a renewal found the key taken over,
// or renewals failed until the lease might run out), fn's context is
// cancelled with cause [ErrLeaseLost]. If fn returns its value all the same,
// Do still tries to record it: the write carries the claim's token, so it
// succeeds only if the key is still this call's (as it is after an outage
// that kept every other caller out too), and otherwise Do returns an error
// wrapping ErrLeaseLost. If fn returns an error, Do returns it wrapped with
// ErrLeaseLost.
//
// Once fn has returned, its outcome is written even if ctx is cancelled:
// each attempt keeps ctx's values and is bounded by min(Config.Lease, 5s)
// instead (by nothing more than ctx, when ctx can never be cancelled).
// Failed attempts are retried, with backoff up to a second, for as long as
// the claim's lease would hold (Config.Lease after its last renewal), since
// until then no other caller can take the key: in a database outage Do may
// take about that long to return. When the outcome still cannot be written,
// Do returns fn's value with an error wrapping [ErrNotRecorded]. A claim that
// failed may have been written all the same (its answer lost): Do then
// removes it, with a write bounded as above, so a failed claim may also
// take up to that bound longer than ctx allows.
//
// Use [Manager.DoResult] to tell a replay from a first execution.
func (m *Manager[Req, Resp]) Do(ctx context.Context, key string, req Req, fn func(context.Context, Req) (Resp, error)) (Resp, error) {
	r, err := m.DoResult(ctx, key, req, fn)
	return r.Value, err
}

// DoResult is [Manager.Do] that also reports whether the outcome was
// replayed rather than produced by this call's fn.
func (m *Manager[Req, Resp]) DoResult(ctx context.Context, key string, req Req, fn func(context.Context, Req) (Resp, error)) (Result[Resp], error) {
	ctx, obs := m.core.startCall(ctx, key, false)
	if obs != nil {
		defer obs.panicked(ctx)
	}
	fp, err := checkCall(key, req, fn == nil)
	if err != nil {
		obs.end(ctx, false, err)
		return Result[Resp]{}, err
	}
	if res, err, ok := m.core.fromCache(key, fp); ok {
		obs.cacheHit()
		obs.end(ctx, res.Replayed, err)
		return res, err
	}
	c := call[Req, Resp]{m: m, key: key, req: req, fp: fp, fn: fn, obs: obs}
	var res Result[Resp]
	if m.core.cfg.Wait <= 0 {
		res, err = c.run(ctx)
	} else {
		c.deadline = time.Now().Add(m.core.cfg.Wait)
		res, err = c.runShared(ctx)
	}
	obs.end(ctx, res.Replayed, err)
	return res, err
}

// call is one Do invocation.
type call[Req, Resp any] struct {
	m        *Manager[Req, Resp]
	key      string
	req      Req
	fp       string
	fn       func(context.Context, Req) (Resp, error)
	deadline time.Time     // zero: do not wait for an in-flight call
	obs      *callObserver // nil without Config.Observer
}

// runShared joins the in-process flight for the same key and request, or
// leads one, so duplicates in one process wait on a channel rather than on
// the store.
func (c *call[Req, Resp]) runShared(ctx context.Context) (Result[Resp], error) {
	id := c.key + "\x00" + c.fp // keys never contain NUL
	return c.m.core.shareFlight(ctx, id, c.fp, c.deadline, c.obs, func(ctx context.Context, _ func()) (Result[Resp], outcome, error) {
		return c.attempt(ctx)
	})
}

func (c *call[Req, Resp]) run(ctx context.Context) (Result[Resp], error) {
	res, _, err := c.attempt(ctx)
	return res, err
}

// attempt claims the key, polling the store while another process holds it
// and the wait deadline allows, then runs fn or replays.
func (c *call[Req, Resp]) attempt(ctx context.Context) (Result[Resp], outcome, error) {
	m := c.m
	var poll poller
	for {
		lock := Lock{Namespace: m.core.cfg.Namespace, Key: c.key, Token: newToken()}
		mark := m.core.mark(c.key)
		claimedAt := time.Now()
		cr, err := m.store.Claim(ctx, ClaimRequest{
			Namespace:   lock.Namespace,
			Key:         lock.Key,
			Fingerprint: c.fp,
			Token:       lock.Token,
			Lease:       m.core.cfg.Lease,
			TTL:         m.core.cfg.TTL,
		})
		c.obs.storeOp(ctx, "claim", claimedAt, err)
		if err != nil {
			c.obs.failedClaim()
			// The claim may have been written although its answer was
			// lost (a cut connection, ctx cancelled while it waited):
			// the row would hold the key for a whole lease under a
			// token only this call knows. The release carries that
			// token, so it removes that row and nothing else.
			m.releaseLostClaim(ctx, lock, c.obs)
			return Result[Resp]{}, outcome{}, fmt.Errorf("idempotency: claim key %q: %w", c.key, err)
		}
		if cr.Claimed {
			c.obs.claimed(cr.TookOver)
			return c.execute(ctx, lock, claimedAt)
		}
		if res, out, err, done := m.core.settle(c.fp, cr.Record); done {
			m.core.rememberRead(c.key, cr.Record, claimedAt, mark)
			return res, out, err
		}
		if c.deadline.IsZero() {
			return Result[Resp]{}, outcome{}, ErrInProgress
		}
		waitStart := time.Now()
		err = poll.wait(ctx, c.deadline, m.core.cfg.Lease)
		c.obs.wait(time.Since(waitStart))
		if err != nil {
			return Result[Resp]{}, outcome{}, err
		}
	}
}

// execute runs fn under the claim held by lock and records its outcome.
func (c *call[Req, Resp]) execute(ctx context.Context, lock Lock, claimedAt time.Time) (Result[Resp], outcome, error) {
	m := c.m
	fnCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hb := m.startHeartbeat(ctx, lock, claimedAt, cancel, c.obs)

	// No recover: a panic keeps its original stack. The deferred release
	// runs while it unwinds (and on runtime.Goexit).
	returned := false
	defer func() {
		if !returned {
			hb.stop()
			m.release(ctx, lock, "fn panicked", c.obs)
		}
	}()
	resp, fnErr := c.fn(fnCtx, c.req)
	returned = true
	c.obs.ranFn()
	// The heartbeat keeps the lease while the outcome is written, so that
	// retried completions do not outlive it; every exit below stops it.
	defer hb.stop()

	res := Result[Resp]{Value: resp}
	// A heartbeat that gave up (renewals failed, or found the claim taken
	// over) cancelled fn, but fn may have finished anyway, and a claim
	// whose renewals failed in an outage may well still be ours: the
	// completion and the release below carry the token, so they change
	// nothing if another caller owns the key now, and they say so.
	if hb.isLost() && fnErr != nil {
		hb.stop()
		c.obs.lost()
		m.release(ctx, lock, "fn returned an error after the lease was given up", c.obs)
		return res, outcome{}, fmt.Errorf("%w (fn returned: %w)", ErrLeaseLost, fnErr)
	}

	if fnErr != nil {
		if !IsPermanent(fnErr) {
			hb.stop()
			m.release(ctx, lock, "fn returned an error", c.obs)
			return res, outcome{}, fnErr
		}
		msg := []byte(fnErr.Error())
		if err := m.complete(ctx, lock, StateFailed, msg, hb.leaseEnd, c.obs); err != nil {
			c.notWritten(err)
			return res, outcome{}, errors.Join(fnErr, err)
		}
		c.obs.recordedFailure()
		return res, outcome{settled: true, state: StateFailed, payload: msg}, fnErr
	}

	payload, err := m.core.encode(resp)
	if err != nil {
		hb.stop()
		m.release(ctx, lock, "response not recorded", c.obs)
		c.obs.outcomeNotRecorded()
		return res, outcome{}, fmt.Errorf("%w; key released", err)
	}
	if err := m.complete(ctx, lock, StateCompleted, payload, hb.leaseEnd, c.obs); err != nil {
		c.notWritten(err)
		return res, outcome{}, err
	}
	return res, outcome{settled: true, state: StateCompleted, payload: payload}, nil
}

// notWritten notes why complete failed: the claim was lost, or the outcome
// could not be written. err is complete's own, never fn's.
func (c *call[Req, Resp]) notWritten(err error) {
	if errors.Is(err, ErrLeaseLost) {
		c.obs.lost()
	} else {
		c.obs.outcomeNotRecorded()
	}
}

// Finishing writes are retried: the function's side effect has happened, so
// losing its outcome is worse than a delay.
const (
	completeAttempts   = 4 // at least, however soon the lease runs out
	completeBackoff    = 50 * time.Millisecond
	completeBackoffMax = time.Second
	writeTimeoutLimit  = 5 * time.Second
)

// complete records the outcome. It retries failures other than a lost claim
// until the claim's lease would have run out (leaseEnd, the heartbeat's
// estimate), for one lease at most, and at least completeAttempts times: while the lease holds
// nobody else can take the key, so an outage shorter than the lease loses
// nothing, and a completion that comes too late changes nothing (it carries
// the token) and says so. It runs even when ctx is cancelled: fn has run.
func (m *Manager[Req, Resp]) complete(ctx context.Context, lock Lock, state State, payload []byte, leaseEnd func() time.Time, obs *callObserver) error {
	var err error
	backoff := completeBackoff
	// Renewals during the completion move leaseEnd on; one lease from now
	// bounds the retries all the same, so a completion the store keeps
	// refusing (a payload too large for it, say) is reported, not retried
	// for ever.
	limit := time.Now().Add(m.core.cfg.Lease)
	for attempt := 1; ; attempt++ {
		actx, cancel := m.core.writeContext(ctx)
		start := time.Now()
		err = m.store.Complete(actx, lock, state, payload, m.core.cfg.TTL)
		cancel()
		obs.storeOp(ctx, "complete", start, err)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrLeaseLost) {
			return fmt.Errorf("idempotency: record outcome of key %q: %w", lock.Key, err)
		}
		if next := time.Now().Add(backoff); attempt >= completeAttempts && (next.After(leaseEnd()) || next.After(limit)) {
			break
		}
		m.core.log.Warn("idempotency: recording outcome failed; retrying while the lease holds", m.core.keyAttr(lock.Key), "attempt", attempt, m.core.errAttr(err, lock.Key))
		time.Sleep(backoff)
		backoff = min(backoff*2, completeBackoffMax)
	}
	m.core.log.Error("idempotency: outcome not recorded", m.core.keyAttr(lock.Key), m.core.errAttr(err, lock.Key))
	return fmt.Errorf("%w: key %q: %w", ErrNotRecorded, lock.Key, err)
}

// releaseLostClaim removes a claim whose answer was lost, if it was
// written; usually it was not, so a release that finds nothing is not worth
// a warning.
func (m *Manager[Req, Resp]) releaseLostClaim(ctx context.Context, lock Lock, obs *callObserver) {
	wctx, cancel := m.core.writeContext(ctx)
	defer cancel()
	start := time.Now()
	err := m.store.Release(wctx, lock)
	obs.storeOp(ctx, "release", start, err)
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		m.core.log.Debug("idempotency: release after a failed claim failed; the key is free once its lease runs out", m.core.keyAttr(lock.Key), m.core.errAttr(err, lock.Key))
	}
}

// release frees the key after fn failed; a failure only delays retries until
// the lease runs out, so it is logged rather than returned.
func (m *Manager[Req, Resp]) release(ctx context.Context, lock Lock, why string, obs *callObserver) {
	wctx, cancel := m.core.writeContext(ctx)
	defer cancel()
	start := time.Now()
	err := m.store.Release(wctx, lock)
	obs.storeOp(ctx, "release", start, err)
	switch {
	case err == nil:
	case errors.Is(err, ErrLeaseLost):
		// Another call owns the key now, or it expired: nothing to free.
		m.core.log.Debug("idempotency: nothing to release: the claim was already lost", m.core.keyAttr(lock.Key), "why", why, m.core.errAttr(err, lock.Key))
	default:
		m.core.log.Warn("idempotency: release failed; the key is free again once its lease runs out", m.core.keyAttr(lock.Key), "why", why, m.core.errAttr(err, lock.Key))
	}
}
