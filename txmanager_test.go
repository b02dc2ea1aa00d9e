package idempotency_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/goleak"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

func TestTxManagerCommitsWritesAndOutcomeTogether(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		m := newTxManager(t, e.store, idempotency.Config{Namespace: "orders"})
		var runs counter
		req := charge{Account: "acct", Amount: 42}

		r, err := m.DoResult(ctx, "k1", req, e.orderFn(&runs, "k1"))
		if err != nil || r.Replayed || (r.Value.ID != "ord_k1" || r.Value.Amount != 42) {
			t.Fatalf("first call = %+v, %v; want ord_k1 executed", r, err)
		}
		if n := e.orderRows(t, "k1"); n != 1 {
			t.Fatalf("after the first call: %d order rows, want 1", n)
		}
		for range 3 {
			r, err = m.DoResult(ctx, "k1", req, e.orderFn(&runs, "k1"))
			if err != nil || !r.Replayed || (r.Value.ID != "ord_k1" || r.Value.Amount != 42) {
				t.Fatalf("retry = %+v, %v; want ord_k1 replayed", r, err)
			}
		}
		if _, err := m.Do(ctx, "k1", charge{Account: "acct", Amount: 43}, e.orderFn(&runs, "k1")); !errors.Is(err, idempotency.ErrRequestMismatch) {
			t.Fatalf("another request under k1: %v, want ErrRequestMismatch", err)
		}
		if runs.get("k1") != 1 || e.orderRows(t, "k1") != 1 {
			t.Fatalf("fn ran %d times, %d order rows; want 1 and 1", runs.get("k1"), e.orderRows(t, "k1"))
		}

		// Keys are exact bytes, and namespaces keep operations apart.
		other := newTxManager(t, e.store, idempotency.Config{Namespace: "refunds"})
		if r, err := other.DoResult(ctx, "k1", req, e.orderFn(&runs, "k1")); err != nil || r.Replayed {
			t.Fatalf("k1 in another namespace = %+v, %v; want fn to run", r, err)
		}
		if r, err := m.DoResult(ctx, "K1", req, e.orderFn(&runs, "K1")); err != nil || r.Replayed {
			t.Fatalf("K1 = %+v, %v; want a key of its own", r, err)
		}
	})
}

func TestTxManagerErrorRollsBackAndFreesKey(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		m := newTxManager(t, e.store, idempotency.Config{})
		errBoom := errors.New("boom")
		_, err := m.Do(ctx, "k", charge{Amount: 1}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
			if err := e.insertOrder(ctx, tx, "k", c.Amount); err != nil {
				return receipt{}, err
			}
			return receipt{}, fmt.Errorf("gateway: %w", errBoom)
		})
		if !errors.Is(err, errBoom) || err.Error() != "gateway: boom" {
			t.Fatalf("Do = %v, want fn's error unchanged", err)
		}
		if n := e.orderRows(t, "k"); n != 0 {
			t.Fatalf("%d order rows after fn failed, want its insert rolled back", n)
		}
		var runs counter
		if r, err := m.DoResult(ctx, "k", charge{Amount: 1}, e.orderFn(&runs, "k")); err != nil || r.Replayed {
			t.Fatalf("retry = %+v, %v; want fn to run again at once", r, err)
		}
		if n := e.orderRows(t, "k"); n != 1 {
			t.Fatalf("%d order rows after the retry, want 1", n)
		}
	})
}

func TestTxManagerPermanentRecordsFailureWithoutWrites(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		m := newTxManager(t, e.store, idempotency.Config{})
		errDeclined := errors.New("card declined")
		var runs counter
		fn := func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
			runs.inc("k")
			if err := e.insertOrder(ctx, tx, "k", c.Amount); err != nil {
				return receipt{}, err
			}
			return receipt{}, idempotency.Permanent(errDeclined)
		}
		if _, err := m.Do(ctx, "k", charge{Amount: 5}, fn); !errors.Is(err, errDeclined) {
			t.Fatalf("Do = %v, want the permanent error", err)
		}
		if n := e.orderRows(t, "k"); n != 0 {
			t.Fatalf("%d order rows after a permanent failure, want none of fn's writes", n)
		}
		r, err := m.DoResult(ctx, "k", charge{Amount: 5}, fn)
		var stored *idempotency.StoredError
		if !errors.As(err, &stored) || stored.Message != "card declined" || !r.Replayed {
			t.Fatalf("retry = %+v, %v; want the recorded failure replayed", r, err)
		}
		if _, err := m.Do(ctx, "k", charge{Amount: 6}, fn); !errors.Is(err, idempotency.ErrRequestMismatch) {
			t.Fatalf("another request under a failed key: %v, want ErrRequestMismatch", err)
		}
		if runs.get("k") != 1 {
			t.Fatalf("fn ran %d times, want 1", runs.get("k"))
		}
	})
}

