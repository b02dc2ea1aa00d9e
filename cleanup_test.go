package idempotency_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/goleak"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestCleanerDeletesExpiredKeepsLive seeds every kind of record and checks
// that one pass deletes exactly the expired ones: finished records past
// expires_at and processing records abandoned for longer than the TTL, but
// not a processing record whose lease lapsed recently, a held one, or a
// finished one still replayed.
func TestCleanerDeletesExpiredKeepsLive(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		s := f.Store(t)
		db := f.Open(t)
		ctx := context.Background()

		// Times are relative to the database clock; the TTL is an hour.
		seedRows(t, f, db, "", "exp-done-", 120, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		seedRows(t, f, db, "", "exp-failed-", 60, idempotency.StateFailed, -2*time.Hour, -time.Hour)
		seedRows(t, f, db, "", "exp-abandoned-", 60, idempotency.StateProcessing, -2*time.Hour, -time.Hour)
		seedRows(t, f, db, "", "live-done-", 20, idempotency.StateCompleted, -time.Minute, time.Hour)
		seedRows(t, f, db, "", "live-lapsed-", 20, idempotency.StateProcessing, -time.Minute, time.Hour-time.Minute)
		seedRows(t, f, db, "", "live-held-", 20, idempotency.StateProcessing, time.Minute, time.Hour+time.Minute)

		// Records written by a Manager: one replayed for an hour, one whose
		// millisecond TTL runs out on the database clock.
		runs := &counter{}
		fn := func(_ context.Context, c charge) (receipt, error) {
			runs.inc(c.Account)
			return receipt{ID: c.Account, Amount: c.Amount}, nil
		}
		long := newManager[charge, receipt](t, s, idempotency.Config{TTL: time.Hour})
		short := newManager[charge, receipt](t, s, idempotency.Config{TTL: time.Millisecond})
		if _, err := long.Do(ctx, "live-do", charge{Account: "live-do", Amount: 1}, fn); err != nil {
			t.Fatal(err)
		}
		if _, err := short.Do(ctx, "exp-do", charge{Account: "exp-do", Amount: 1}, fn); err != nil {
			t.Fatal(err)
		}
		eventually(t, "exp-do expires on the database clock", func() bool {
			return countExpired(t, f, db) == 241
		})

		c := idempotency.NewCleaner(s, idempotency.CleanerConfig{BatchSize: 50, BatchPause: time.Microsecond})
		n, err := c.RunOnce(ctx)
		if err != nil || n != 241 {
			t.Fatalf("RunOnce = %d, %v; want the 241 expired records deleted", n, err)
		}
		if got := countKeys(t, f, db, "exp-"); got != 0 {
			t.Errorf("%d expired records left after the pass", got)
		}
		if got := countKeys(t, f, db, "live-"); got != 61 {
			t.Errorf("%d live records left; want all 61", got)
		}
		if n, err := c.RunOnce(ctx); err != nil || n != 0 {
			t.Errorf("second RunOnce = %d, %v; want nothing left to delete", n, err)
		}
		r, err := long.DoResult(ctx, "live-do", charge{Account: "live-do", Amount: 1}, fn)
		if err != nil || !r.Replayed || runs.get("live-do") != 1 {
			t.Errorf("live-do after the pass: %+v, %v, fn ran %d times; want a replay", r, err, runs.get("live-do"))
		}
	})
}

// TestCleanerSparesRecordReclaimedDuringPass re-claims an expired record
// between two batches of a pass, through the real store's Claim: the pass
// must leave it, still owned by the new claim.
func TestCleanerSparesRecordReclaimedDuringPass(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		s := f.Store(t)
		db := f.Open(t)
		ctx := context.Background()

		// The victim expired last, so without the re-claim it would go in
		// the last batch.
		seedRows(t, f, db, "", "exp-", 30, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		seedRows(t, f, db, "", "victim-", 1, idempotency.StateCompleted, -time.Hour, -time.Second)
		lock := idempotency.Lock{Key: "victim-0", Token: "new-owner"}
		w := &cleanStore{Store: s, before: func(ctx context.Context, call int) error {
			if call != 2 {
				return nil
			}
			res, err := s.Claim(ctx, idempotency.ClaimRequest{Key: lock.Key, Fingerprint: "v1:new", Token: lock.Token, Lease: time.Minute, TTL: time.Hour})
			if err != nil || !res.Claimed {
				return fmt.Errorf("re-claim of the expired victim: %+v, %v; want it claimed", res, err)
			}
			return nil
		}}
		c := idempotency.NewCleaner(w, idempotency.CleanerConfig{BatchSize: 10, BatchPause: time.Microsecond})
		n, err := c.RunOnce(ctx)
		if err != nil || n != 30 {
			t.Fatalf("RunOnce = %d, %v; want the 30 other expired records deleted", n, err)
		}
		if w.Calls() < 3 {
			t.Fatalf("%d batches; want the re-claim to happen mid-pass", w.Calls())
		}
		if tok := tokenOf(t, f, db, "", lock.Key); tok != lock.Token {
			t.Fatalf("victim's token = %q; want it still held by %q", tok, lock.Token)
		}
		if err := s.Renew(ctx, lock, time.Minute, time.Hour); err != nil {
			t.Errorf("renewing the re-claimed record: %v; want the claim intact", err)
		}
		if err := s.Complete(ctx, lock, idempotency.StateCompleted, []byte(`"ok"`), time.Hour); err != nil {
			t.Errorf("completing the re-claimed record: %v", err)
		}
	})
}

