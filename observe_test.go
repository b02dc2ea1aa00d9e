package idempotency_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

// recorder is an Observer that keeps everything it is told.
type recorder struct {
	mu     sync.Mutex
	starts []idempotency.CallInfo
	ends   []idempotency.CallEnd
	ops    []idempotency.StoreOp
	lost   int
}

type spanKey struct{}

func (r *recorder) observer() *idempotency.Observer {
	return &idempotency.Observer{
		CallStart: func(ctx context.Context, c idempotency.CallInfo) context.Context {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.starts = append(r.starts, c)
			return context.WithValue(ctx, spanKey{}, c.Key)
		},
		CallEnd: func(ctx context.Context, c idempotency.CallInfo, e idempotency.CallEnd) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if ctx.Value(spanKey{}) != c.Key {
				e.Outcome = "CallEnd got another context than CallStart returned"
			}
			r.ends = append(r.ends, e)
		},
		StoreOp: func(_ context.Context, op idempotency.StoreOp) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.ops = append(r.ops, op)
		},
		LeaseLost: func(context.Context, idempotency.CallInfo, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.lost++
		},
	}
}

// only returns the one CallEnd reported since the last call, failing t
// unless exactly one call started and ended.
func (r *recorder) only(t *testing.T) idempotency.CallEnd {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.starts, r.ends = nil, nil }()
	if len(r.starts) != 1 || len(r.ends) != 1 {
		t.Fatalf("%d calls started and %d ended; want 1 and 1", len(r.starts), len(r.ends))
	}
	return r.ends[0]
}

func (r *recorder) opsNamed(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.ops {
		if o.Op == op {
			n++
		}
	}
	return n
}

// TestObserverSeesEveryOutcomeOnce: every way a call can end reaches
// CallEnd exactly once, with its outcome, on every backend.
func TestObserverSeesEveryOutcomeOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var rec recorder
		hs := &hookStore{Store: s}
		cfg := idempotency.Config{Namespace: "obs", Observer: rec.observer(), MaxResponseBytes: 64}
		m := newManager[charge, receipt](t, hs, cfg)
		ctx := context.Background()
		fail := errors.New("card declined")
		expect := func(name string, want idempotency.Outcome, key string, req charge, fn func(context.Context, charge) (receipt, error)) idempotency.CallEnd {
			t.Helper()
			_, err := m.Do(ctx, key, req, fn)
			end := rec.only(t)
			if end.Outcome != want {
				t.Errorf("%s: outcome %q (err %v); want %q", name, end.Outcome, err, want)
			}
			if !errors.Is(end.Err, err) && end.Err != err {
				t.Errorf("%s: CallEnd.Err = %v; want the call's error %v", name, end.Err, err)
			}
			return end
		}
		expect("first run", idempotency.OutcomeExecuted, "k1", charge{Amount: 1}, okFn)
		expect("replay", idempotency.OutcomeReplayed, "k1", charge{Amount: 1}, okFn)
		expect("another request", idempotency.OutcomeMismatch, "k1", charge{Amount: 2}, okFn)
		expect("fn error", idempotency.OutcomeFnError, "k2", charge{}, func(context.Context, charge) (receipt, error) { return receipt{}, fail })
		expect("permanent", idempotency.OutcomePermanentFailure, "k3", charge{}, func(context.Context, charge) (receipt, error) {
			return receipt{}, idempotency.Permanent(fail)
		})
		expect("replayed failure", idempotency.OutcomeReplayed, "k3", charge{}, okFn)
		expect("too large", idempotency.OutcomeNotRecorded, "k4", charge{}, func(context.Context, charge) (receipt, error) {
			return receipt{ID: strings.Repeat("x", 100)}, nil
		})
		expect("invalid key", idempotency.OutcomeInvalid, "a\x00b", charge{}, okFn)

		// In progress: the claim finds the key held by another call.
		held := make(chan struct{})
		release := make(chan struct{})
		done := make(chan struct{})
		other := newManager[charge, receipt](t, s, idempotency.Config{Namespace: "obs"})
		go func() {
			defer close(done)
			_, _ = other.Do(ctx, "k5", charge{}, func(context.Context, charge) (receipt, error) {
				close(held)
				<-release
				return receipt{}, nil
			})
		}()
		<-held
		expect("in progress", idempotency.OutcomeInProgress, "k5", charge{}, okFn)
		close(release)
		<-done

		// The store fails the claim.
		hs.mu.Lock()
		hs.claim = func(context.Context, idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
			return idempotency.ClaimResult{}, errors.New("connection refused")
		}
		hs.mu.Unlock()
		expect("store down", idempotency.OutcomeStoreError, "k6", charge{}, okFn)
		hs.mu.Lock()
		hs.claim = nil
		hs.mu.Unlock()

		// fn panics: reported before the panic goes on.
		func() {
			defer func() { _ = recover() }()
			_, _ = m.Do(ctx, "k7", charge{}, func(context.Context, charge) (receipt, error) { panic("boom") })
		}()
		if end := rec.only(t); end.Outcome != idempotency.OutcomePanic {
			t.Errorf("panic: outcome %q; want %q", end.Outcome, idempotency.OutcomePanic)
		}

		// Ten calls reached the store (not the invalid key); two recorded
		// an outcome; four released the key (fn error, too large, the
		// failed claim's clean-up, the panic).
		got := [3]int{rec.opsNamed("claim"), rec.opsNamed("complete"), rec.opsNamed("release")}
		if got != [3]int{10, 2, 4} {
			t.Errorf("StoreOp saw %d claims, %d completions, %d releases; want 10, 2, 4", got[0], got[1], got[2])
		}
	})
}

