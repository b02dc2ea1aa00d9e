package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/countdriver"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// The statement budget of Manager.Do (DESIGN.md §4), the same on every
// dialect. Every
// statement is its own autocommit transaction; there is never a BEGIN.
//
// A store writes first while most claims are new keys and reads first once
// most find their key recorded (sqlstore/order.go). The budget is what each
// order costs where it is chosen: a new key while writing first, a replay
// while reading first.
//
//	dialect        new key, writing first (2 commits)        replay, reading first
//	postgres       INSERT … ON CONFLICT DO NOTHING, UPDATE   SELECT
//	mysql          INSERT IGNORE, UPDATE                      SELECT
//	sqlite         INSERT … ON CONFLICT DO NOTHING, UPDATE   SELECT
//
// The other two cases are the price of a wrong guess: a retry while
// writing first (the insert that finds the key, then the SELECT; on
// PostgreSQL that insert assigns no transaction id, so it writes and locks
// nothing) and a new key while reading first (the SELECT, then the new-key
// statements).
//
// Each statement is prepared at most once per connection.
var costBudget = struct {
	newKey, replay                    []countdriver.Kind // where each order is chosen
	replayWriteFirst, newKeyReadFirst []countdriver.Kind // a wrong guess
}{
	newKey: kinds("INSERT", "UPDATE"), replay: kinds("SELECT"),
	replayWriteFirst: kinds("INSERT", "SELECT"), newKeyReadFirst: kinds("SELECT", "INSERT", "UPDATE"),
}

func kinds(k ...countdriver.Kind) []countdriver.Kind { return k }

type costReq struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

type costResp struct {
	ID string `json:"id"`
}

// countedStore returns a migrated store on a fresh table, on a pool of at
// most maxConns connections opened through the counting driver, and the
// counter, reset after migration.
func countedStore(t *testing.T, b testdb.Backend, maxConns int) (*sqlstore.Store, *countdriver.Counter, *testdb.Fixture) {
	t.Helper()
	f := testdb.NewFixture(t, b)
	db, counter, err := countdriver.OpenDB(b.Driver, f.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	s, err := sqlstore.New(sqlx.NewDb(db, b.Driver), sqlstore.Config{Dialect: b.Dialect, Table: f.Table})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	return s, counter, f
}

func charge(_ context.Context, r costReq) (costResp, error) {
	return costResp{ID: "ch_" + r.Account}, nil
}

// TestStatementBudget pins what one Do costs on every backend, so that an
// extra round trip, commit, prepare or lock fails CI rather than showing up
// only as a slower benchmark.
func TestStatementBudget(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		budget := costBudget
		// One connection: "prepared once per connection" becomes "the
		// second call prepares nothing".
		s, counter, f := countedStore(t, b, 1)
		m, err := idempotency.New[costReq, costResp](s, idempotency.Config{Namespace: "cost"})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		counter.Trace(true)

		do := func(key string) (idempotency.Result[costResp], countdriver.Counts, []countdriver.Event) {
			t.Helper()
			before := counter.Snapshot()
			counter.Events() // drop older events
			res, err := m.DoResult(ctx, key, costReq{Account: key, Amount: 100}, charge)
			if err != nil {
				t.Fatalf("Do(%q): %v", key, err)
			}
			return res, counter.Snapshot().Sub(before), counter.Events()
		}

		// A new key: the claim and the completion, prepared on first use.
		res, c, ev := do("k1")
		checkKinds(t, "first new key", ev, budget.newKey)
		if res.Replayed {
			t.Error("first call on k1 reported a replay")
		}
		if c.TotalPrepares() != len(budget.newKey) || c.Reprepares != 0 {
			t.Errorf("first new key prepared %v, want each of its %d statements once", c, len(budget.newKey))
		}
		checkNoTransaction(t, "first new key", c)
		for _, e := range ev {
			if e.Kind == "INSERT" {
				checkAtomicClaim(t, e)
			}
		}

		// Another new key on the same connection prepares nothing.
		_, c, ev = do("k2")
		checkKinds(t, "second new key", ev, budget.newKey)
		if c.TotalPrepares() != 0 {
			t.Errorf("second new key on the same connection: %v, want no prepare", c)
		}
		checkNoTransaction(t, "second new key", c)

		// A retry while the store still writes first, having seen only new
		// keys: the insert finds the key, then the read.
		res, c, ev = do("k1")
		if !res.Replayed || res.Value.ID != "ch_k1" {
			t.Fatalf("replay of k1 = %+v, want the recorded ch_k1, replayed", res)
		}
		checkKinds(t, "replay while writing first", ev, budget.replayWriteFirst)
		checkNoTransaction(t, "replay while writing first", c)
		checkNoLockingClause(t, ev)
		writeFirstReplay := ev

		// Retries teach the store to read first, within a few dozen.
		for n := 0; !sqlstore.ReadsFirst(s); n++ {
			if n == 40 {
				t.Fatalf("after %d replays in a row the store still writes first", n)
			}
			do("k1")
		}

		// Then a replay is one plain read, already prepared.
		res, c, ev = do("k1")
		if !res.Replayed || res.Value.ID != "ch_k1" {
			t.Fatalf("replay of k1 = %+v, want the recorded ch_k1, replayed", res)
		}
		checkKinds(t, "replay", ev, budget.replay)
		if c.TotalPrepares() != 0 {
			t.Errorf("replay: %v, want no prepare", c)
		}
		checkNoTransaction(t, "replay", c)
		checkNoLockingClause(t, ev)

		if b.Dialect == sqlstore.Postgres {
			checkPostgresReplayWritesNothing(t, b, f, writeFirstReplay, func() {
				for _, order := range []sqlstore.ClaimOrder{sqlstore.WriteFirst, sqlstore.AdaptiveOrder} {
					sqlstore.ForceClaimOrder(s, order)
					for range 10 {
						do("k1")
					}
				}
			})
		}

		// A new key while reading first pays the read, then claims as
		// usual; new keys teach the store to write first again.
		_, c, ev = do("k3")
		checkKinds(t, "new key while reading first", ev, budget.newKeyReadFirst)
		checkNoTransaction(t, "new key while reading first", c)
		for n := 4; sqlstore.ReadsFirst(s); n++ {
			if n == 44 {
				t.Fatalf("after %d new keys in a row the store still reads first", n-4)
			}
			do(fmt.Sprintf("k%d", n))
		}
		_, _, ev = do("k-last")
		checkKinds(t, "new key after new keys", ev, budget.newKey)
	})
}