// TestCleanerDeleteRechecksExpiry holds a takeover of an expired record open
// in a transaction while a pass runs, as a claim racing the cleaner would:
// the row is locked and no longer expired in the version being committed.
// PostgreSQL must skip the locked row (SKIP LOCKED) without waiting; MySQL's
// DELETE waits for the lock and must then re-check expiry on the committed
// version instead of deleting the row it selected. SQLite has one writer at
// a time, so a claim cannot interleave with the delete statement there.
func TestCleanerDeleteRechecksExpiry(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		if b.Dialect == sqlstore.SQLite {
			t.Skip("SQLite runs one write statement at a time: nothing can interleave with the DELETE")
		}
		t.Parallel()
		f := testdb.NewFixture(t, b)
		f.Store(t) // creates the table
		db := f.Open(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		seedRows(t, f, db, "", "exp-", 20, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		seedRows(t, f, db, "", "victim-", 1, idempotency.StateCompleted, -time.Hour, -time.Second)

		// The cleaner's store gets a pool of one connection, so that its
		// session can be watched.
		cdb := f.Open(t)
		cdb.SetMaxOpenConns(1)
		cs, err := sqlstore.New(cdb, sqlstore.Config{Dialect: b.Dialect, Table: f.Table})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })

		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck // committed below
		res, err := tx.ExecContext(ctx, takeoverSQL(f, "victim-0", "new-owner"))
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("takeover updated %d rows; want 1", n)
		}

		c := idempotency.NewCleaner(cs, idempotency.CleanerConfig{BatchSize: 100})
		done := make(chan passResult, 1)
		if b.Dialect == sqlstore.Postgres {
			// SKIP LOCKED: the pass must finish while the takeover is open.
			n, err := c.RunOnce(ctx)
			done <- passResult{n, err}
		} else {
			var conn int64
			if err := cdb.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&conn); err != nil {
				t.Fatal(err)
			}
			go func() {
				n, err := c.RunOnce(ctx)
				done <- passResult{n, err}
			}()
			waitForLockWait(t, ctx, db, conn, done)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.n != 20 {
			t.Fatalf("RunOnce = %d, %v; want the 20 other expired records deleted", r.n, r.err)
		}
		if tok := tokenOf(t, f, db, "", "victim-0"); tok != "new-owner" {
			t.Fatalf("victim's token = %q; want the takeover's row kept", tok)
		}
		if n, err := c.RunOnce(ctx); err != nil || n != 0 {
			t.Errorf("second RunOnce = %d, %v; want nothing to delete", n, err)
		}
	})
}

