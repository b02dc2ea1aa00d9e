package idempotency_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// hookedTxStore lets a test act just before a claim's Complete and just
// after it.
type hookedTxStore struct {
	*sqlstore.Store
	beforeComplete, afterComplete func(c idempotency.ClaimedTx[*sqlx.Tx])
}

type hookedClaim struct {
	idempotency.ClaimedTx[*sqlx.Tx]
	s *hookedTxStore
}

func (h *hookedClaim) Complete(ctx context.Context, st idempotency.State, p []byte, ttl time.Duration) error {
	if h.s.beforeComplete != nil {
		h.s.beforeComplete(h.ClaimedTx)
	}
	err := h.ClaimedTx.Complete(ctx, st, p, ttl)
	if err == nil && h.s.afterComplete != nil {
		h.s.afterComplete(h.ClaimedTx)
	}
	return err
}

func (s *hookedTxStore) wrap(c idempotency.ClaimedTx[*sqlx.Tx], r idempotency.ClaimResult, err error) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	if c != nil {
		c = &hookedClaim{c, s}
	}
	return c, r, err
}

func (s *hookedTxStore) BeginTx(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	return s.wrap(s.Store.BeginTx(ctx, req))
}

func (s *hookedTxStore) JoinTx(ctx context.Context, tx *sqlx.Tx, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	return s.wrap(s.Store.JoinTx(ctx, tx, req))
}

// TestDoInAnswerMatchesWhatTheCallerCommits: the lease running out, or the
// caller's context ending, between the outcome and the end of DoIn must not
// leave the caller's transaction holding fn's writes and an outcome that
// DoIn reported as failed. Either DoIn succeeds and the caller's commit
// keeps them, or it fails and the commit keeps nothing of them.
func TestDoInAnswerMatchesWhatTheCallerCommits(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		bg := context.Background()
		for _, tc := range []struct {
			name  string
			after func(cancel context.CancelFunc) func(idempotency.ClaimedTx[*sqlx.Tx])
		}{
			{"lease ran out", func(context.CancelFunc) func(idempotency.ClaimedTx[*sqlx.Tx]) {
				return func(c idempotency.ClaimedTx[*sqlx.Tx]) { <-c.Context().Done() }
			}},
			{"ctx cancelled", func(cancel context.CancelFunc) func(idempotency.ClaimedTx[*sqlx.Tx]) {
				return func(idempotency.ClaimedTx[*sqlx.Tx]) { cancel() }
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(bg)
				defer cancel()
				key := "k-" + tc.name
				hs := &hookedTxStore{Store: e.store, afterComplete: tc.after(cancel)}
				m := newTxManager(t, hs, idempotency.Config{Lease: 300 * time.Millisecond})
				var runs counter
				tx := e.db.MustBeginTx(bg, nil)
				_, doErr := m.DoIn(ctx, tx, key, charge{Amount: 1}, e.orderFn(&runs, key))
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				rows := e.orderRows(t, key)
				r, err := newTxManager(t, e.store, idempotency.Config{}).DoResult(bg, key, charge{Amount: 1}, e.orderFn(&runs, key))
				switch {
				case doErr == nil && (rows != 1 || err != nil || !r.Replayed):
					t.Errorf("DoIn succeeded, but after the commit: %d rows, retry %+v, %v", rows, r, err)
				case doErr != nil && (rows != 0 || err != nil || r.Replayed):
					t.Errorf("DoIn failed (%v), but after the commit: %d rows, retry %+v, %v", doErr, rows, r, err)
				}
			})
		}
	})
}

// TestTxManagerLeaseRunsOutBeforeOutcome: the lease running out after fn
// returned but before the outcome is written is ErrLeaseLost too.
func TestTxManagerLeaseRunsOutBeforeOutcome(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		hs := &hookedTxStore{Store: e.store, beforeComplete: func(c idempotency.ClaimedTx[*sqlx.Tx]) { <-c.Context().Done() }}
		m := newTxManager(t, hs, idempotency.Config{Lease: 200 * time.Millisecond})
		var runs counter
		if _, err := m.Do(context.Background(), "k", charge{Amount: 1}, e.orderFn(&runs, "k")); !errors.Is(err, idempotency.ErrLeaseLost) {
			t.Errorf("Do = %v; want ErrLeaseLost", err)
		}
		if n := e.orderRows(t, "k"); n != 0 {
			t.Errorf("%d order rows, want none", n)
		}
	})
}

// TestTxManagerInProcessDuplicateOfAnotherRequest: in one process, a
// duplicate with another request gets ErrInProgress at once while the
// first call runs (on SQLite it would otherwise wait for the writer), and
// ErrRequestMismatch once the first call's outcome is recorded.
func TestTxManagerInProcessDuplicateOfAnotherRequest(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		m := newTxManager(t, e.store, idempotency.Config{})
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := m.Do(ctx, "k", charge{Amount: 1}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
				close(started)
				<-release
				return receipt{ID: "first"}, nil
			})
			done <- err
		}()
		<-started
		var runs counter
		answered := make(chan error, 1)
		go func() {
			_, err := m.Do(ctx, "k", charge{Amount: 2}, e.orderFn(&runs, "k"))
			answered <- err
		}()
		select {
		case err := <-answered:
			if !errors.Is(err, idempotency.ErrInProgress) {
				t.Errorf("another request while the first runs: %v, want ErrInProgress", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("an in-process duplicate with another request is waiting for the first call")
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := m.Do(ctx, "k", charge{Amount: 2}, e.orderFn(&runs, "k")); !errors.Is(err, idempotency.ErrRequestMismatch) {
			t.Errorf("another request after the first committed: %v, want ErrRequestMismatch", err)
		}
	})
}

