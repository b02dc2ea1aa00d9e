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

		// Its own commit is cached.
		if _, err := m.Do(ctx, "mine", req, e.orderFn(&runs, "mine")); err != nil {
			t.Fatal(err)
		}
		if r, err := m.DoResult(ctx, "mine", req, e.orderFn(&runs, "mine")); err != nil || !r.Replayed || !ends.last().Cached {
			t.Errorf("replay = %+v, %v (cached %v); want a cached replay", r, err, ends.last().Cached)
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

// slowCompleteStore is a TxStore whose claims' Complete answers late, after
// the outcome was written: as a slow network would.
type slowCompleteStore struct {
	*sqlstore.Store
	late time.Duration
}

func (s slowCompleteStore) BeginTx(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	c, res, err := s.Store.BeginTx(ctx, req)
	if c != nil {
		c = slowComplete{c, s.late}
	}
	return c, res, err
}

type slowComplete struct {
	idempotency.ClaimedTx[*sqlx.Tx]
	late time.Duration
}

func (c slowComplete) Complete(ctx context.Context, st idempotency.State, p []byte, ttl time.Duration) error {
	err := c.ClaimedTx.Complete(ctx, st, p, ttl)
	time.Sleep(c.late)
	return err
}

// TestTxManagerCacheNeverOutlivesRecord: TxManager's own outcome is cached
// until its TTL counted from before the Complete statement was sent, so
// once the store says the record expired, the cache does not answer, though
// Complete's answer and the commit came late.
func TestTxManagerCacheNeverOutlivesRecord(t *testing.T) {
	const ttl, late = 300 * time.Millisecond, 150 * time.Millisecond
	forEachTxEnv(t, func(t *testing.T, e *txEnv) {
		ctx := context.Background()
		var ends endings
		m := newTxManager(t, slowCompleteStore{e.store, late}, idempotency.Config{Namespace: "orders", TTL: ttl,
			Cache: newIdemCache(t, idemcache.Config{MaxAge: time.Hour}), Observer: ends.observer()})
		var runs counter
		req := charge{"acct", 100}
		if _, err := m.Do(ctx, "k", req, e.orderFn(&runs, "k")); err != nil {
			t.Fatal(err)
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