// TestCleanerLifecycle checks Start, Stop and the background loop on every
// backend, and that no goroutine outlives Stop and the closing of the pools.
// It is not parallel: goleak compares with the goroutines at its start.
func TestCleanerLifecycle(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		atStart := goleak.IgnoreCurrent()
		// Registered first, so it runs after the fixture has closed its pools.
		t.Cleanup(func() {
			if err := goleak.Find(atStart); err != nil {
				t.Errorf("goroutines left after Stop and closing the pools: %v", err)
			}
		})
		f := testdb.NewFixture(t, b)
		s := f.Store(t)
		db := f.Open(t)
		ctx := context.Background()

		passes := make(chan idempotency.PassStats, 64)
		cfg := idempotency.CleanerConfig{
			Interval: 20 * time.Millisecond, // the first pass comes within 2ms of Start
			OnPass: func(p idempotency.PassStats) {
				select {
				case passes <- p:
				default: // later passes find nothing; the test reads the first
				}
			},
		}
		settled := goleak.IgnoreCurrent()
		c := idempotency.NewCleaner(s, cfg)
		if err := goleak.Find(settled); err != nil {
			t.Fatalf("NewCleaner started a goroutine: %v", err)
		}
		c.Stop() // before Start: nothing to stop

		seedRows(t, f, db, "", "exp-", 30, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		c.Start()
		c.Start()
		if n := cleanerLoops(); n != 1 {
			t.Errorf("%d loops after Start twice; want 1", n)
		}
		p := nextPass(t, passes)
		if p.Err != nil || p.Deleted != 30 || p.Batches != 1 || p.Duration <= 0 || !p.Finished {
			t.Errorf("first pass: %+v; want 30 deleted in 1 batch, no error, a duration, finished", p)
		}
		c.Stop()
		waitNoLoops(t)
		c.Stop()
		drain(passes)

		// A stopped Cleaner starts again.
		seedRows(t, f, db, "", "again-", 5, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		c.Start()
		if p := nextPass(t, passes); p.Err != nil || p.Deleted != 5 {
			t.Errorf("first pass after a restart: %+v; want 5 deleted", p)
		}
		c.Stop()
		if n, err := c.RunOnce(ctx); err != nil || n != 0 {
			t.Errorf("RunOnce after Stop = %d, %v; want 0, nil", n, err)
		}

		// Stop cancels a pass in progress, and returns after the pass has.
		entered := make(chan struct{})
		var returned atomic.Bool
		w := &cleanStore{Store: s, before: func(ctx context.Context, call int) error {
			if call == 1 {
				close(entered)
				<-ctx.Done()
				returned.Store(true)
				return ctx.Err()
			}
			return nil
		}}
		blocked := idempotency.NewCleaner(w, idempotency.CleanerConfig{Interval: 20 * time.Millisecond})
		blocked.Start()
		<-entered
		blocked.Stop()
		if !returned.Load() {
			t.Fatal("Stop returned while the pass was still in the store")
		}
		waitNoLoops(t)
	})
}

// TestCleanerLogsErrorsAndKeepsRunning fails the first pass: the error is
// logged and reported, and the next pass runs and deletes.
func TestCleanerLogsErrorsAndKeepsRunning(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		s := f.Store(t)
		db := f.Open(t)
		seedRows(t, f, db, "", "exp-", 10, idempotency.StateCompleted, -2*time.Hour, -time.Hour)

		errFire := errors.New("database on fire")
		w := &cleanStore{Store: s, before: func(_ context.Context, call int) error {
			if call == 1 {
				return errFire
			}
			return nil
		}}
		var logs syncBuffer
		passes := make(chan idempotency.PassStats, 64)
		c := idempotency.NewCleaner(w, idempotency.CleanerConfig{
			Interval: 10 * time.Millisecond,
			Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
			OnPass: func(p idempotency.PassStats) {
				select {
				case passes <- p:
				default:
				}
			},
		})
		c.Start()
		defer c.Stop()
		if p := nextPass(t, passes); !errors.Is(p.Err, errFire) || p.Deleted != 0 || p.Finished {
			t.Errorf("first pass: %+v; want the store's error, not finished", p)
		}
		if p := nextPass(t, passes); p.Err != nil || p.Deleted != 10 || !p.Finished {
			t.Errorf("second pass: %+v; want the loop to go on and delete 10", p)
		}
		c.Stop()
		out := logs.String()
		if !containsLine(out, "level=ERROR", "database on fire") {
			t.Errorf("the failed pass was not logged as an error:\n%s", out)
		}
		if !containsLine(out, "level=INFO", "deleted=10", "duration=") {
			t.Errorf("the pass's rows and duration were not logged:\n%s", out)
		}
	})
}

