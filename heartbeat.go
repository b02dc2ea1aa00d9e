package idempotency

import (
	"context"
	"errors"
	"sync"
	"time"
)

// heartbeat renews a claim's lease while fn runs.
type heartbeat struct {
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
	lost  bool // written by the goroutine before done is closed
}

// startHeartbeat renews lock every Lease/3. When a renewal finds the claim
// lost, or renewals have failed for so long that the lease may have run out on
// the store's clock (so another process may be running fn), it cancels fn's
// context with cause ErrLeaseLost: at most once beats finishing the work.
func (m *Manager[Req, Resp]) startHeartbeat(ctx context.Context, lock Lock, claimedAt time.Time, cancel context.CancelCauseFunc) *heartbeat {
	hb := &heartbeat{stopc: make(chan struct{}), done: make(chan struct{})}
	interval := m.cfg.Lease / 3
	go func() {
		defer close(hb.done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		lastRenewed := claimedAt // measured before the statement was sent: conservative
		for {
			select {
			case <-hb.stopc:
				return
			case <-ticker.C:
			}
			sent := time.Now()
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), interval)
			err := m.store.Renew(rctx, lock, m.cfg.Lease, m.cfg.TTL)
			rcancel()
			switch {
			case err == nil:
				lastRenewed = sent
			case errors.Is(err, ErrLeaseLost):
				m.log.Warn("idempotency: lease lost while fn ran; cancelling fn", "key", lock.Key)
				hb.lost = true
				cancel(ErrLeaseLost)
				return
			default:
				m.log.Warn("idempotency: lease renewal failed", "key", lock.Key, "err", err)
				if time.Since(lastRenewed) >= m.cfg.Lease-interval {
					m.log.Error("idempotency: lease could not be renewed before it ran out; cancelling fn", "key", lock.Key)
					hb.lost = true
					cancel(ErrLeaseLost)
					return
				}
			}
		}
	}()
	return hb
}

// stop ends the heartbeat, waits for its goroutine to exit and reports
// whether the lease was lost.
func (hb *heartbeat) stop() bool {
	hb.once.Do(func() { close(hb.stopc) })
	<-hb.done
	return hb.lost
}
