package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

func TestWaitZeroFailsFastWhileInProgress(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{})
		ctx := context.Background()
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error)
		go func() {
			_, err := m.Do(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
				close(started)
				<-release
				return receipt{ID: "first"}, nil
			})
			done <- err
		}()
		<-started
		if _, err := m.Do(ctx, "k", charge{}, okFn); !errors.Is(err, idempotency.ErrInProgress) {
			t.Errorf("duplicate while in flight: %v; want ErrInProgress", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestDuplicatesInOneProcessShareOneExecution(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		hs := &hookStore{Store: s}
		m := newManager[charge, receipt](t, hs, idempotency.Config{Wait: time.Minute})
		const followers = 19
		var joined sync.WaitGroup
		joined.Add(followers)
		idempotency.SetOnJoin(m, joined.Done)
		ctx := context.Background()
		var runs counter
		fn := func(context.Context, charge) (receipt, error) {
			runs.inc("k")
			joined.Wait() // every duplicate is waiting on this execution
			return receipt{ID: "shared", Tags: map[string]string{"a": "b"}}, nil
		}
		results := make(chan idempotency.Result[receipt], followers+1)
		errs := make(chan error, followers+1)
		var wg sync.WaitGroup
		for range followers + 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := m.DoResult(ctx, "k", charge{Amount: 1}, fn)
				results <- r
				errs <- err
			}()
		}
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		replayed := 0
		var maps []map[string]string
		for r := range results {
			if r.Value.ID != "shared" {
				t.Errorf("a duplicate got %+v", r.Value)
			}
			if r.Replayed {
				replayed++
			}
			maps = append(maps, r.Value.Tags)
		}
		if runs.get("k") != 1 || replayed != followers {
			t.Errorf("fn ran %d times, %d replays; want 1 and %d", runs.get("k"), replayed, followers)
		}
		if n := hs.Claims(); n != 1 {
			t.Errorf("the store saw %d claims; want 1: duplicates in one process must not poll it", n)
		}
		// Each caller owns its value: no map shared between callers.
		maps[0]["a"] = "changed"
		for _, mp := range maps[1:] {
			if mp["a"] != "b" {
				t.Error("two callers share one map")
				break
			}
		}
	})
}

func TestWaitAcrossProcessesReplaysOutcome(t *testing.T) {
	forEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) {
		// Two pools stand for two processes. The waiter's store says when
		// it has seen the key in progress: only then is the first call let
		// go, so the waiter really waits across processes.
		a := newManager[charge, receipt](t, open(t), idempotency.Config{})
		otherStore := open(t)
		sawInProgress := make(chan struct{})
		var once sync.Once
		watched := &hookStore{Store: otherStore}
		watched.claim = func(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
			cr, err := otherStore.Claim(ctx, r)
			if err == nil && !cr.Claimed && cr.Record.State == idempotency.StateProcessing {
				once.Do(func() { close(sawInProgress) })
			}
			return cr, err
		}
		other := newManager[charge, receipt](t, watched, idempotency.Config{Wait: time.Minute})
		ctx := context.Background()
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error)
		go func() {
			_, err := a.Do(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
				close(started)
				<-release
				return receipt{ID: "from a"}, nil
			})
			done <- err
		}()
		<-started
		waiter := make(chan idempotency.Result[receipt])
		go func() {
			r, err := other.DoResult(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
				t.Error("the waiting duplicate ran fn")
				return receipt{}, nil
			})
			if err != nil {
				t.Error(err)
			}
			waiter <- r
		}()
		<-sawInProgress
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if r := <-waiter; !r.Replayed || r.Value.ID != "from a" {
			t.Errorf("waiter got %+v; want the replayed outcome of a", r)
		}
	})
}

func TestWaitGivesUpAfterWait(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		holder := newManager[charge, receipt](t, s, idempotency.Config{})
		waiter := newManager[charge, receipt](t, s, idempotency.Config{Wait: 30 * time.Millisecond})
		ctx := context.Background()
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = holder.Do(ctx, "k", charge{}, func(context.Context, charge) (receipt, error) {
				close(started)
				<-release
				return receipt{}, nil
			})
		}()
		<-started
		if _, err := waiter.Do(ctx, "k", charge{}, okFn); !errors.Is(err, idempotency.ErrInProgress) {
			t.Errorf("after Wait: %v; want ErrInProgress", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		long := newManager[charge, receipt](t, s, idempotency.Config{Wait: time.Hour})
		if _, err := long.Do(cctx, "k", charge{}, okFn); !errors.Is(err, context.Canceled) {
			t.Errorf("with a cancelled context: %v; want context.Canceled", err)
		}
		close(release)
		<-done
	})
}

// TestContention: three managers on separate pools (three processes) with
// twelve goroutines each race for ten keys. Every key's fn runs exactly once
// and every caller sees that one outcome.
func TestContention(t *testing.T) {
	forEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) {
		const managers, goroutines, keys = 3, 12, 10
		var runs counter
		var wg sync.WaitGroup
		type seen struct {
			key, id string
			err     error
		}
		out := make(chan seen, managers*goroutines*keys)
		start := make(chan struct{})
		for mi := range managers {
			m := newManager[charge, receipt](t, open(t), idempotency.Config{Wait: 2 * time.Minute, Lease: 5 * time.Second})
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					for k := range keys {
						key := fmt.Sprintf("key-%d", (k+g)%keys)
						r, err := m.Do(context.Background(), key, charge{Account: key}, func(context.Context, charge) (receipt, error) {
							n := runs.inc(key)
							return receipt{ID: fmt.Sprintf("%s/m%d/g%d/run%d", key, mi, g, n)}, nil
						})
						out <- seen{key, r.ID, err}
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		close(out)
		ids := map[string]string{}
		for s := range out {
			if s.err != nil {
				t.Errorf("%s: %v", s.key, s.err)
				continue
			}
			if prev, ok := ids[s.key]; ok && prev != s.id {
				t.Errorf("%s: callers saw %q and %q; want one outcome", s.key, prev, s.id)
			}
			ids[s.key] = s.id
		}
		for k := range keys {
			key := fmt.Sprintf("key-%d", k)
			if n := runs.get(key); n != 1 {
				t.Errorf("%s: fn ran %d times; want exactly 1", key, n)
			}
		}
	})
}

// TestCancelledLeaderDoesNotFailItsFollowers: a duplicate waiting on an
// in-process flight whose leader's context is cancelled runs fn itself
// instead of inheriting the leader's cancellation.
func TestCancelledLeaderDoesNotFailItsFollowers(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{Wait: time.Minute})
		joined := make(chan struct{}, 1)
		idempotency.SetOnJoin(m, func() { joined <- struct{}{} })
		lctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started := make(chan struct{})
		leader := make(chan error)
		go func() {
			_, err := m.Do(lctx, "k", charge{}, func(ctx context.Context, _ charge) (receipt, error) {
				close(started)
				<-joined
				cancel() // the leader's client goes away
				<-ctx.Done()
				return receipt{}, ctx.Err()
			})
			leader <- err
		}()
		<-started
		var runs counter
		r, err := m.DoResult(context.Background(), "k", charge{}, func(_ context.Context, c charge) (receipt, error) {
			runs.inc("k")
			return receipt{ID: "follower"}, nil
		})
		if err := <-leader; !errors.Is(err, context.Canceled) {
			t.Errorf("leader: %v; want context.Canceled", err)
		}
		if err != nil || r.Replayed || r.Value.ID != "follower" || runs.get("k") != 1 {
			t.Errorf("follower: %+v, %v, fn ran %d times; want it to run fn once itself", r, err, runs.get("k"))
		}
	})
}
