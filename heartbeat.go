package idempotency

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// heartbeat renews a claim's lease while fn runs and while its outcome is
// being written. It holds no goroutine between renewals: a timer runs each
// renewal and arms the next. Most calls end before the first renewal is
// due, and then the heartbeat costs one timer instead of a goroutine that
// must be scheduled once to start and once more to stop.
type heartbeat struct {
	mu          sync.Mutex
	timer       *time.Timer
	stopped     bool
	lastRenewed time.Time // when the last successful renewal (or the claim) was sent
	lease       time.Duration
	beating     sync.WaitGroup // a renewal in progress
	lost        atomic.Bool
}

// startHeartbeat renews lock every Lease/3. When a renewal finds the claim
// lost, or no renewal has succeeded for Lease - Lease/3 (so the lease may
// soon run out on the store's clock and another process may take the key
// over), it cancels fn's context with cause ErrLeaseLost: at most once beats
// finishing the work. Each renewal's deadline is capped at that give-up point,
// so a hanging connection cannot push the cancellation past the lease.
func (m *Manager[Req, Resp]) startHeartbeat(ctx context.Context, lock Lock, claimedAt time.Time, cancel context.CancelCauseFunc, obs *callObserver) *heartbeat {
	// lastRenewed is measured before the claim or renewal was sent, so the
	// local estimate of the lease's end is never later than the store's.
	hb := &heartbeat{lastRenewed: claimedAt, lease: m.core.cfg.Lease}
	interval := max(m.core.cfg.Lease/3, time.Millisecond)
	retry := max(interval/4, time.Millisecond)
	giveUp := func() time.Time { return hb.leaseEnd().Add(-interval) }
	beat := func() {
		if !hb.begin() {
			return
		}
		defer hb.beating.Done()
		sent := time.Now()
		deadline := sent.Add(interval)
		if g := giveUp(); g.Before(deadline) {
			deadline = g
		}
		rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		err := m.store.Renew(rctx, lock, m.core.cfg.Lease, m.core.cfg.TTL)
		rcancel()
		obs.storeOp(ctx, "renew", sent, err)
		switch {
		case err == nil:
			hb.renewed(sent)
			hb.rearm(interval)
		case errors.Is(err, ErrLeaseLost):
			m.core.log.Warn("idempotency: lease lost while fn ran; cancelling fn", m.core.keyAttr(lock.Key))
			hb.lost.Store(true)
			obs.leaseLost(ctx, err)
			cancel(ErrLeaseLost)
		case !time.Now().Before(giveUp()):
			m.core.log.Error("idempotency: lease could not be renewed before it may run out; cancelling fn", m.core.keyAttr(lock.Key), m.core.errAttr(err, lock.Key))
			hb.lost.Store(true)
			obs.leaseLost(ctx, err)
			cancel(ErrLeaseLost)
		default:
			m.core.log.Warn("idempotency: lease renewal failed; retrying", m.core.keyAttr(lock.Key), m.core.errAttr(err, lock.Key))
			hb.rearm(min(retry, time.Until(giveUp())))
		}
	}
	hb.mu.Lock()
	hb.timer = time.AfterFunc(interval, beat)
	hb.mu.Unlock()
	return hb
}

// begin marks a renewal in progress, unless the heartbeat was stopped.
func (hb *heartbeat) begin() bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.stopped {
		return false
	}
	hb.beating.Add(1)
	return true
}

// rearm schedules the next renewal, unless the heartbeat was stopped.
func (hb *heartbeat) rearm(d time.Duration) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if !hb.stopped {
		hb.timer.Reset(d)
	}
}

// renewed records a successful renewal sent at sent.
func (hb *heartbeat) renewed(sent time.Time) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.lastRenewed = sent
}

// leaseEnd is the local estimate of when the claim's lease runs out on the
// store's clock: never later than the store's own.
func (hb *heartbeat) leaseEnd() time.Time {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return hb.lastRenewed.Add(hb.lease)
}

// isLost reports whether the heartbeat has given the claim up.
func (hb *heartbeat) isLost() bool { return hb.lost.Load() }

// stop ends the heartbeat, waits for a renewal in progress to finish and
// reports whether the lease was lost. It is safe to call more than once.
func (hb *heartbeat) stop() bool {
	hb.mu.Lock()
	hb.stopped = true
	hb.timer.Stop()
	hb.mu.Unlock()
	hb.beating.Wait()
	return hb.lost.Load()
}
