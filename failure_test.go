package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

var errTransient = errors.New("gateway timeout")

func TestErrorReleasesKeyAndIsReturnedUnchanged(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{})
		ctx := context.Background()
		var runs counter
		_, err := m.Do(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
			runs.inc("k")
			return receipt{}, errTransient
		})
		if err != errTransient {
			t.Fatalf("err = %v; want errTransient itself", err)
		}
		r, err := m.DoResult(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
			runs.inc("k")
			return receipt{ID: "second"}, nil
		})
		if err != nil || r.Replayed || r.Value.ID != "second" {
			t.Fatalf("retry after a transient error = %+v, %v; want fn to run again", r, err)
		}
		if runs.get("k") != 2 {
			t.Errorf("fn ran %d times; want 2", runs.get("k"))
		}
	})
}

func TestPermanentErrorIsRecordedAndReplayed(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{})
		ctx := context.Background()
		declined := errors.New("card declined")
		_, err := m.Do(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
			return receipt{}, idempotency.Permanent(fmt.Errorf("charge: %w", declined))
		})
		if !errors.Is(err, declined) || !idempotency.IsPermanent(err) {
			t.Fatalf("first call err = %v; want it to wrap the cause and be permanent", err)
		}
		r, err := m.DoResult(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
			t.Error("fn ran after a permanent failure")
			return receipt{}, nil
		})
		var se *idempotency.StoredError
		if !errors.As(err, &se) || se.Message != "charge: card declined" || se.Error() != "charge: card declined" {
			t.Fatalf("replay err = %#v; want *StoredError with the recorded message", err)
		}
		if !r.Replayed || !idempotency.IsPermanent(err) {
			t.Errorf("replay: Replayed=%v IsPermanent=%v; want both true", r.Replayed, idempotency.IsPermanent(err))
		}
		if idempotency.Permanent(nil) != nil {
			t.Error("Permanent(nil) != nil")
		}
	})
}

func TestPanicReleasesKeyAndPropagates(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{})
		ctx := context.Background()
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Errorf("recovered %v; want the original panic value", p)
				}
			}()
			_, _ = m.Do(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) { panic("boom") })
			t.Error("Do returned after fn panicked")
		}()
		r, err := m.DoResult(ctx, "k", charge{}, okFn)
		if err != nil || r.Replayed {
			t.Errorf("after a panic: %+v, %v; want the key released and fn run again", r, err)
		}
	})
}

func TestPanicWakesWaitingDuplicates(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{Wait: time.Minute})
		ctx := context.Background()
		joined := make(chan struct{}, 1)
		idempotency.SetOnJoin(m, func() { joined <- struct{}{} })
		started := make(chan struct{})
		follower := make(chan error)
		go func() {
			defer func() { _ = recover() }()
			_, _ = m.Do(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
				close(started)
				<-joined
				panic("boom")
			})
		}()
		<-started
		go func() {
			_, err := m.Do(ctx, "k", charge{}, okFn)
			follower <- err
		}()
		if err := <-follower; err != nil {
			t.Errorf("a duplicate waiting on a panicking call: %v; want it to run fn itself", err)
		}
	})
}

func TestOutcomeThatCannotBeWritten(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		dbDown := errors.New("connection refused")

		// A brief outage is ridden out by retries.
		flaky := &hookStore{Store: s}
		failures := 2
		flaky.complete = func(ctx context.Context, l idempotency.Lock, st idempotency.State, p []byte, ttl time.Duration) error {
			if failures > 0 {
				failures--
				return dbDown
			}
			return s.Complete(ctx, l, st, p, ttl)
		}
		m := newManager[charge, receipt](t, flaky, idempotency.Config{})
		if _, err := m.Do(ctx, "brief", charge{}, okFn); err != nil {
			t.Fatalf("two failed completions then success: %v; want nil", err)
		}
		if r, err := m.DoResult(ctx, "brief", charge{}, okFn); err != nil || !r.Replayed {
			t.Fatalf("after retried completion: %+v, %v; want a replay", r, err)
		}

		// A longer one is reported, with the value: never silently dropped.
		down := &hookStore{Store: s}
		attempts := 0
		down.complete = func(context.Context, idempotency.Lock, idempotency.State, []byte, time.Duration) error {
			attempts++
			return dbDown
		}
		// Retries go on while the lease holds; a short one keeps the test
		// short.
		m = newManager[charge, receipt](t, down, idempotency.Config{Lease: 300 * time.Millisecond})
		v, err := m.Do(ctx, "down", charge{Amount: 7}, okFn)
		if !errors.Is(err, idempotency.ErrNotRecorded) || !errors.Is(err, dbDown) {
			t.Fatalf("err = %v; want ErrNotRecorded wrapping the cause", err)
		}
		if v.Amount != 7 {
			t.Errorf("value = %+v; want fn's value returned with the error", v)
		}
		if attempts < 2 {
			t.Errorf("completion tried %d times; want retries", attempts)
		}
		// The claim stands until its lease runs out: a retry does not run fn
		// again at once.
		if _, err := m.Do(ctx, "down", charge{Amount: 7}, okFn); !errors.Is(err, idempotency.ErrInProgress) {
			t.Errorf("retry right after: %v; want ErrInProgress", err)
		}
	})
}

func TestResponseTooLargeReleasesKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, string](t, s, idempotency.Config{MaxResponseBytes: 100})
		ctx := context.Background()
		big := strings.Repeat("x", 200)
		v, err := m.Do(ctx, "k", charge{}, func(context.Context, charge) (string, error) { return big, nil })
		if !errors.Is(err, idempotency.ErrResponseTooLarge) || v != big {
			t.Fatalf("Do = %d bytes, %v; want the value and ErrResponseTooLarge", len(v), err)
		}
		r, err := m.DoResult(ctx, "k", charge{}, func(context.Context, charge) (string, error) { return "small", nil })
		if err != nil || r.Replayed || r.Value != "small" {
			t.Errorf("after a too-large response: %+v, %v; want the key released", r, err)
		}
	})
}

// TestLostCompletionAnswerIsRecognised: §2.11 — when Complete commits
// but its answer is lost, the retry finds the call's own outcome: Do returns
// the value without error and the outcome is replayed.
func TestLostCompletionAnswerIsRecognised(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		hs := &hookStore{Store: s}
		var calls atomic.Int32
		hs.complete = func(ctx context.Context, l idempotency.Lock, st idempotency.State, p []byte, ttl time.Duration) error {
			err := s.Complete(ctx, l, st, p, ttl)
			if calls.Add(1) == 1 && err == nil {
				return errors.New("connection reset by peer") // committed, answer lost
			}
			return err
		}
		m := newManager[charge, receipt](t, hs, idempotency.Config{})
		ctx := context.Background()
		v, err := m.Do(ctx, "k", charge{Amount: 5}, okFn)
		if err != nil || v.Amount != 5 {
			t.Fatalf("Do = %+v, %v; want the value and no error", v, err)
		}
		if calls.Load() < 2 {
			t.Fatalf("Complete called %d times; want a retry", calls.Load())
		}
		if r, err := m.DoResult(ctx, "k", charge{Amount: 5}, okFn); err != nil || !r.Replayed || r.Value.Amount != 5 {
			t.Errorf("replay = %+v, %v; want the recorded outcome", r, err)
		}
	})
}

// TestCompletionOutlivesTheCaller: a caller that goes away while fn runs
// does not lose fn's outcome. The completion runs without the caller's
// cancellation, bounded instead by min(Lease, 5s); a caller whose context
// can never be cancelled chose no bound, and the completion keeps it.
func TestCompletionOutlivesTheCaller(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		const lease = 2 * time.Second
		hs := &hookStore{Store: s}
		type seen struct {
			err         error
			deadline    time.Duration // 0: none
			cancellable bool
		}
		var got seen
		hs.complete = func(ctx context.Context, l idempotency.Lock, st idempotency.State, p []byte, ttl time.Duration) error {
			got = seen{err: ctx.Err(), cancellable: ctx.Done() != nil}
			if dl, ok := ctx.Deadline(); ok {
				got.deadline = time.Until(dl)
			}
			return s.Complete(ctx, l, st, p, ttl)
		}
		m := newManager[charge, receipt](t, hs, idempotency.Config{Lease: lease})

		ctx, cancel := context.WithCancel(context.Background())
		v, err := m.Do(ctx, "gone", charge{Amount: 3}, func(_ context.Context, c charge) (receipt, error) {
			cancel() // the client hangs up while the charge goes through
			return receipt{Amount: c.Amount}, nil
		})
		if err != nil || v.Amount != 3 {
			t.Fatalf("Do = %+v, %v; want the value recorded", v, err)
		}
		if got.err != nil || got.deadline <= 0 || got.deadline > lease {
			t.Errorf("completion context: err %v, deadline in %v; want live, bounded by the lease (%v)", got.err, got.deadline, lease)
		}
		if r, err := m.DoResult(context.Background(), "gone", charge{Amount: 3}, okFn); err != nil || !r.Replayed || r.Value.Amount != 3 {
			t.Errorf("retry = %+v, %v; want the recorded outcome", r, err)
		}

		if _, err := m.Do(context.Background(), "unbounded", charge{}, okFn); err != nil {
			t.Fatal(err)
		}
		if got.cancellable || got.deadline != 0 {
			t.Errorf("completion under context.Background: cancellable %v, deadline in %v; want neither", got.cancellable, got.deadline)
		}
	})
}