// TestDoInReplayLocksNothing: a DoIn that replays a finished key reads it
// in the caller's transaction without locking it, so other callers of the
// key are not held up while that transaction stays open.
func TestDoInReplayLocksNothing(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		e := newTxEnvOrder(t, b, sqlstore.WriteFirst)
		ctx := context.Background()
		m := newTxManager(t, e.store, idempotency.Config{})
		var runs counter
		if _, err := m.Do(ctx, "k", charge{Amount: 1}, e.orderFn(&runs, "k")); err != nil {
			t.Fatal(err)
		}
		tx := e.db.MustBeginTx(ctx, nil)
		defer tx.Rollback()
		if r, err := m.DoInResult(ctx, tx, "k", charge{Amount: 1}, e.orderFn(&runs, "k")); err != nil || !r.Replayed {
			t.Fatalf("DoIn replay = %+v, %v", r, err)
		}
		// Another pool claims the key writing first, as a retry elsewhere
		// would; a lock left by the replay would hold it up until the
		// deadline.
		other, err := sqlstore.New(e.f.Open(t), sqlstore.Config{Dialect: b.Dialect, Table: e.f.Table, ClaimOrder: sqlstore.WriteFirst})
		if err != nil {
			t.Fatal(err)
		}
		plain := newManager[charge, receipt](t, other, idempotency.Config{})
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if r, err := plain.DoResult(wctx, "k", charge{Amount: 1}, okFn); err != nil || !r.Replayed {
			t.Fatalf("a replay elsewhere while the caller's transaction is open = %+v, %v", r, err)
		}
	})
}

// countingTxStore counts BeginTx calls.
type countingTxStore struct {
	*sqlstore.Store
	begins atomic.Int32
}

func (c *countingTxStore) BeginTx(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	c.begins.Add(1)
	return c.Store.BeginTx(ctx, req)
}

// TestSQLiteBusyClaimIsNotRunAgain: on SQLite a claim from another pool
// waits for the writer up to the busy timeout, once, and then fails, saying
// the database was busy: a transaction that waited out the busy timeout is
// not one to run again (it would wait as long again).
func TestSQLiteBusyClaimIsNotRunAgain(t *testing.T) {
	dsn := "file:" + filepath.Join(t.TempDir(), "idem.db") + "?_pragma=busy_timeout(200)&_pragma=journal_mode(WAL)"
	open := func() *sqlstore.Store {
		db := sqlx.MustOpen("sqlite", dsn)
		t.Cleanup(func() { db.Close() })
		s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1, s2 := open(), &countingTxStore{Store: open()}
	if err := s1.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	m1, m2 := newTxManager(t, s1, idempotency.Config{}), newTxManager(t, s2, idempotency.Config{})
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := m1.Do(context.Background(), "k", charge{Amount: 1}, func(context.Context, *sqlx.Tx, charge) (receipt, error) {
			close(started)
			<-release
			return receipt{}, nil
		})
		done <- err
	}()
	<-started
	_, err := m2.Do(context.Background(), "other-key", charge{Amount: 1}, func(context.Context, *sqlx.Tx, charge) (receipt, error) {
		t.Error("fn ran without its claim")
		return receipt{}, nil
	})
	close(release)
	if err == nil || errors.Is(err, idempotency.ErrInProgress) || !strings.Contains(err.Error(), "busy") {
		t.Errorf("a claim on another key while the database is busy = %v, want an error saying the database was busy", err)
	}
	if n := s2.begins.Load(); n != 1 {
		t.Errorf("%d transactions begun, want 1", n)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSQLiteDoInWhileAnotherWrites: DoIn on SQLite while another call
// writes (another key) either waits for the writer or, when the caller's
// transaction had to become a writer from a reader, fails with an error the
// caller retries its transaction on: never ErrInProgress for a key nobody
// holds.
func TestSQLiteDoInWhileAnotherWrites(t *testing.T) {
	e := newTxEnv(t, testdb.Backends()[0])
	ctx := context.Background()
	m := newTxManager(t, e.store, idempotency.Config{})
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := m.Do(ctx, "a", charge{Amount: 1}, func(context.Context, *sqlx.Tx, charge) (receipt, error) {
			close(started)
			<-release
			return receipt{}, nil
		})
		done <- err
	}()
	<-started
	tx := e.db.MustBeginTx(ctx, nil)
	defer tx.Rollback()
	var runs counter
	_, err := m.DoIn(ctx, tx, "b", charge{Amount: 2}, e.orderFn(&runs, "b"))
	close(release)
	if err != nil && (errors.Is(err, idempotency.ErrInProgress) || !e.store.RetryableTx(err)) {
		t.Errorf("DoIn while another call writes: %v; want success or an error to retry the transaction on", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