// TestCleanerRunOnceBatches checks that a pass issues batches of BatchSize,
// each under its timeout, until one comes back short, and that a cancelled
// context stops it between batches.
func TestCleanerRunOnceBatches(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		s := f.Store(t)
		db := f.Open(t)
		ctx := context.Background()

		seedRows(t, f, db, "", "exp-", 25, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		w := &cleanStore{Store: s, before: func(ctx context.Context, _ int) error {
			if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > time.Minute {
				return errors.New("batch run without its one-minute timeout")
			}
			return nil
		}}
		c := idempotency.NewCleaner(w, idempotency.CleanerConfig{BatchSize: 10, BatchTimeout: time.Minute, BatchPause: time.Microsecond})
		if n, err := c.RunOnce(ctx); err != nil || n != 25 {
			t.Fatalf("RunOnce = %d, %v; want 25", n, err)
		}
		if got := w.Limits(); !slices.Equal(got, []int{10, 10, 10}) {
			t.Errorf("batches %v; want [10 10 10]: two full, then a short one", got)
		}
		// A last batch that finds nothing ends the pass too.
		seedRows(t, f, db, "", "more-", 20, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		w.reset()
		if n, err := c.RunOnce(ctx); err != nil || n != 20 || w.Calls() != 3 {
			t.Errorf("RunOnce over 20 = %d, %v in %d batches; want 20 in 3", n, err, w.Calls())
		}

		// Zero config: one batch of DefaultBatchSize.
		w.reset()
		if n, err := idempotency.NewCleaner(w, idempotency.CleanerConfig{}).RunOnce(ctx); err != nil || n != 0 {
			t.Errorf("RunOnce on a clean table = %d, %v", n, err)
		}
		if got := w.Limits(); !slices.Equal(got, []int{idempotency.DefaultBatchSize}) {
			t.Errorf("zero config: batches %v; want one of %d", got, idempotency.DefaultBatchSize)
		}

		// Cancelled after a full batch: the pass stops in the pause.
		seedRows(t, f, db, "", "last-", 25, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cw := &cleanStore{Store: s, after: func(call int) {
			if call == 1 {
				cancel()
			}
		}}
		n, err := idempotency.NewCleaner(cw, idempotency.CleanerConfig{BatchSize: 10, BatchPause: time.Hour}).RunOnce(cctx)
		if !errors.Is(err, context.Canceled) || n != 10 || cw.Calls() != 1 {
			t.Errorf("cancelled RunOnce = %d, %v after %d batches; want 10 and context.Canceled after 1", n, err, cw.Calls())
		}
	})
}

// TestCleanersConcurrentOnOneTable runs three cleaners, each on its own
// pool, over one table at once: no errors or deadlocks, every expired row
// deleted once, live rows kept.
func TestCleanersConcurrentOnOneTable(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		f.Store(t) // creates the table
		db := f.Open(t)
		const expired = 5000
		seedRows(t, f, db, "", "exp-", expired, idempotency.StateCompleted, -2*time.Hour, -time.Hour)
		seedRows(t, f, db, "", "live-", 50, idempotency.StateCompleted, -time.Minute, time.Hour)

		stores := []idempotency.Store{f.Store(t), f.Store(t), f.Store(t)}
		results := make([]passResult, len(stores))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := idempotency.NewCleaner(s, idempotency.CleanerConfig{BatchSize: 100, BatchPause: time.Microsecond})
				<-start
				n, err := c.RunOnce(context.Background())
				results[i] = passResult{n, err}
			}()
		}
		close(start)
		wg.Wait()
		var total int64
		for i, r := range results {
			if r.err != nil {
				t.Errorf("cleaner %d: %v", i, r.err)
			}
			total += r.n
		}
		if total != expired {
			t.Errorf("cleaners deleted %d rows in all (%+v); want each of the %d expired rows once", total, results, expired)
		}
		if n := countKeys(t, f, db, "exp-"); n != 0 {
			t.Errorf("%d expired rows left", n)
		}
		if n := countKeys(t, f, db, "live-"); n != 50 {
			t.Errorf("%d live rows left; want 50", n)
		}
	})
}

