package idempotency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

// TestOutageShorterThanLeaseLosesNothing: the database refuses completions
// for longer than a few quick retries (about 0.4 s) but comes back within the
// lease. While the lease holds nobody can take the key over, so the
// completion keeps trying and the outcome is recorded: no ErrNotRecorded,
// and no second run of fn after the lease.
func TestOutageShorterThanLeaseLosesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		dbDown := errors.New("connection refused")
		flaky := &hookStore{Store: s}
		failures := 6 // 50+100+200+400+800+1000 ms of backoff
		flaky.complete = func(ctx context.Context, l idempotency.Lock, st idempotency.State, p []byte, ttl time.Duration) error {
			if failures > 0 {
				failures--
				return dbDown
			}
			return s.Complete(ctx, l, st, p, ttl)
		}
		m := newManager[charge, receipt](t, flaky, idempotency.Config{Lease: 10 * time.Second})
		if _, err := m.Do(ctx, "k", charge{Amount: 1}, okFn); err != nil {
			t.Fatalf("completion failing for %d attempts within the lease: %v; want it recorded", 6, err)
		}
		if r, err := m.DoResult(ctx, "k", charge{Amount: 1}, okFn); err != nil || !r.Replayed {
			t.Fatalf("retry = %+v, %v; want the outcome replayed", r, err)
		}
	})
}

// TestGivenUpLeaseStillRecordsOutcome: renewals fail until the heartbeat
// gives the lease up and cancels fn, but fn finishes anyway and the
// database answers again. The claim is still this call's (nobody could take
// it over: the same outage kept them out too), so the guarded completion
// records the outcome instead of leaving the key processing for a retry to
// run fn again after the lease.
func TestGivenUpLeaseStillRecordsOutcome(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		flaky := &hookStore{Store: s}
		flaky.renew = func(context.Context, idempotency.Lock, time.Duration, time.Duration) error {
			return errors.New("connection refused")
		}
		m := newManager[charge, receipt](t, flaky, idempotency.Config{Lease: 300 * time.Millisecond})
		var runs counter
		r, err := m.DoResult(ctx, "k", charge{Amount: 1}, func(ctx context.Context, c charge) (receipt, error) {
			runs.inc("k")
			<-ctx.Done() // the heartbeat gave up
			if !errors.Is(context.Cause(ctx), idempotency.ErrLeaseLost) {
				t.Errorf("fn's context ended with %v, want ErrLeaseLost", context.Cause(ctx))
			}
			return receipt{ID: "r1", Amount: c.Amount}, nil // the charge went through anyway
		})
		if err != nil || r.Value.ID != "r1" {
			t.Fatalf("Do = %+v, %v; want fn's value recorded", r, err)
		}
		flaky.mu.Lock()
		flaky.renew = nil
		flaky.mu.Unlock()
		if r, err := m.DoResult(ctx, "k", charge{Amount: 1}, okFn); err != nil || !r.Replayed || r.Value.ID != "r1" {
			t.Fatalf("retry = %+v, %v; want r1 replayed", r, err)
		}
		if runs.get("k") != 1 {
			t.Fatalf("fn ran %d times, want 1", runs.get("k"))
		}
	})
}

// TestClaimWithLostAnswerIsReleased: the claim's INSERT commits but its
// answer never arrives (a cut connection). The row holds the key under a
// token only that call knows; it releases it, so a retry runs at once
// instead of getting ErrInProgress for a whole lease.
func TestClaimWithLostAnswerIsReleased(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		cut := errors.New("connection reset by peer")
		lossy := &hookStore{Store: s}
		lossy.claim = func(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
			if _, err := s.Claim(ctx, r); err != nil {
				return idempotency.ClaimResult{}, err
			}
			return idempotency.ClaimResult{}, cut // written, answer lost
		}
		m := newManager[charge, receipt](t, lossy, idempotency.Config{Lease: time.Hour})
		if _, err := m.Do(ctx, "k", charge{Amount: 1}, okFn); !errors.Is(err, cut) {
			t.Fatalf("Do = %v, want the claim's error", err)
		}
		retry := newManager[charge, receipt](t, s, idempotency.Config{Lease: time.Hour})
		if r, err := retry.DoResult(ctx, "k", charge{Amount: 1}, okFn); err != nil || r.Replayed {
			t.Fatalf("retry = %+v, %v; want fn to run at once", r, err)
		}
	})
}

// TestCompletionRefusedForGoodIsReported: a store that keeps refusing the
// outcome (a payload too large for it, say) while renewals succeed gets it
// reported as ErrNotRecorded, not retried for ever.
func TestCompletionRefusedForGoodIsReported(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		refusing := &hookStore{Store: s}
		refusing.complete = func(context.Context, idempotency.Lock, idempotency.State, []byte, time.Duration) error {
			return errors.New("packet too large")
		}
		m := newManager[charge, receipt](t, refusing, idempotency.Config{Lease: 600 * time.Millisecond})
		if _, err := m.Do(context.Background(), "k", charge{Amount: 1}, okFn); !errors.Is(err, idempotency.ErrNotRecorded) {
			t.Fatalf("Do = %v, want ErrNotRecorded", err)
		}
	})
}