func TestTxManagerPanicRollsBackAndPanicsAgain(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		m := newTxManager(t, e.store, idempotency.Config{})
		func() {
			defer func() {
				if p := recover(); p != "fn panicked" {
					t.Fatalf("recovered %v, want fn's panic", p)
				}
			}()
			_, _ = m.Do(ctx, "k", charge{Amount: 1}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
				if err := e.insertOrder(ctx, tx, "k", c.Amount); err != nil {
					return receipt{}, err
				}
				panic("fn panicked")
			})
		}()
		if n := e.orderRows(t, "k"); n != 0 {
			t.Fatalf("%d order rows after a panic, want none", n)
		}
		var runs counter
		if r, err := m.DoResult(ctx, "k", charge{Amount: 1}, e.orderFn(&runs, "k")); err != nil || r.Replayed {
			t.Fatalf("after the panic = %+v, %v; want fn to run again", r, err)
		}
	})
}

// TestTxManagerConcurrentDuplicatesRunOnce: 30 callers on one key, spread
// over two managers on two pools (two processes, as far as the store can
// tell), all waiting: one business row, one execution, one outcome for all.
func TestTxManagerConcurrentDuplicatesRunOnce(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		cfg := idempotency.Config{Wait: time.Minute}
		managers := []*idempotency.TxManager[charge, receipt, *sqlx.Tx]{
			newTxManager(t, e.store, cfg), newTxManager(t, e.anotherStore(t), cfg),
		}
		var (
			runs     counter
			wg       sync.WaitGroup
			mu       sync.Mutex
			executed int
			errs     []error
		)
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := managers[i%2].DoResult(ctx, "k", charge{Amount: 7}, e.orderFn(&runs, "k"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case r.Value.ID != "ord_k" || r.Value.Amount != 7:
					errs = append(errs, fmt.Errorf("got %+v", r.Value))
				case !r.Replayed:
					executed++
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d callers failed, first: %v", len(errs), errs[0])
		}
		if executed != 1 || runs.get("k") != 1 || e.orderRows(t, "k") != 1 {
			t.Fatalf("%d executions reported, fn ran %d times, %d order rows; want 1, 1, 1", executed, runs.get("k"), e.orderRows(t, "k"))
		}
	})
}