// TestObserverSeesLostLeaseAndTakeover: a call whose renewals are held
// back loses its lease to a call that takes the lapsed claim over; the
// observer sees the loss, the takeover and both outcomes.
func TestObserverSeesLostLeaseAndTakeover(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var first, second recorder
		const lease = 60 * time.Millisecond
		hs := &hookStore{Store: s}
		var mu sync.Mutex
		hold := true
		hs.renew = func(ctx context.Context, l idempotency.Lock, le, ttl time.Duration) error {
			mu.Lock()
			h := hold
			mu.Unlock()
			if h {
				return nil
			}
			return s.Renew(ctx, l, le, ttl)
		}
		a := newManager[charge, receipt](t, hs, idempotency.Config{Lease: lease, Observer: first.observer()})
		b := newManager[charge, receipt](t, s, idempotency.Config{Lease: time.Minute, Wait: time.Minute, Observer: second.observer()})
		ctx := context.Background()
		started := make(chan struct{})
		aDone := make(chan error)
		go func() {
			_, err := a.Do(ctx, "k", charge{}, func(ctx context.Context, _ charge) (receipt, error) {
				close(started)
				<-ctx.Done()
				return receipt{}, nil
			})
			aDone <- err
		}()
		<-started
		if _, err := b.Do(ctx, "k", charge{}, okFn); err != nil {
			t.Fatal(err)
		}
		end := second.only(t)
		if end.Outcome != idempotency.OutcomeExecuted || !end.TookOver {
			t.Errorf("taking over: %+v; want executed and TookOver", end)
		}
		mu.Lock()
		hold = false
		mu.Unlock()
		<-aDone
		if end := first.only(t); end.Outcome != idempotency.OutcomeLeaseLost {
			t.Errorf("losing the lease: outcome %q; want %q", end.Outcome, idempotency.OutcomeLeaseLost)
		}
		first.mu.Lock()
		lost := first.lost
		first.mu.Unlock()
		if lost != 1 {
			t.Errorf("LeaseLost ran %d times; want 1", lost)
		}
		if first.opsNamed("renew") == 0 {
			t.Error("no renewal reported to StoreOp")
		}
	})
}

