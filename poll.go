package idempotency

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Polling bounds for a call waiting on a key held by another process.
const (
	pollMin = 10 * time.Millisecond
	pollMax = 500 * time.Millisecond
)

// poller spaces out store reads while waiting for another process's call:
// exponential backoff with jitter, so many waiters do not read in lockstep.
// Its zero value is ready to use.
type poller struct{ next time.Duration }

// wait sleeps until the next poll, or returns ErrInProgress once deadline has
// passed, or ctx's error.
func (p *poller) wait(ctx context.Context, deadline time.Time, lease time.Duration) error {
	left := time.Until(deadline)
	if left <= 0 {
		return ErrInProgress
	}
	if p.next == 0 {
		p.next = pollMin
	}
	d := min(p.next/2+rand.N(p.next/2+1), left)
	p.next = min(p.next*2, pollMax, max(lease/4, pollMin))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("idempotency: gave up waiting for the in-flight call: %w", ctxErr(ctx))
	}
}
