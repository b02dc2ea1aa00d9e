package idempotency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestTxManagerCache: TxManager answers committed outcomes from the cache,
// from its own commits and from other processes' read once; an outcome
// DoIn recorded in a transaction the caller then rolled back is never
// cached, and Forget invalidates.
func TestTxManagerCache(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		var ends endings
		cache := newIdemCache(t, idemcache.Config{})
		m := newTxManager(t, e.store, idempotency.Config{Namespace: "orders", Cache: cache, Observer: ends.observer()})
		other := newTxManager(t, e.anotherStore(t), idempotency.Config{Namespace: "orders"})
		var runs counter
		req := charge{"acct", 100}

		// Its own commit: read by the first replay, then cached.
		if _, err := m.Do(ctx, "mine", req, e.orderFn(&runs, "mine")); err != nil {
			t.Fatal(err)
		}
		for i, wantCached := range []bool{false, true} {
			if r, err := m.DoResult(ctx, "mine", req, e.orderFn(&runs, "mine")); err != nil || !r.Replayed || ends.last().Cached != wantCached {
				t.Errorf("replay %d = %+v, %v (cached %v); want replayed, cached %v", i, r, err, ends.last().Cached, wantCached)
			}
		}
		if _, err := m.Do(ctx, "mine", charge{"acct", 1}, e.orderFn(&runs, "mine")); !errors.Is(err, idempotency.ErrRequestMismatch) || !ends.last().Cached {
			t.Errorf("another request = %v (cached %v); want a cached ErrRequestMismatch", err, ends.last().Cached)
		}

		// Another process's commit: read once, then cached.
		if _, err := other.Do(ctx, "theirs", req, e.orderFn(&runs, "theirs")); err != nil {
			t.Fatal(err)
		}
		for i, wantCached := range []bool{false, true} {
			r, err := m.DoResult(ctx, "theirs", req, e.orderFn(&runs, "theirs"))
			if err != nil || !r.Replayed || ends.last().Cached != wantCached {
				t.Errorf("replay %d = %+v, %v (cached %v); want replayed, cached %v", i, r, err, ends.last().Cached, wantCached)
			}
		}

		// DoIn in a transaction the caller rolls back: nothing cached,
		// and the next call runs fn.
		tx, err := e.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.DoIn(ctx, tx, "rolled-back", req, e.orderFn(&runs, "rolled-back")); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if r, err := m.DoResult(ctx, "rolled-back", req, e.orderFn(&runs, "rolled-back")); err != nil || r.Replayed {
			t.Errorf("after the caller's rollback = %+v, %v; want fn run", r, err)
		}
		if n := runs.get("rolled-back"); n != 2 {
			t.Errorf("fn ran %d times for the rolled-back key; want 2", n)
		}

		// Forget.
		if found, err := m.Forget(ctx, "mine"); err != nil || !found {
			t.Fatalf("Forget = %v, %v", found, err)
		}
		if r, err := m.DoResult(ctx, "mine", req, e.orderFn(&runs, "mine")); err != nil || r.Replayed {
			t.Errorf("after Forget = %+v, %v; want fn run", r, err)
		}
		if got := e.orderRows(t, "mine"); got != 2 {
			t.Errorf("%d order rows for the forgotten key; want 2 (before and after Forget)", got)
		}
	})
}

// slowReadStore is a TxStore whose BeginTx answers a finished key late,
// after the store read it: as a slow network would.
type slowReadStore struct {
	*sqlstore.Store
	late time.Duration
}

func (s slowReadStore) BeginTx(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	c, res, err := s.Store.BeginTx(ctx, req)
	if err == nil && !res.Claimed {
		time.Sleep(s.late)
	}
	return c, res, err
}

// TestTxManagerCacheNeverOutlivesRecord: TxManager caches a replayed
// outcome until its record's expiry counted from before the read was sent,
// so once the store says the record expired, the cache does not answer,
// though the read's answer came late.
func TestTxManagerCacheNeverOutlivesRecord(t *testing.T) {
	const ttl, late = 300 * time.Millisecond, 150 * time.Millisecond
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		var ends endings
		m := newTxManager(t, slowReadStore{e.store, late}, idempotency.Config{Namespace: "orders", TTL: ttl,
			Cache: newIdemCache(t, idemcache.Config{MaxAge: time.Hour}), Observer: ends.observer()})
		var runs counter
		req := charge{"acct", 100}
		if _, err := m.Do(ctx, "k", req, e.orderFn(&runs, "k")); err != nil {
			t.Fatal(err)
		}
		if r, err := m.DoResult(ctx, "k", req, e.orderFn(&runs, "k")); err != nil || !r.Replayed {
			t.Fatalf("replay = %+v, %v", r, err)
		}
		eventually(t, "the store says the record expired", func() bool {
			_, err := e.store.Inspect(ctx, "orders", "k")
			return errors.Is(err, idempotency.ErrNotFound)
		})
		r, err := m.DoResult(ctx, "k", req, e.orderFn(&runs, "k"))
		if err != nil || r.Replayed || ends.last().Cached {
			t.Fatalf("after the record expired = %+v, %v (cached %v); want fn run again", r, err, ends.last().Cached)
		}
	})
}

// lateCommitStore is a TxStore whose commits take effect but whose answer
// is lost after the lease ran out: as a connection that stalled during
// COMMIT. Its claims' context ends at the lease, with cause ErrLeaseLost,
// whatever the claim does meanwhile.
type lateCommitStore struct{ *sqlstore.Store }

func (s lateCommitStore) BeginTx(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	c, res, err := s.Store.BeginTx(ctx, req)
	if c != nil {
		lctx, cancel := context.WithTimeoutCause(context.WithoutCancel(ctx), req.Lease, idempotency.ErrLeaseLost)
		c = lateCommit{c, lctx, cancel}
	}
	return c, res, err
}

type lateCommit struct {
	idempotency.ClaimedTx[*sqlx.Tx]
	ctx    context.Context
	cancel context.CancelFunc
}

func (c lateCommit) Context() context.Context { return c.ctx }

func (c lateCommit) Commit(ctx context.Context) error {
	defer c.cancel()
	if err := c.ClaimedTx.Commit(ctx); err != nil {
		return err
	}
	<-c.ctx.Done() // the lease runs out before the answer arrives
	return errors.New("connection reset by peer")
}

func (c lateCommit) Rollback(ctx context.Context) error {
	defer c.cancel()
	return c.ClaimedTx.Rollback(ctx)
}

// TestTxManagerCommitAnswerLost: a commit whose answer is lost after the
// lease ran out may have committed (here it did), so the caller is told the
// outcome is unknown, never ErrLeaseLost, which says it rolled back; a
// retry replays it.
func TestTxManagerCommitAnswerLost(t *testing.T) {
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		m := newTxManager(t, lateCommitStore{e.store}, idempotency.Config{Namespace: "orders", Lease: 200 * time.Millisecond})
		var runs counter
		_, err := m.Do(ctx, "k", charge{"acct", 1}, e.orderFn(&runs, "k"))
		if err == nil || errors.Is(err, idempotency.ErrLeaseLost) {
			t.Fatalf("Do = %v; want an error saying the commit's outcome is unknown, not ErrLeaseLost", err)
		}
		r, err := m.DoResult(ctx, "k", charge{"acct", 1}, e.orderFn(&runs, "k"))
		if err != nil || !r.Replayed {
			t.Fatalf("retry = %+v, %v; want the committed outcome replayed", r, err)
		}
		if n := e.orderRows(t, "k"); n != 1 {
			t.Errorf("%d order rows; want 1", n)
		}
	})
}
