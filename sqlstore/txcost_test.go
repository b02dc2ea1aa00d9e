package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/countdriver"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestTxStatementBudget pins what one TxManager.Do costs (DESIGN.md §9.8):
// a new key is one transaction and one commit — the claim INSERT, fn's own
// INSERT and the outcome UPDATE — with the lock that keeps duplicates from
// waiting riding on the claim (and, on MySQL, its release on the UPDATE),
// no savepoint and no extra read. A replay while the store
// reads first is the plain SELECT of Manager.Do, with no transaction.
func TestTxStatementBudget(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		s, counter, f := countedStore(t, b, 2)
		ctx := context.Background()
		db := f.Open(t)
		orders := f.Table + "_orders"
		db.MustExecContext(ctx, "CREATE TABLE "+orders+" (k VARCHAR(255) NOT NULL)")
		if b.Dialect != sqlstore.SQLite {
			t.Cleanup(func() { db.Exec("DROP TABLE " + orders) })
		}
		m, err := idempotency.NewTx[costReq, costResp](s, idempotency.Config{Namespace: "cost"})
		if err != nil {
			t.Fatal(err)
		}
		fn := func(ctx context.Context, tx *sqlx.Tx, r costReq) (costResp, error) {
			_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO "+orders+" (k) VALUES (?)"), r.Account)
			return costResp{ID: "ord_" + r.Account}, err
		}
		counter.Trace(true)
		do := func(key string) (idempotency.Result[costResp], countdriver.Counts, []countdriver.Event) {
			t.Helper()
			before := counter.Snapshot()
			counter.Events()
			res, err := m.DoResult(ctx, key, costReq{Account: key, Amount: 1}, fn)
			if err != nil {
				t.Fatalf("Do(%q): %v", key, err)
			}
			return res, counter.Snapshot().Sub(before), counter.Events()
		}

		sqlstore.ForceClaimOrder(s, sqlstore.WriteFirst)
		do("warm") // prepares the store's statements
		res, c, ev := do("k1")
		checkTxKinds(t, "new key", ev, []countdriver.Kind{"INSERT", "INSERT", "UPDATE"})
		if b.Dialect == sqlstore.MySQL && !strings.Contains(ev[2].Query, "RELEASE_LOCK") {
			t.Errorf("the outcome UPDATE does not release the named lock: %s", ev[2].Query)
		}
		if res.Replayed || c.Begins != 1 || c.Commits != 1 || c.Rollbacks != 0 {
			t.Errorf("new key: replayed %v, %v; want one transaction, committed", res.Replayed, c)
		}
		// go-sql-driver/mysql prepares fn's unprepared INSERT for each
		// execution; the store's own statements are prepared already.
		fnPrepares := 0
		if b.Dialect == sqlstore.MySQL {
			fnPrepares = 1
		}
		if c.TotalPrepares() != fnPrepares || c.Reprepares != 0 {
			t.Errorf("new key after a warm-up: %v; want none of the store's statements prepared again", c)
		}
		lockFn := map[sqlstore.Dialect]string{sqlstore.Postgres: "PG_TRY_ADVISORY_XACT_LOCK", sqlstore.MySQL: "GET_LOCK"}[b.Dialect]
		if q := strings.ToUpper(ev[0].Query); !strings.Contains(q, lockFn) {
			t.Errorf("the claim does not take the key's lock %s itself: %s", lockFn, ev[0].Query)
		}
		checkAtomicClaim(t, ev[0])

		sqlstore.ForceClaimOrder(s, sqlstore.ReadFirst)
		res, c, ev = do("k1")
		if !res.Replayed || res.Value.ID != "ord_k1" {
			t.Fatalf("replay = %+v, want ord_k1 replayed", res)
		}
		checkKinds(t, "replay", ev, []countdriver.Kind{"SELECT"})
		checkNoTransaction(t, "replay", c)
		checkNoLockingClause(t, ev)
	})
}

// checkTxKinds compares statement kinds; the store's own statements with
// arguments must be prepared (fn's are its own business).
func checkTxKinds(t *testing.T, what string, ev []countdriver.Event, want []countdriver.Kind) {
	t.Helper()
	got := make([]countdriver.Kind, len(ev))
	var b strings.Builder
	for i, e := range ev {
		got[i] = e.Kind
		fmt.Fprintf(&b, "\n\t%s", e.Query)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s issued %v, want %v:%s", what, got, want, b.String())
	}
	for _, e := range ev {
		if len(e.Args) > 0 && !e.Prepared && !strings.Contains(e.Query, "_orders") {
			t.Errorf("%s: the store's statement is not prepared: %s", what, e.Query)
		}
	}
}