// TestTxManagerDuplicateInFlightDoesNotWait: while the first call's fn is
// held, a duplicate without Wait gets ErrInProgress, whatever its request,
// instead of waiting on the first call's uncommitted row. The first call's
// fn is released only after the duplicates have answered, so a duplicate
// that waited on the row would never answer: the test would time out. On
// SQLite, with one writer at a time, only a duplicate in the same process
// can answer at once.
func TestTxManagerDuplicateInFlightDoesNotWait(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		first := newTxManager(t, e.store, idempotency.Config{})
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := first.Do(ctx, "k", charge{Amount: 1}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
				if err := e.insertOrder(ctx, tx, "k", c.Amount); err != nil {
					return receipt{}, err
				}
				close(started)
				<-release
				return receipt{ID: "ord_k", Amount: 1}, nil
			})
			done <- err
		}()
		<-started

		var runs counter
		// In the same process: the flight answers without the database.
		if _, err := first.Do(ctx, "k", charge{Amount: 1}, e.orderFn(&runs, "k")); !errors.Is(err, idempotency.ErrInProgress) {
			t.Errorf("in-process duplicate: %v, want ErrInProgress", err)
		}
		if e.b.Dialect != sqlstore.SQLite {
			// Another process: the store answers without waiting.
			other := newTxManager(t, e.anotherStore(t), idempotency.Config{})
			for _, req := range []charge{{Amount: 1}, {Amount: 2}} {
				answered := make(chan error, 1)
				sent := time.Now()
				go func() {
					_, err := other.Do(ctx, "k", req, e.orderFn(&runs, "k"))
					answered <- err
				}()
				select {
				case err := <-answered:
					if !errors.Is(err, idempotency.ErrInProgress) {
						t.Errorf("duplicate with %+v from another pool: %v, want ErrInProgress", req, err)
					}
					t.Logf("duplicate with %+v from another pool answered in %v", req, time.Since(sent))
				case <-time.After(20 * time.Second):
					t.Fatalf("a duplicate from another pool is waiting for the call in flight")
				}
			}
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if runs.get("k") != 0 || e.orderRows(t, "k") != 1 {
			t.Fatalf("duplicates ran fn %d times, %d order rows; want 0 and 1", runs.get("k"), e.orderRows(t, "k"))
		}
		// Committed, the fingerprint shows.
		if _, err := first.Do(ctx, "k", charge{Amount: 2}, e.orderFn(&runs, "k")); !errors.Is(err, idempotency.ErrRequestMismatch) {
			t.Errorf("another request after the commit: %v, want ErrRequestMismatch", err)
		}
	})
}

// TestTxManagerLeaseBoundsTransaction: fn holding its transaction past
// Config.Lease is cancelled and rolled back, and the key is free at once.
func TestTxManagerLeaseBoundsTransaction(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		const lease = 300 * time.Millisecond
		m := newTxManager(t, e.store, idempotency.Config{Lease: lease})
		var serverBound string
		_, err := m.Do(ctx, "k", charge{Amount: 1}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
			if err := e.insertOrder(ctx, tx, "k", c.Amount); err != nil {
				return receipt{}, err
			}
			if e.b.Dialect == sqlstore.Postgres {
				if err := tx.GetContext(ctx, &serverBound, "SHOW idle_in_transaction_session_timeout"); err != nil {
					return receipt{}, err
				}
			}
			<-ctx.Done() // a hung fn: only the lease ends it
			return receipt{}, context.Cause(ctx)
		})
		if !errors.Is(err, idempotency.ErrLeaseLost) {
			t.Fatalf("Do = %v, want ErrLeaseLost", err)
		}
		if e.b.Dialect == sqlstore.Postgres && serverBound != "300ms" {
			t.Errorf("idle_in_transaction_session_timeout in the transaction = %q, want the lease, 300ms", serverBound)
		}
		if n := e.orderRows(t, "k"); n != 0 {
			t.Fatalf("%d order rows after the lease ran out, want the transaction rolled back", n)
		}
		var runs counter
		if r, err := m.DoResult(ctx, "k", charge{Amount: 1}, e.orderFn(&runs, "k")); err != nil || r.Replayed {
			t.Fatalf("after the lease ran out = %+v, %v; want fn to run at once", r, err)
		}
	})
}

