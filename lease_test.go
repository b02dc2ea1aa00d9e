package idempotency_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

func TestLeaseIsRenewedWhileFnRuns(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		// Long enough that a slow renewal on a loaded machine is not
		// mistaken for a lost lease (the heartbeat gives up after Lease*2/3
		// without a successful renewal).
		const lease = 300 * time.Millisecond
		hs := &hookStore{Store: s}
		var renewals atomic.Int32
		hs.renew = func(ctx context.Context, l idempotency.Lock, le, ttl time.Duration) error {
			renewals.Add(1)
			return s.Renew(ctx, l, le, ttl)
		}
		m := newManager[charge, receipt](t, hs, idempotency.Config{Lease: lease})
		other := newManager[charge, receipt](t, s, idempotency.Config{Lease: lease})
		ctx := context.Background()
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error)
		go func() {
			_, err := m.Do(ctx, "long", charge{}, func(context.Context, charge) (receipt, error) {
				close(started)
				<-release
				return receipt{ID: "long"}, nil
			})
			done <- err
		}()
		<-started
		// A claim made now with the same lease and never renewed lapses;
		// once it has, the renewed claim must still hold.
		stuck := &hookStore{Store: s}
		stuck.renew = func(context.Context, idempotency.Lock, time.Duration, time.Duration) error { return nil }
		stuckM := newManager[charge, receipt](t, stuck, idempotency.Config{Lease: lease})
		unblock := make(chan struct{})
		stuckDone := make(chan struct{})
		stuckStarted := make(chan struct{})
		go func() {
			defer close(stuckDone)
			_, _ = stuckM.Do(ctx, "unrenewed-lease", charge{}, func(context.Context, charge) (receipt, error) {
				close(stuckStarted)
				<-unblock
				return receipt{}, nil
			})
		}()
		<-stuckStarted
		eventually(t, "an unrenewed lease lapses", func() bool {
			_, err := other.Do(ctx, "unrenewed-lease", charge{}, okFn)
			return err == nil
		})
		if _, err := other.Do(ctx, "long", charge{}, okFn); !errors.Is(err, idempotency.ErrInProgress) {
			t.Errorf("while fn runs past several leases: %v; want ErrInProgress (lease renewed)", err)
		}
		if renewals.Load() == 0 {
			t.Error("no renewal happened")
		}
		close(release)
		if err := <-done; err != nil {
			t.Errorf("long call: %v", err)
		}
		close(unblock)
		<-stuckDone
	})
}

func TestLeaseLostCancelsFnAndKeepsNewOwnersOutcome(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		const lease = 60 * time.Millisecond
		ctx := context.Background()
		// The first owner's renewals are held back (a long GC pause, a
		// network partition) until the second owner has taken over.
		hs := &hookStore{Store: s}
		var holdRenewals atomic.Bool
		holdRenewals.Store(true)
		hs.renew = func(ctx context.Context, l idempotency.Lock, le, ttl time.Duration) error {
			if holdRenewals.Load() {
				return nil
			}
			return s.Renew(ctx, l, le, ttl)
		}
		first := newManager[charge, receipt](t, hs, idempotency.Config{Lease: lease})
		second := newManager[charge, receipt](t, s, idempotency.Config{Lease: time.Minute, Wait: time.Minute})

		started := make(chan struct{})
		var cause error
		firstDone := make(chan error)
		go func() {
			_, err := first.Do(ctx, "k", charge{}, func(ctx context.Context, _ charge) (receipt, error) {
				close(started)
				<-ctx.Done()
				cause = context.Cause(ctx)
				return receipt{ID: "first"}, nil
			})
			firstDone <- err
		}()
		<-started
		// second waits until the first lease lapses, takes over and runs.
		secondRan := make(chan struct{})
		v, err := second.Do(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
			close(secondRan)
			return receipt{ID: "second"}, nil
		})
		if err != nil || v.ID != "second" {
			t.Fatalf("second owner: %+v, %v", v, err)
		}
		holdRenewals.Store(false) // the first owner's next renewal finds the claim lost
		err = <-firstDone
		if !errors.Is(err, idempotency.ErrLeaseLost) {
			t.Errorf("first owner: %v; want ErrLeaseLost", err)
		}
		if !errors.Is(cause, idempotency.ErrLeaseLost) {
			t.Errorf("fn's context cause = %v; want ErrLeaseLost", cause)
		}
		r, err := second.DoResult(ctx, "k", charge{}, okFn)
		if err != nil || !r.Replayed || r.Value.ID != "second" {
			t.Errorf("replay = %+v, %v; want the new owner's outcome", r, err)
		}
	})
}

func TestUnrenewableLeaseCancelsFn(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		// The store is unreachable for renewals: once the lease may have run
		// out, another process may be running fn, so this one must stop.
		hs := &hookStore{Store: s}
		hs.renew = func(context.Context, idempotency.Lock, time.Duration, time.Duration) error {
			return errors.New("connection reset")
		}
		m := newManager[charge, receipt](t, hs, idempotency.Config{Lease: 60 * time.Millisecond})
		_, err := m.Do(context.Background(), "k", charge{}, func(ctx context.Context, _ charge) (receipt, error) {
			<-ctx.Done()
			return receipt{}, context.Cause(ctx)
		})
		if !errors.Is(err, idempotency.ErrLeaseLost) {
			t.Errorf("err = %v; want ErrLeaseLost", err)
		}
	})
}

// TestFailingRenewalsStopFnWhileTheClaimHolds: the heartbeat gives up
// Lease-Lease/3 after the last good renewal, so fn is told to stop while the
// claim still holds, even when a renewal hangs (a failover, a black-holed
// connection) instead of failing fast.
func TestFailingRenewalsStopFnWhileTheClaimHolds(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		const lease = 1500 * time.Millisecond
		hs := &hookStore{Store: s}
		var renewals atomic.Int32
		hs.renew = func(ctx context.Context, _ idempotency.Lock, _, _ time.Duration) error {
			if renewals.Add(1) == 1 {
				return errors.New("connection refused") // the database fails over...
			}
			<-ctx.Done() // ...and the next connection hangs
			return ctx.Err()
		}
		m := newManager[charge, receipt](t, hs, idempotency.Config{Lease: lease})
		fp := storedFingerprint(t, charge{})
		var rivalClaimed bool
		_, err := m.Do(context.Background(), "k", charge{}, func(ctx context.Context, _ charge) (receipt, error) {
			<-ctx.Done()
			// Another process retries the same request at this moment.
			res, err := s.Claim(context.Background(), idempotency.ClaimRequest{
				Key: "k", Fingerprint: fp, Token: "rival", Lease: time.Hour, TTL: time.Hour,
			})
			if err != nil {
				t.Error(err)
			}
			rivalClaimed = res.Claimed
			return receipt{}, context.Cause(ctx)
		})
		if !errors.Is(err, idempotency.ErrLeaseLost) {
			t.Errorf("err = %v; want ErrLeaseLost", err)
		}
		if rivalClaimed {
			t.Error("another caller could take the key over before fn was told to stop: two executions overlap")
		}
	})
}