// TestDoKeepsWorkingDuringPass runs new keys and replays through a Manager
// while a pass deletes thousands of rows from the same table. The pass waits
// before its second batch until every caller has finished a few calls, so
// the calls overlap the pass.
func TestDoKeepsWorkingDuringPass(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		s := f.Store(t)
		db := f.Open(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		const expired = 3000
		seedRows(t, f, db, "", "exp-", expired, idempotency.StateCompleted, -2*time.Hour, -time.Hour)

		m := newManager[charge, receipt](t, s, idempotency.Config{Namespace: "live", TTL: time.Hour})
		fn := func(_ context.Context, c charge) (receipt, error) {
			return receipt{ID: c.Account, Amount: c.Amount}, nil
		}
		const workers, warmCalls = 4, 3
		var warm sync.WaitGroup
		warm.Add(workers)
		started, passDone := make(chan struct{}), make(chan struct{})
		w := &cleanStore{Store: s, before: func(_ context.Context, call int) error {
			switch call {
			case 1:
				close(started)
			case 2:
				warm.Wait()
			}
			return nil
		}}
		c := idempotency.NewCleaner(w, idempotency.CleanerConfig{BatchSize: 100, BatchPause: time.Microsecond})
		var pass passResult
		go func() {
			defer close(passDone)
			pass.n, pass.err = c.RunOnce(ctx)
		}()

		var wg sync.WaitGroup
		calls := make([]int, workers)
		for wk := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-started
				for i := 0; ; i++ {
					if i == warmCalls {
						warm.Done()
					}
					select {
					case <-passDone:
						if i >= warmCalls {
							calls[wk] = i
							return
						}
					default:
					}
					key := fmt.Sprintf("w%d-%d", wk, i)
					req := charge{Account: key, Amount: int64(i)}
					for _, wantReplay := range []bool{false, true} {
						r, err := m.DoResult(ctx, key, req, fn)
						if err != nil || r.Replayed != wantReplay || r.Value.ID != key {
							t.Errorf("Do(%s) during the pass = %+v, %v; want replayed=%v", key, r, err, wantReplay)
							if i < warmCalls {
								warm.Done()
							}
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		<-passDone
		if pass.err != nil || pass.n != expired {
			t.Fatalf("pass = %d, %v; want %d deleted", pass.n, pass.err, expired)
		}
		if n := countKeys(t, f, db, "w"); n != sum(calls) {
			t.Errorf("%d records written during the pass remain; want all %d", n, sum(calls))
		}
		t.Logf("%d Do calls (new and replay) during a pass of %d batches", 2*sum(calls), w.Calls())
	})
}

// passResult is what RunOnce returned.
type passResult struct {
	n   int64
	err error
}

// cleanStore wraps a real store and intercepts DeleteExpired: before runs
// before the real call and fails it when it returns an error; after runs
// after it. call counts from 1.
type cleanStore struct {
	idempotency.Store
	before func(ctx context.Context, call int) error
	after  func(call int)

	mu     sync.Mutex
	limits []int
}

func (w *cleanStore) DeleteExpired(ctx context.Context, limit int) (int64, error) {
	w.mu.Lock()
	w.limits = append(w.limits, limit)
	call := len(w.limits)
	w.mu.Unlock()
	if w.before != nil {
		if err := w.before(ctx, call); err != nil {
			return 0, err
		}
	}
	n, err := w.Store.DeleteExpired(ctx, limit)
	if w.after != nil {
		w.after(call)
	}
	return n, err
}

func (w *cleanStore) Calls() int { return len(w.Limits()) }

func (w *cleanStore) Limits() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.limits...)
}

func (w *cleanStore) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limits = nil
}

// nowPlus is the dialect's expression for the database clock plus d, in the
// column type the schema uses.
func nowPlus(d sqlstore.Dialect, off time.Duration) string {
	switch d {
	case sqlstore.Postgres:
		return fmt.Sprintf("now() + interval '%d milliseconds'", off.Milliseconds())
	case sqlstore.MySQL:
		return fmt.Sprintf("UTC_TIMESTAMP(6) + INTERVAL %d MICROSECOND", off.Microseconds())
	default:
		return fmt.Sprintf("CAST(unixepoch('subsec') * 1000 AS INTEGER) + %d", off.Milliseconds())
	}
}