// TestTxManagerDoIn: the caller's transaction decides. fn's writes and the
// outcome persist when the caller commits and vanish when it rolls back; a
// failing fn leaves the caller's own writes as they were.
func TestTxManagerDoIn(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		m := newTxManager(t, e.store, idempotency.Config{})
		var runs counter
		begin := func() *sqlx.Tx {
			t.Helper()
			tx, err := e.db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			return tx
		}

		// Rolled back by the caller: nothing happened.
		tx := begin()
		if r, err := m.DoInResult(ctx, tx, "rb", charge{Amount: 1}, e.orderFn(&runs, "rb")); err != nil || r.Replayed {
			t.Fatalf("DoIn = %+v, %v", r, err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if n := e.orderRows(t, "rb"); n != 0 {
			t.Fatalf("%d order rows after the caller rolled back, want 0", n)
		}
		if r, err := m.DoResult(ctx, "rb", charge{Amount: 1}, e.orderFn(&runs, "rb")); err != nil || r.Replayed {
			t.Fatalf("after the caller rolled back = %+v, %v; want the key free", r, err)
		}

		// Committed by the caller: the outcome replays.
		tx = begin()
		if err := e.insertOrder(ctx, tx, "caller", 9); err != nil {
			t.Fatal(err)
		}
		if _, err := m.DoIn(ctx, tx, "c", charge{Amount: 2}, e.orderFn(&runs, "c")); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if r, err := m.DoResult(ctx, "c", charge{Amount: 2}, e.orderFn(&runs, "c")); err != nil || !r.Replayed || r.Value.ID != "ord_c" {
			t.Fatalf("after the caller committed = %+v, %v; want ord_c replayed", r, err)
		}
		if runs.get("c") != 1 || e.orderRows(t, "c") != 1 || e.orderRows(t, "caller") != 1 {
			t.Fatalf("fn ran %d times; %d order rows, %d caller rows; want 1, 1, 1", runs.get("c"), e.orderRows(t, "c"), e.orderRows(t, "caller"))
		}

		// fn fails after the caller's own insert: the caller's insert
		// stays, fn's goes, the key is free, and the caller can go on.
		errBoom := errors.New("boom")
		tx = begin()
		if err := e.insertOrder(ctx, tx, "mine", 3); err != nil {
			t.Fatal(err)
		}
		_, err := m.DoIn(ctx, tx, "f", charge{Amount: 3}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
			if err := e.insertOrder(ctx, tx, "f", c.Amount); err != nil {
				return receipt{}, err
			}
			return receipt{}, errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("DoIn = %v, want fn's error", err)
		}
		if err := e.insertOrder(ctx, tx, "mine", 4); err != nil {
			t.Fatalf("the caller's transaction after fn failed: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if e.orderRows(t, "mine") != 2 || e.orderRows(t, "f") != 0 {
			t.Fatalf("%d caller rows and %d of fn's; want 2 and 0", e.orderRows(t, "mine"), e.orderRows(t, "f"))
		}
		if r, err := m.DoResult(ctx, "f", charge{Amount: 3}, e.orderFn(&runs, "f")); err != nil || r.Replayed {
			t.Fatalf("after fn failed in DoIn = %+v, %v; want the key free", r, err)
		}

		// A permanent failure: fn's writes go, the failure is recorded in
		// the caller's transaction.
		tx = begin()
		_, err = m.DoIn(ctx, tx, "p", charge{Amount: 4}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
			if err := e.insertOrder(ctx, tx, "p", c.Amount); err != nil {
				return receipt{}, err
			}
			return receipt{}, idempotency.Permanent(errBoom)
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("DoIn = %v, want the permanent error", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var stored *idempotency.StoredError
		if _, err := m.Do(ctx, "p", charge{Amount: 4}, e.orderFn(&runs, "p")); !errors.As(err, &stored) {
			t.Fatalf("after a permanent failure in DoIn: %v, want it replayed", err)
		}
		if n := e.orderRows(t, "p"); n != 0 {
			t.Fatalf("%d of fn's rows after a permanent failure, want 0", n)
		}
	})
}

// TestTxManagerFindsOutcomeAfterSnapshot: a caller's transaction whose
// snapshot predates another call's commit of the same key. On MySQL (READ
// COMMITTED and REPEATABLE READ) and PostgreSQL READ COMMITTED, DoIn finds
// the outcome and replays it: no loop, no duplicate-key error. On
// PostgreSQL REPEATABLE READ and SERIALIZABLE, and on SQLite, the claim
// fails with a serialization failure (SQLITE_BUSY_SNAPSHOT) for the caller
// to retry. DoIn reads only inside the caller's transaction, whatever the
// store's claim order: the caller may hold the pool's last connection.
func TestTxManagerFindsOutcomeAfterSnapshot(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		type level struct {
			name string
			iso  sql.IsolationLevel
		}
		levels := []level{{"read committed", sql.LevelReadCommitted}, {"repeatable read", sql.LevelRepeatableRead}}
		switch b.Dialect {
		case sqlstore.Postgres:
			levels = append(levels, level{"serializable", sql.LevelSerializable})
		case sqlstore.SQLite:
			// One level: a transaction's reads see one snapshot, and a
			// write after another connection's commit fails with
			// SQLITE_BUSY, which the caller retries.
			levels = []level{{"default", sql.LevelDefault}}
		}
		for _, order := range []sqlstore.ClaimOrder{sqlstore.WriteFirst, sqlstore.ReadFirst} {
			e := newTxEnvOrder(t, b, order)
			m := newTxManager(t, e.store, idempotency.Config{})
			other := newTxManager(t, e.anotherStore(t), idempotency.Config{})
			for _, level := range levels {
				t.Run(order.String()+"/"+level.name, func(t *testing.T) {
					ctx := context.Background()
					key := "snap-" + level.name
					var runs counter
					tx, err := e.db.BeginTxx(ctx, &sql.TxOptions{Isolation: level.iso})
					if err != nil {
						t.Fatal(err)
					}
					defer tx.Rollback()
					var n int
					if err := tx.Get(&n, "SELECT COUNT(*) FROM "+e.orders); err != nil { // takes the snapshot
						t.Fatal(err)
					}
					if _, err := other.Do(ctx, key, charge{Amount: 1}, e.orderFn(&runs, key)); err != nil {
						t.Fatal(err)
					}
					r, err := m.DoInResult(ctx, tx, key, charge{Amount: 1}, e.orderFn(&runs, key))
					wantSerialization := b.Dialect == sqlstore.Postgres && level.name != "read committed" || b.Dialect == sqlstore.SQLite
					switch {
					case wantSerialization:
						if err == nil || !e.store.RetryableTx(err) {
							t.Fatalf("DoIn = %+v, %v; want a serialization failure to retry", r, err)
						}
					case err != nil || !r.Replayed || r.Value.ID != "ord_"+key:
						t.Fatalf("DoIn = %+v, %v; want the other call's outcome replayed", r, err)
					}
					if runs.get(key) != 1 {
						t.Fatalf("fn ran %d times, want 1", runs.get(key))
					}
				})
			}
		}
	})
}

// TestTxManagerAndManagerShareNamespace: a Manager and a TxManager serving
// the same namespace never both run fn for one key. A claim of Do's blocks
// the TxManager at once; a TxManager's claim in flight makes Do wait for its
// commit.
func TestTxManagerAndManagerShareNamespace(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		plain := newManager[charge, receipt](t, e.store, idempotency.Config{Namespace: "shared"})
		txm := newTxManager(t, e.anotherStore(t), idempotency.Config{Namespace: "shared"})
		var runs counter

		// Do holds the key: the TxManager sees it in progress.
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := plain.Do(ctx, "a", charge{Amount: 1}, func(context.Context, charge) (receipt, error) {
				runs.inc("a")
				close(started)
				<-release
				return receipt{ID: "plain_a", Amount: 1}, nil
			})
			done <- err
		}()
		<-started
		if _, err := txm.Do(ctx, "a", charge{Amount: 1}, e.orderFn(&runs, "a")); !errors.Is(err, idempotency.ErrInProgress) {
			t.Errorf("TxManager while Do holds the key: %v, want ErrInProgress", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if r, err := txm.DoResult(ctx, "a", charge{Amount: 1}, e.orderFn(&runs, "a")); err != nil || !r.Replayed || r.Value.ID != "plain_a" {
			t.Fatalf("TxManager after Do finished = %+v, %v; want Do's outcome replayed", r, err)
		}

		// The TxManager holds the key: Do waits for its commit, then
		// replays.
		started, release = make(chan struct{}), make(chan struct{})
		go func() {
			_, err := txm.Do(ctx, "b", charge{Amount: 2}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
				runs.inc("b")
				close(started)
				<-release
				return receipt{ID: "tx_b", Amount: 2}, e.insertOrder(ctx, tx, "b", 2)
			})
			done <- err
		}()
		<-started
		plainDone := make(chan error, 1)
		go func() {
			r, err := plain.DoResult(ctx, "b", charge{Amount: 2}, func(context.Context, charge) (receipt, error) {
				runs.inc("b")
				return receipt{ID: "plain_b"}, nil
			})
			if err == nil && r.Value.ID != "tx_b" {
				err = fmt.Errorf("Do = %+v, want the TxManager's outcome", r)
			}
			plainDone <- err
		}()
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := <-plainDone; err != nil && !errors.Is(err, idempotency.ErrInProgress) {
			t.Fatal(err)
		}
		if runs.get("a") != 1 || runs.get("b") != 1 {
			t.Fatalf("fn ran %d and %d times, want once per key", runs.get("a"), runs.get("b"))
		}
	})
}

