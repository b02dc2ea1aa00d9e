package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// txEnv is a store and a business table ("orders") in the same database,
// for TxManager tests: fn inserts an order row through its transaction, and
// the test counts rows to see what committed. The orders table has no unique
// key, so a duplicate run shows as a second row.
type txEnv struct {
	b      testdb.Backend
	f      *testdb.Fixture
	store  *sqlstore.Store
	db     *sqlx.DB // a pool of its own, for the test's reads and transactions
	orders string
}

func newTxEnv(t *testing.T, b testdb.Backend) *txEnv {
	t.Helper()
	return newTxEnvOrder(t, b, sqlstore.AdaptiveOrder)
}

// newTxEnvOrder is newTxEnv with the store's claim order pinned.
func newTxEnvOrder(t *testing.T, b testdb.Backend, order sqlstore.ClaimOrder) *txEnv {
	t.Helper()
	f := testdb.NewFixture(t, b)
	f.Store(t) // migrates the table
	e := &txEnv{b: b, f: f, store: storeWithOrder(t, f, order), db: f.Open(t), orders: f.Table + "_orders"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.db.MustExecContext(ctx, "CREATE TABLE "+e.orders+" (k VARCHAR(255) NOT NULL, amount BIGINT NOT NULL)")
	if b.Dialect != sqlstore.SQLite {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := e.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+e.orders); err != nil {
				t.Errorf("drop %s: %v", e.orders, err)
			}
		})
	}
	return e
}

func storeWithOrder(t *testing.T, f *testdb.Fixture, order sqlstore.ClaimOrder) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(f.Open(t), sqlstore.Config{Dialect: f.Backend.Dialect, Table: f.Table, ClaimOrder: order})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// anotherStore is a second store on the same table with a pool of its own,
// as another process would have.
func (e *txEnv) anotherStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	return storeWithOrder(t, e.f, sqlstore.AdaptiveOrder)
}

func newTxManager(t testing.TB, s idempotency.TxStore[*sqlx.Tx], cfg idempotency.Config) *idempotency.TxManager[charge, receipt, *sqlx.Tx] {
	t.Helper()
	m, err := idempotency.NewTx[charge, receipt](s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// insertOrder is fn's business write.
func (e *txEnv) insertOrder(ctx context.Context, tx *sqlx.Tx, key string, amount int64) error {
	_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO "+e.orders+" (k, amount) VALUES (?, ?)"), key, amount)
	return err
}

// orderFn inserts an order for key and returns its receipt, counting runs.
func (e *txEnv) orderFn(runs *counter, key string) func(context.Context, *sqlx.Tx, charge) (receipt, error) {
	return func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
		runs.inc(key)
		if err := e.insertOrder(ctx, tx, key, c.Amount); err != nil {
			return receipt{}, err
		}
		return receipt{ID: "ord_" + key, Amount: c.Amount}, nil
	}
}

// orderRows counts committed order rows for key.
func (e *txEnv) orderRows(t *testing.T, key string) int {
	t.Helper()
	var n int
	if err := e.db.Get(&n, e.db.Rebind("SELECT COUNT(*) FROM "+e.orders+" WHERE k = ?"), key); err != nil {
		t.Fatal(err)
	}
	return n
}

// forEachTxEnv runs fn on a fresh txEnv of every backend, in parallel.
func forEachTxEnv(t *testing.T, fn func(t *testing.T, e *txEnv)) {
	t.Helper()
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		fn(t, newTxEnv(t, b))
	})
}
