package countdriver_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/idemkit/idempotency/internal/countdriver"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

func TestKindOf(t *testing.T) {
	for q, want := range map[string]countdriver.Kind{
		"SELECT 1":                         "SELECT",
		"  \n\tselect 1":                   "SELECT",
		"-- note\nINSERT INTO t VALUES(1)": "INSERT",
		"/* a */ /* b */update t set x=1":  "UPDATE",
		"(SELECT 1) UNION (SELECT 2)":      "SELECT",
		"WITH ins AS (INSERT ...) SELECT":  "WITH",
		"delete from t":                    "DELETE",
		"":                                 "",
		"-- only a comment":                "",
	} {
		if got := countdriver.KindOf(q); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestCountsWhatReachesTheDriver(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		f := testdb.NewFixture(t, b)
		db, counter, err := countdriver.OpenDB(b.Driver, f.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		ctx := context.Background()
		ph := placeholders(b.Dialect)
		mustExec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, ph(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		mustExec("CREATE TABLE " + f.Table + " (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
		if got := counter.Snapshot(); got.Statements["CREATE"] != 1 || got.Connects != 1 {
			t.Fatalf("after CREATE: %v, want CREATE=1 connects=1", got)
		}

		// A direct statement with arguments: go-sql-driver/mysql without
		// interpolateParams answers ErrSkip and database/sql prepares,
		// executes and closes it, which the counts must show.
		counter.Reset()
		mustExec("INSERT INTO "+f.Table+" (id, v) VALUES (?, ?)", 1, 10)
		got := counter.Snapshot()
		if got.Statements["INSERT"] != 1 || got.Total() != 1 {
			t.Errorf("direct INSERT: %v, want exactly INSERT=1", got)
		}
		wantPrepares := 0
		if b.Dialect == sqlstore.MySQL {
			wantPrepares = 1
		}
		if got.TotalPrepares() != wantPrepares {
			t.Errorf("direct INSERT: %v, want %d prepares", got, wantPrepares)
		}

		// A prepared statement is prepared once on the only connection
		// and executed twice; preparing the same text again while the
		// first is open is a reprepare.
		counter.Reset()
		st, err := db.PrepareContext(ctx, ph("SELECT v FROM "+f.Table+" WHERE id = ?"))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			var v int
			if err := st.QueryRowContext(ctx, 1).Scan(&v); err != nil || v != 10 {
				t.Fatalf("prepared SELECT: v=%d err=%v, want 10", v, err)
			}
		}
		st2, err := db.PrepareContext(ctx, ph("SELECT v FROM "+f.Table+" WHERE id = ?"))
		if err != nil {
			t.Fatal(err)
		}
		got = counter.Snapshot()
		if got.Statements["SELECT"] != 2 || got.Prepares["SELECT"] != 2 || got.Reprepares != 1 {
			t.Errorf("prepared SELECT twice, prepared again: %v, want SELECT=2, 2 prepares, 1 reprepare", got)
		}
		st.Close()
		st2.Close()

		// Transactions: begin, commit and rollback are counted.
		counter.Reset()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, ph("UPDATE "+f.Table+" SET v = ? WHERE id = ?"), 11, 1); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		tx, err = db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		got = counter.Snapshot()
		if got.Begins != 2 || got.Commits != 1 || got.Rollbacks != 1 || got.Statements["UPDATE"] != 1 {
			t.Errorf("two transactions: %v, want begins=2 commits=1 rollbacks=1 UPDATE=1", got)
		}

		// Tracing records the text and the arguments as the driver got
		// them (pgx keeps an int; the default conversion makes an int64).
		counter.Reset()
		counter.Trace(true)
		mustExec("DELETE FROM "+f.Table+" WHERE id = ?", 1)
		counter.Trace(false)
		ev := counter.Events()
		if len(ev) != 1 || ev[0].Kind != "DELETE" || len(ev[0].Args) != 1 || fmt.Sprint(ev[0].Args[0]) != "1" {
			t.Errorf("trace of one DELETE: %+v", ev)
		}
		if len(counter.Events()) != 0 {
			t.Error("Events did not forget what it returned")
		}
	})
}

// TestDriverConversionIsKept checks that arguments still reach the wrapped
// driver's own NamedValueChecker: pgx accepts a Go slice for an array
// parameter, which database/sql's default conversion rejects.
func TestDriverConversionIsKept(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		if b.Driver != "pgx" {
			t.Skip("only pgx converts slices itself")
		}
		db, _, err := countdriver.OpenDB(b.Driver, b.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(context.Background(), "SELECT cardinality($1::int8[])", []int64{1, 2, 3}).Scan(&n); err != nil || n != 3 {
			t.Fatalf("array argument through the wrapper: n=%d err=%v, want 3", n, err)
		}
		st, err := db.Prepare("SELECT cardinality($1::int8[])")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.QueryRow([]int64{1, 2}).Scan(&n); err != nil || n != 2 {
			t.Fatalf("array argument to a prepared statement: n=%d err=%v, want 2", n, err)
		}
	})
}

// placeholders rewrites ? placeholders for d.
func placeholders(d sqlstore.Dialect) func(string) string {
	if d != sqlstore.Postgres {
		return func(q string) string { return q }
	}
	return func(q string) string {
		var out []byte
		n := 0
		for i := 0; i < len(q); i++ {
			if q[i] != '?' {
				out = append(out, q[i])
				continue
			}
			n++
			out = append(out, '$')
			out = strconv.AppendInt(out, int64(n), 10)
		}
		return string(out)
	}
}