// TestTxManagerRunsDeadlockVictimAgain: fn's transaction deadlocks with
// another one and is chosen as the victim; TxManager runs it again in a new
// transaction, which commits once. The other transaction is made the
// heavier one (InnoDB rolls back the lighter) and the slower to look for
// deadlocks (PostgreSQL's deadlock_timeout), so the victim is fn's.
func TestTxManagerRunsDeadlockVictimAgain(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		if b.Dialect == sqlstore.SQLite {
			t.Skip("SQLite has one writer at a time: transactions cannot deadlock")
		}
		t.Parallel()
		e := newTxEnv(t, b)
		ctx := context.Background()
		accts := e.orders + "_accts"
		e.db.MustExecContext(ctx, "CREATE TABLE "+accts+" (id INT PRIMARY KEY, v INT NOT NULL)")
		t.Cleanup(func() { e.db.Exec("DROP TABLE " + accts) })
		for id := 1; id <= 20; id++ {
			e.db.MustExecContext(ctx, e.db.Rebind("INSERT INTO "+accts+" (id, v) VALUES (?, 0)"), id)
		}
		bump := func(ctx context.Context, tx *sqlx.Tx, where string) error {
			_, err := tx.ExecContext(ctx, "UPDATE "+accts+" SET v = v + 1 WHERE "+where)
			return err
		}

		other, err := e.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Rollback()
		if b.Dialect == sqlstore.Postgres {
			other.MustExecContext(ctx, "SET LOCAL deadlock_timeout = '60s'")
		}
		if err := bump(ctx, other, "id >= 2"); err != nil {
			t.Fatal(err)
		}

		m := newTxManager(t, e.store, idempotency.Config{})
		holdsFirst := make(chan struct{})
		otherDone := make(chan error, 1)
		var attempts int
		r, err := m.DoResult(ctx, "k", charge{Amount: 1}, func(fctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
			attempts++
			if err := bump(fctx, tx, "id = 1"); err != nil {
				return receipt{}, err
			}
			if attempts == 1 {
				close(holdsFirst)
				go func() { // the other transaction closes the cycle, outliving fn's context
					err := bump(ctx, other, "id = 1")
					if err == nil {
						err = other.Commit()
					}
					otherDone <- err
				}()
			}
			if err := bump(fctx, tx, "id = 2"); err != nil {
				return receipt{}, err
			}
			return receipt{ID: "ord_k", Amount: c.Amount}, nil
		})
		if err != nil || r.Replayed || attempts != 2 {
			t.Fatalf("Do = %+v, %v after %d runs of fn; want success on the second", r, err, attempts)
		}
		if err := <-otherDone; err != nil {
			t.Fatalf("the other transaction: %v", err)
		}
		var v int
		if err := e.db.Get(&v, "SELECT v FROM "+accts+" WHERE id = 1"); err != nil {
			t.Fatal(err)
		}
		if v != 2 {
			t.Fatalf("account 1 = %d, want 2: the other transaction's bump and one of fn's", v)
		}
		if r, err := m.DoResult(ctx, "k", charge{Amount: 1}, mustNotRun(t)); err != nil || !r.Replayed {
			t.Fatalf("retry = %+v, %v; want the outcome replayed", r, err)
		}
	})
}