// seedRows inserts n records keyed prefix0 … prefix(n-1) straight into the
// fixture's table with one INSERT … SELECT, with locked_until and expires_at
// relative to the database clock: faster than waiting for TTLs to run out.
// ns and prefix are plain ASCII, written as literals.
func seedRows(t *testing.T, f *testdb.Fixture, db *sqlx.DB, ns, prefix string, n int, state idempotency.State, lockedIn, expiresIn time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := f.Backend.Dialect
	key, token := fmt.Sprintf("'%s' || i", prefix), "'tok-' || i"
	var with, from string
	switch d {
	case sqlstore.Postgres:
		from = fmt.Sprintf("generate_series(0, %d) i", n-1)
	case sqlstore.MySQL:
		// MySQL and MariaDB cap recursive CTEs at 1000 rows by default.
		key, token = fmt.Sprintf("CONCAT('%s', i)", prefix), "CONCAT('tok-', i)"
		digits := "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4" +
			" UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
		from = fmt.Sprintf("(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS i FROM %[1]s a, %[1]s b, %[1]s c, %[1]s e) s WHERE i < %d", digits, n)
		if n > 10000 {
			t.Fatalf("seedRows: at most 10000 rows on MySQL, not %d", n)
		}
	default:
		with = fmt.Sprintf("WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < %d) ", n-1)
		from = "seq"
	}
	q := with + "INSERT INTO " + f.Table + " (namespace, idem_key, fingerprint, state, token, payload, locked_until, expires_at, created_at)" +
		fmt.Sprintf(" SELECT '%s', %s, 'v1:seed', %d, %s, NULL, %s, %s, %s FROM %s",
			ns, key, state, token, nowPlus(d, lockedIn), nowPlus(d, expiresIn), nowPlus(d, lockedIn-time.Minute), from)
	res, err := db.ExecContext(ctx, q)
	if err != nil {
		t.Fatalf("seed %s rows: %v", prefix, err)
	}
	if got, err := res.RowsAffected(); err != nil || got != int64(n) {
		t.Fatalf("seed %s rows: inserted %d, %v; want %d", prefix, got, err, n)
	}
}

// takeoverSQL is what a claim's takeover does to an expired record.
func takeoverSQL(f *testdb.Fixture, key, token string) string {
	d := f.Backend.Dialect
	return fmt.Sprintf("UPDATE %s SET fingerprint = 'v1:new', state = 0, token = '%s', payload = NULL, locked_until = %s, expires_at = %s"+
		" WHERE namespace = '' AND idem_key = '%s' AND expires_at <= %s",
		f.Table, token, nowPlus(d, time.Minute), nowPlus(d, time.Hour+time.Minute), key, nowPlus(d, 0))
}

func queryInt(t *testing.T, db *sqlx.DB, q string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func countKeys(t *testing.T, f *testdb.Fixture, db *sqlx.DB, prefix string) int {
	t.Helper()
	return queryInt(t, db, "SELECT COUNT(*) FROM "+f.Table+" WHERE idem_key LIKE '"+prefix+"%'")
}

func countExpired(t *testing.T, f *testdb.Fixture, db *sqlx.DB) int {
	t.Helper()
	return queryInt(t, db, "SELECT COUNT(*) FROM "+f.Table+" WHERE expires_at <= "+nowPlus(f.Backend.Dialect, 0))
}

// tokenOf returns the owner token of a record, or "" when there is none.
func tokenOf(t *testing.T, f *testdb.Fixture, db *sqlx.DB, ns, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var tok string
	err := db.QueryRowContext(ctx, "SELECT token FROM "+f.Table+" WHERE namespace = '"+ns+"' AND idem_key = '"+key+"'").Scan(&tok)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return tok
}

// waitForLockWait returns once MySQL session conn waits for a row lock, and
// fails the test when the pass finished without waiting: then it did not
// meet the situation it is there to test. It leaves done unread.
func waitForLockWait(t *testing.T, ctx context.Context, db *sqlx.DB, conn int64, done chan passResult) {
	t.Helper()
	for {
		var waiting int
		err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'", conn).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		// InnoDB refreshes INNODB_TRX only when it was not read for 100ms.
		time.Sleep(150 * time.Millisecond)
		if len(done) > 0 {
			t.Fatal("the DELETE finished without waiting for the takeover's lock: the re-check of expiry was not exercised")
		}
	}
}

// cleanerLoops counts the goroutines a Cleaner started, running or about to.
func cleanerLoops() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "created by github.com/idemkit/idempotency.(*Cleaner).Start") {
			count++
		}
	}
	return count
}

// waitNoLoops waits for the goroutines a Cleaner started to exit: Stop
// returns once the loop has finished its work, but the goroutine may still be
// on its way out of the scheduler.
func waitNoLoops(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for cleanerLoops() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d Cleaner goroutines still running 5s after Stop", cleanerLoops())
		}
		runtime.Gosched()
	}
}

func nextPass(t *testing.T, passes <-chan idempotency.PassStats) idempotency.PassStats {
	t.Helper()
	select {
	case p := <-passes:
		return p
	case <-time.After(30 * time.Second):
		t.Fatal("no pass reported within 30s")
		return idempotency.PassStats{}
	}
}

func drain(passes <-chan idempotency.PassStats) {
	for {
		select {
		case <-passes:
		default:
			return
		}
	}
}

// syncBuffer is a bytes.Buffer a logger on another goroutine can write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// containsLine reports whether one line of out contains every part.
func containsLine(out string, parts ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
