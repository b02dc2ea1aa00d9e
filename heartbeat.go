package idempotency

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// heartbeat renews a claim's lease while fn runs and while its outcome is
// being written.
type heartbeat struct {
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
	lost  atomic.Bool
}

// startHeartbeat renews lock every Lease/3. When a renewal finds the claim
// lost, or no renewal has succeeded for Lease - Lease/3 (so the lease may
// soon run out on the store's clock and another process may take the key
// over), it cancels fn's context with cause ErrLeaseLost: at most once beats
// finishing the work. Each renewal's deadline is capped at that give-up point,
// so a hanging connection cannot push the cancellation past the lease.
func (m *Manager[Req, Resp]) startHeartbeat(ctx context.Context, lock Lock, claimedAt time.Time, cancel context.CancelCauseFunc) *heartbeat {
	hb := &heartbeat{stopc: make(chan struct{}), done: make(chan struct{})}
	interval := max(m.cfg.Lease/3, time.Millisecond)
	retry := max(interval/4, time.Millisecond)
	go func() {
		defer close(hb.done)
		// Measured before the claim was sent, so the local estimate of the
		// lease's end is never later than the store's.
		lastRenewed := claimedAt
		giveUp := func() time.Time { return lastRenewed.Add(m.cfg.Lease - interval) }
		timer := time.NewTimer(interval)
		defer timer.Stop()
		for {
			select {
			case <-hb.stopc:
				return
			case <-timer.C:
			}
			sent := time.Now()
			deadline := sent.Add(interval)
			if g := giveUp(); g.Before(deadline) {
				deadline = g
			}
			rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
			err := m.store.Renew(rctx, lock, m.cfg.Lease, m.cfg.TTL)
			rcancel()
			switch {
			case err == nil:
				lastRenewed = sent
				timer.Reset(interval)
			case errors.Is(err, ErrLeaseLost):
				m.log.Warn("idempotency: lease lost while fn ran; cancelling fn", "key", lock.Key)
				hb.lost.Store(true)
				cancel(ErrLeaseLost)
				return
			case !time.Now().Before(giveUp()):
				m.log.Error("idempotency: lease could not be renewed before it may run out; cancelling fn", "key", lock.Key, "err", err)
				hb.lost.Store(true)
				cancel(ErrLeaseLost)
				return
			default:
				m.log.Warn("idempotency: lease renewal failed; retrying", "key", lock.Key, "err", err)
				timer.Reset(min(retry, time.Until(giveUp())))
			}
		}
	}()
	return hb
}

// isLost reports whether the heartbeat has given the claim up.
func (hb *heartbeat) isLost() bool { return hb.lost.Load() }

// stop ends the heartbeat, waits for its goroutine to exit and reports
// whether the lease was lost. It is safe to call more than once.
func (hb *heartbeat) stop() bool {
	hb.once.Do(func() { close(hb.stopc) })
	<-hb.done
	return hb.lost.Load()
}