// mustNotRun is a fn that must not run.
func mustNotRun(t *testing.T) func(context.Context, *sqlx.Tx, charge) (receipt, error) {
	return func(context.Context, *sqlx.Tx, charge) (receipt, error) {
		t.Error("fn ran for a recorded key")
		return receipt{}, nil
	}
}

// gatedTxStore closes entered when BeginTx is first called and holds it
// until gate is closed.
type gatedTxStore struct {
	*sqlstore.Store
	entered, gate chan struct{}
	once          sync.Once
}

func (g *gatedTxStore) BeginTx(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.gate
	return g.Store.BeginTx(ctx, req)
}

// TestTxManagerConcurrentReplaysInProcess: without Wait, a duplicate that
// joins a call still looking the key up (not yet running fn) gets that
// call's replay, not ErrInProgress: a finished key is never "in progress".
func TestTxManagerConcurrentReplaysInProcess(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		var runs counter
		if _, err := newTxManager(t, e.store, idempotency.Config{}).Do(ctx, "k", charge{Amount: 1}, e.orderFn(&runs, "k")); err != nil {
			t.Fatal(err)
		}
		gated := &gatedTxStore{Store: e.store, entered: make(chan struct{}), gate: make(chan struct{})}
		m := newTxManager(t, gated, idempotency.Config{})
		idempotency.SetTxOnJoin(m, func() { close(gated.gate) }) // the follower has joined: let the leader read
		type answer struct {
			r   idempotency.Result[receipt]
			err error
		}
		leader := make(chan answer, 1)
		go func() {
			r, err := m.DoResult(ctx, "k", charge{Amount: 1}, e.orderFn(&runs, "k"))
			leader <- answer{r, err}
		}()
		<-gated.entered // the leader leads the flight; the follower joins it
		r, err := m.DoResult(ctx, "k", charge{Amount: 1}, e.orderFn(&runs, "k"))
		if err != nil || !r.Replayed || r.Value.ID != "ord_k" {
			t.Errorf("follower = %+v, %v; want the leader's replay", r, err)
		}
		if a := <-leader; a.err != nil || !a.r.Replayed {
			t.Errorf("leader = %+v, %v; want a replay", a.r, a.err)
		}
		if runs.get("k") != 1 {
			t.Errorf("fn ran %d times, want 1", runs.get("k"))
		}
	})
}