// TestObserverSeesTxManagerCalls: TxManager's calls reach the observer
// once each, marked transactional, with the claim, completion and commit.
func TestObserverSeesTxManagerCalls(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		var rec recorder
		m := newTxManager(t, e.store, idempotency.Config{Namespace: "obs", Observer: rec.observer()})
		var runs counter
		ctx := context.Background()
		for _, want := range []idempotency.Outcome{idempotency.OutcomeExecuted, idempotency.OutcomeReplayed} {
			if _, err := m.Do(ctx, "k", charge{Amount: 5}, e.orderFn(&runs, "k")); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			transactional := len(rec.starts) == 1 && rec.starts[0].Transactional
			rec.mu.Unlock()
			if end := rec.only(t); end.Outcome != want || !transactional {
				t.Errorf("outcome %q, transactional %v; want %q, true", end.Outcome, transactional, want)
			}
		}
		if _, err := m.Do(ctx, "k", charge{Amount: 6}, e.orderFn(&runs, "k")); !errors.Is(err, idempotency.ErrRequestMismatch) {
			t.Fatalf("another request: %v", err)
		}
		if end := rec.only(t); end.Outcome != idempotency.OutcomeMismatch {
			t.Errorf("another request: outcome %q", end.Outcome)
		}
		if got := [3]int{rec.opsNamed("claim"), rec.opsNamed("complete"), rec.opsNamed("commit")}; got != [3]int{3, 1, 1} {
			t.Errorf("StoreOp saw %v claims, completions, commits; want [3 1 1]", got)
		}
	})
}

// TestObserverSeesWaitingAndCancellation: a call that waited for another
// reports the time it waited; a caller that went away is canceled, not a
// store failure; fn's own error is fn_error whatever it wraps.
func TestObserverSeesWaitingAndCancellation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var rec recorder
		hs := &hookStore{Store: s}
		fp, err := idempotency.Fingerprint(charge{})
		if err != nil {
			t.Fatal(err)
		}
		first := true
		hs.claim = func(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
			if first { // another call holds it, once
				first = false
				return idempotency.ClaimResult{Record: idempotency.Record{Fingerprint: idempotency.FingerprintVersion + ":" + fp}}, nil
			}
			return s.Claim(ctx, r)
		}
		m := newManager[charge, receipt](t, hs, idempotency.Config{Observer: rec.observer(), Wait: time.Minute})
		if _, err := m.Do(context.Background(), "waited", charge{}, okFn); err != nil {
			t.Fatal(err)
		}
		if end := rec.only(t); end.Outcome != idempotency.OutcomeExecuted || end.Waited <= 0 {
			t.Errorf("after waiting: %+v; want executed with time spent waiting", end)
		}

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = m.Do(ctx, "gone", charge{}, okFn)
		if end := rec.only(t); end.Outcome != idempotency.OutcomeCanceled {
			t.Errorf("caller gone: outcome %q (err %v); want %q", end.Outcome, err, idempotency.OutcomeCanceled)
		}

		wrapped := fmt.Errorf("ledger: %w", idempotency.ErrLeaseLost) // as a nested Manager's error would
		if _, err := m.Do(context.Background(), "nested", charge{}, func(context.Context, charge) (receipt, error) { return receipt{}, wrapped }); !errors.Is(err, wrapped) {
			t.Fatalf("fn's error: %v", err)
		}
		if end := rec.only(t); end.Outcome != idempotency.OutcomeFnError {
			t.Errorf("fn's own error wrapping ErrLeaseLost: outcome %q; want %q", end.Outcome, idempotency.OutcomeFnError)
		}
	})
}

// TestHashKeysInLogs: with HashKeysInLogs the key appears in no log
// record, not even inside a logged error; without it, it does.
func TestHashKeysInLogs(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		const key = "customer-alice@example.com"
		for _, hash := range []bool{true, false} {
			var logs bytes.Buffer
			hs := &hookStore{Store: s}
			hs.release = func(ctx context.Context, l idempotency.Lock) error {
				return fmt.Errorf("store: release key %q: connection reset", l.Key) // as the stores quote keys
			}
			m := newManager[charge, receipt](t, hs, idempotency.Config{
				Namespace: "pii", HashKeysInLogs: hash,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			_, _ = m.Do(context.Background(), key+fmt.Sprint(hash), charge{}, func(context.Context, charge) (receipt, error) {
				return receipt{}, errors.New("declined")
			})
			out := logs.String()
			switch {
			case !strings.Contains(out, "release failed") || !strings.Contains(out, "namespace=pii"):
				t.Errorf("hash=%v: the failed release was not logged with its namespace:\n%s", hash, out)
			case hash && (strings.Contains(out, "alice") || !strings.Contains(out, "key_sha256=")):
				t.Errorf("hash=%v: the key reached the log:\n%s", hash, out)
			case !hash && !strings.Contains(out, key):
				t.Errorf("hash=%v: the key is missing from the log:\n%s", hash, out)
			}
		}
	})
}