// checkNoLockingClause fails on a statement that asks for row locks.
func checkNoLockingClause(t *testing.T, ev []countdriver.Event) {
	t.Helper()
	for _, e := range ev {
		if q := strings.ToUpper(e.Query); strings.Contains(q, "FOR UPDATE") || strings.Contains(q, "FOR SHARE") ||
			strings.Contains(q, "LOCK IN SHARE MODE") || strings.Contains(q, "DO UPDATE") {
			t.Errorf("replay statement locks rows: %s", e.Query)
		}
	}
}

// TestPreparesOncePerConnection runs many concurrent calls on a small pool:
// no statement is ever prepared twice on one connection, and prepares are
// bounded by statements × connections, not by calls.
func TestPreparesOncePerConnection(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		const conns, callers, calls = 4, 16, 8
		s, counter, _ := countedStore(t, b, conns)
		// Half the calls are retries: pin the order so the count of
		// statements is exact.
		sqlstore.ForceClaimOrder(s, sqlstore.WriteFirst)
		budget := costBudget
		m, err := idempotency.New[costReq, costResp](s, idempotency.Config{Namespace: "cost"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for w := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range calls {
					key := fmt.Sprintf("w%d-%d", w, i)
					for range 2 { // a new key, then its replay
						if _, err := m.Do(context.Background(), key, costReq{Account: key}, charge); err != nil {
							errs <- fmt.Errorf("Do(%q): %w", key, err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		c := counter.Snapshot()
		distinct := len(distinctKinds(budget.newKey, budget.replayWriteFirst))
		if c.Reprepares != 0 {
			t.Errorf("%d statements were prepared again on a connection that had them: %v", c.Reprepares, c)
		}
		// MaxIdleConns = MaxOpenConns: no connection is closed, so at
		// most conns ever exist.
		if max := distinct * conns; c.TotalPrepares() > max {
			t.Errorf("%d prepares for %d statements on a pool of %d connections (at most %d): %v", c.TotalPrepares(), distinct, conns, max, c)
		}
		checkNoTransaction(t, "concurrent calls", c)
		wantStatements := callers * calls * (len(budget.newKey) + len(budget.replayWriteFirst))
		// Contention between distinct keys never retries a claim.
		if c.Total() != wantStatements {
			t.Errorf("%d statements for %d new keys and their replays, want %d: %v", c.Total(), callers*calls, wantStatements, c)
		}
	})
}

func distinctKinds(lists ...[]countdriver.Kind) map[countdriver.Kind]bool {
	m := map[countdriver.Kind]bool{}
	for _, l := range lists {
		for _, k := range l {
			m[k] = true
		}
	}
	return m
}

func checkKinds(t *testing.T, what string, ev []countdriver.Event, want []countdriver.Kind) {
	t.Helper()
	got := make([]countdriver.Kind, len(ev))
	for i, e := range ev {
		got[i] = e.Kind
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		var b strings.Builder
		for _, e := range ev {
			fmt.Fprintf(&b, "\n\t%s", e.Query)
		}
		t.Errorf("%s issued %v, want %v:%s", what, got, want, b.String())
	}
	for _, e := range ev {
		if !e.Prepared {
			t.Errorf("%s: statement not prepared (two round trips on go-sql-driver/mysql): %s", what, e.Query)
		}
	}
}

func checkNoTransaction(t *testing.T, what string, c countdriver.Counts) {
	t.Helper()
	if c.Begins != 0 || c.Commits != 0 || c.Rollbacks != 0 {
		t.Errorf("%s opened an explicit transaction: %v", what, c)
	}
}

// checkAtomicClaim checks that the statement that inserts the claim handles
// the conflict itself (DESIGN.md §2.3: never check-then-insert).
func checkAtomicClaim(t *testing.T, e countdriver.Event) {
	t.Helper()
	q := strings.ToUpper(e.Query)
	if !strings.Contains(q, "ON CONFLICT") && !strings.Contains(q, "INSERT IGNORE") && !strings.Contains(q, "ON DUPLICATE KEY") {
		t.Errorf("claim is not one atomic statement on the primary key: %s", e.Query)
	}
}

// checkPostgresReplayWritesNothing proves that the statements of a replay
// while the store writes first — the insert that finds the key, then the
// read — assign no transaction id, so they write no WAL, flush nothing at
// commit and lock no row (a row lock needs an xid in the tuple's xmax), and
// that replays through Do leave the row's xmin and xmax untouched.
func checkPostgresReplayWritesNothing(t *testing.T, b testdb.Backend, f *testdb.Fixture, replay []countdriver.Event, replays func()) {
	t.Helper()
	if len(replay) == 0 {
		return // already reported
	}
	ctx := context.Background()
	db, err := sql.Open(b.Driver, f.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The exact statements and arguments Do sent, inside an explicit
	// transaction so the transaction id can be asked for afterwards.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only check, always rolled back
	for _, e := range replay {
		res, err := tx.ExecContext(ctx, e.Query, e.Args...)
		if err != nil {
			t.Fatalf("re-running the replay statement %s: %v", e.Query, err)
		}
		if n, err := res.RowsAffected(); err != nil || (e.Kind == "INSERT" && n != 0) {
			t.Fatalf("replay statement %s affected %d rows (%v), want none", e.Query, n, err)
		}
	}
	var xid sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT txid_current_if_assigned()::text").Scan(&xid); err != nil {
		t.Fatal(err)
	}
	if xid.Valid {
		t.Errorf("the replay statements assigned transaction id %s: they write (WAL, a flush at commit) or lock", xid.String)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	// Replays through Do leave the row version as the completion wrote it:
	// a lock would set xmax, an update would change xmin.
	version := func() string {
		var xmin, xmax string
		err := db.QueryRowContext(ctx, `SELECT xmin::text, xmax::text FROM `+f.Table+` WHERE namespace = $1 AND idem_key = $2`,
			replay[0].Args[0], replay[0].Args[1]).Scan(&xmin, &xmax)
		if err != nil {
			t.Fatal(err)
		}
		return "xmin=" + xmin + " xmax=" + xmax
	}
	before := version()
	replays()
	if after := version(); after != before || !strings.HasSuffix(after, "xmax=0") {
		t.Errorf("replays changed the row version: before %s, after %s (want unchanged, xmax=0)", before, after)
	}
}