// TestTxManagerLeavesNoGoroutines runs every path of a TxManager call and
// checks that no goroutine outlives it once the pools are closed. It is not
// parallel: goleak compares with the goroutines at its start.
func TestTxManagerLeavesNoGoroutines(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		atStart := goleak.IgnoreCurrent()
		// Registered first, so it runs after the fixture has closed its pools.
		t.Cleanup(func() {
			if err := goleak.Find(atStart); err != nil {
				t.Errorf("goroutines left after the calls and closing the pools: %v", err)
			}
		})
		e := newTxEnv(t, b)
		ctx := context.Background()
		m := newTxManager(t, e.store, idempotency.Config{Lease: 200 * time.Millisecond, Wait: 10 * time.Second})
		var runs counter
		errBoom := errors.New("boom")
		if _, err := m.Do(ctx, "ok", charge{Amount: 1}, e.orderFn(&runs, "ok")); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Do(ctx, "ok", charge{Amount: 1}, e.orderFn(&runs, "ok")); err != nil {
			t.Fatal(err)
		}
		_, _ = m.Do(ctx, "err", charge{}, func(context.Context, *sqlx.Tx, charge) (receipt, error) { return receipt{}, errBoom })
		_, _ = m.Do(ctx, "perm", charge{}, func(context.Context, *sqlx.Tx, charge) (receipt, error) {
			return receipt{}, idempotency.Permanent(errBoom)
		})
		func() {
			defer func() { _ = recover() }()
			_, _ = m.Do(ctx, "panic", charge{}, func(context.Context, *sqlx.Tx, charge) (receipt, error) { panic("boom") })
		}()
		if _, err := m.Do(ctx, "lease", charge{}, func(ctx context.Context, _ *sqlx.Tx, _ charge) (receipt, error) {
			<-ctx.Done()
			return receipt{}, ctx.Err()
		}); !errors.Is(err, idempotency.ErrLeaseLost) {
			t.Fatalf("lease: %v", err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = m.Do(ctx, "shared", charge{Amount: 2}, e.orderFn(&runs, "shared"))
			}()
		}
		wg.Wait()
		tx, err := e.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.DoIn(ctx, tx, "in", charge{Amount: 3}, e.orderFn(&runs, "in")); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	})
}
