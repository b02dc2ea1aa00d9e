package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestTxLocksEndWithTheClaim: the lock a claim takes inside a transaction
// (PostgreSQL's advisory lock, MySQL's named lock) is gone once the call
// ends, on every path. A MySQL named lock belongs to the connection, not the
// transaction: one left behind on a pooled connection would make the key
// look in flight to every other connection for as long as it lived. SQLite's
// lock is the transaction's own write lock; its paths run all the same.
func TestTxLocksEndWithTheClaim(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		s := f.Store(t)
		probe := f.Open(t) // another pool: it sees locks held anywhere
		ctx := context.Background()
		held := func(key string) bool {
			t.Helper()
			name := sqlstore.KeyLock(s, "ns", key)
			var n int
			var err error
			switch b.Dialect {
			case sqlstore.MySQL:
				err = probe.Get(&n, "SELECT IS_USED_LOCK(?) IS NOT NULL", name)
			case sqlstore.Postgres:
				err = probe.Get(&n, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'
					AND ((classid::bigint << 32) | objid::bigint) = ($1::bigint & x'ffffffffffffffff'::bigint)`, name)
			}
			if err != nil {
				t.Fatal(err)
			}
			return n > 0
		}
		m, err := idempotency.NewTx[costReq, costResp](s, idempotency.Config{Namespace: "ns", Lease: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ok := func(context.Context, *sqlx.Tx, costReq) (costResp, error) { return costResp{ID: "x"}, nil }
		errBoom := errors.New("boom")
		paths := []struct {
			name string
			run  func(key string) error
		}{
			{"completed", func(key string) error { _, err := m.Do(ctx, key, costReq{}, ok); return err }},
			{"replayed while writing first", func(key string) error {
				if _, err := m.Do(ctx, key, costReq{}, ok); err != nil {
					return err
				}
				sqlstore.ForceClaimOrder(s, sqlstore.WriteFirst)
				defer sqlstore.ForceClaimOrder(s, sqlstore.AdaptiveOrder)
				_, err := m.Do(ctx, key, costReq{}, ok)
				return err
			}},
			{"replayed while another transaction share-locks the row", func(key string) error {
				if _, err := m.Do(ctx, key, costReq{}, ok); err != nil {
					return err
				}
				other, err := probe.BeginTxx(ctx, nil)
				if err != nil {
					return err
				}
				defer other.Rollback()
				lockRow := map[sqlstore.Dialect]string{sqlstore.MySQL: " LOCK IN SHARE MODE", sqlstore.Postgres: " FOR SHARE"}[b.Dialect]
				var st int
				if err := other.Get(&st, other.Rebind("SELECT state FROM "+f.Table+" WHERE namespace = ? AND idem_key = ?"+lockRow), "ns", key); err != nil {
					return err
				}
				sqlstore.ForceClaimOrder(s, sqlstore.WriteFirst)
				defer sqlstore.ForceClaimOrder(s, sqlstore.AdaptiveOrder)
				_, err = m.Do(ctx, key, costReq{}, ok)
				return err
			}},
			{"fn failed", func(key string) error {
				_, err := m.Do(ctx, key, costReq{}, func(context.Context, *sqlx.Tx, costReq) (costResp, error) { return costResp{}, errBoom })
				return wantErr(err, errBoom)
			}},
			{"permanent failure", func(key string) error {
				_, err := m.Do(ctx, key, costReq{}, func(context.Context, *sqlx.Tx, costReq) (costResp, error) {
					return costResp{}, idempotency.Permanent(errBoom)
				})
				return wantErr(err, errBoom)
			}},
			{"lease ran out", func(key string) error {
				_, err := m.Do(ctx, key, costReq{}, func(ctx context.Context, _ *sqlx.Tx, _ costReq) (costResp, error) {
					<-ctx.Done()
					return costResp{}, ctx.Err()
				})
				return wantErr(err, idempotency.ErrLeaseLost)
			}},
			{"DoIn committed", func(key string) error {
				tx, err := probe.BeginTxx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				if _, err := m.DoIn(ctx, tx, key, costReq{}, ok); err != nil {
					return err
				}
				return tx.Commit()
			}},
			{"DoIn failed", func(key string) error {
				tx, err := probe.BeginTxx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				_, err = m.DoIn(ctx, tx, key, costReq{}, func(context.Context, *sqlx.Tx, costReq) (costResp, error) { return costResp{}, errBoom })
				if err := wantErr(err, errBoom); err != nil {
					return err
				}
				return tx.Commit()
			}},
		}
		for _, p := range paths {
			if err := p.run(p.name); err != nil {
				t.Errorf("%s: %v", p.name, err)
			}
			if b.Dialect != sqlstore.SQLite && held(p.name) {
				t.Errorf("%s: the key's lock is still held after the call", p.name)
			}
		}
	})
}

func wantErr(err, want error) error {
	if !errors.Is(err, want) {
		return errors.Join(errors.New("unexpected result"), err)
	}
	return nil
}

// TestTxOnAPoolOfOne: a claim holding the only connection of its pool must
// not need a second one (to prepare a statement, say), for TxManager.Do and
// for DoIn in a transaction of the same pool.
func TestTxOnAPoolOfOne(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		for _, order := range sqlstore.ClaimOrders {
			t.Run(order.String(), func(t *testing.T) { testTxOnAPoolOfOne(t, b, order) })
		}
	})
}

func testTxOnAPoolOfOne(t *testing.T, b testdb.Backend, order sqlstore.ClaimOrder) {
	f := testdb.NewFixture(t, b)
	f.Store(t) // migrates
	db := f.Open(t)
	db.SetMaxOpenConns(1)
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: b.Dialect, Table: f.Table, ClaimOrder: order})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := idempotency.NewTx[costReq, costResp](s, idempotency.Config{Lease: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// A claim that waits for a second connection waits until this
	// deadline and fails.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ok := func(context.Context, *sqlx.Tx, costReq) (costResp, error) { return costResp{ID: "x"}, nil }
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.DoIn(ctx, tx, "in", costReq{}, ok); err != nil {
		t.Fatalf("DoIn, statements not yet prepared: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Do(ctx, "do", costReq{}, ok); err != nil {
		t.Fatalf("Do, statements not yet prepared: %v", err)
	}
	tx, err = db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := m.DoIn(ctx, tx, "in2", costReq{}, ok); err != nil {
		t.Fatalf("DoIn, statements prepared: %v", err)
	}
	if r, err := m.DoInResult(ctx, tx, "do", costReq{}, ok); err != nil || !r.Replayed {
		t.Fatalf("DoIn replay = %+v, %v", r, err)
	}
}
