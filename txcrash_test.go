package idempotency_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestTxManagerCrashFreesKeyAtOnce re-executes the test binary as a child
// process that claims a key with TxManager, inserts its order row and exits
// inside fn, as a crash would. With Do the key would stay claimed for a
// lease; here the claim dies with the transaction. The parent retries at
// once with a lease far longer than its wait, so only a key freed by the
// rollback lets it run, and the orders table ends with exactly one row.
func TestTxManagerCrashFreesKeyAtOnce(t *testing.T) {
	if os.Getenv("IDEM_TXCRASH_CHILD") == "1" {
		txCrashChild()
		return
	}
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		e := newTxEnv(t, b)
		cmd := exec.Command(os.Args[0], "-test.run=^TestTxManagerCrashFreesKeyAtOnce$")
		cmd.Env = append(os.Environ(),
			"IDEM_TXCRASH_CHILD=1",
			"IDEM_CRASH_DRIVER="+b.Driver,
			"IDEM_CRASH_DIALECT="+string(b.Dialect),
			"IDEM_CRASH_DSN="+e.f.DSN,
			"IDEM_CRASH_TABLE="+e.f.Table,
			"IDEM_CRASH_ORDERS="+e.orders,
		)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != crashExitCode {
			t.Fatalf("child: %v; want exit code %d inside fn\n%s", err, crashExitCode, out)
		}

		// The server notices the dead connection as soon as it reads from
		// it; Wait covers that moment, and is far shorter than the lease.
		m := newTxManager(t, e.store, idempotency.Config{Lease: time.Hour, Wait: 30 * time.Second})
		var runs counter
		r, err := m.DoResult(context.Background(), "crash", charge{Amount: 42}, e.orderFn(&runs, "crash"))
		if err != nil || r.Replayed {
			t.Fatalf("retry after the crash = %+v, %v; want fn to run again", r, err)
		}
		if n := e.orderRows(t, "crash"); n != 1 {
			t.Fatalf("%d order rows, want exactly 1: the crashed transaction's row must be gone", n)
		}
	})
}

func txCrashChild() {
	fail := func(err error) {
		os.Stderr.WriteString("tx crash child: " + err.Error() + "\n")
		os.Exit(1)
	}
	db, err := sqlx.Open(os.Getenv("IDEM_CRASH_DRIVER"), os.Getenv("IDEM_CRASH_DSN"))
	if err != nil {
		fail(err)
	}
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Dialect(os.Getenv("IDEM_CRASH_DIALECT")), Table: os.Getenv("IDEM_CRASH_TABLE")})
	if err != nil {
		fail(err)
	}
	m, err := idempotency.NewTx[charge, receipt](s, idempotency.Config{Lease: time.Hour})
	if err != nil {
		fail(err)
	}
	orders := os.Getenv("IDEM_CRASH_ORDERS")
	_, err = m.Do(context.Background(), "crash", charge{Amount: 42}, func(ctx context.Context, tx *sqlx.Tx, c charge) (receipt, error) {
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO "+orders+" (k, amount) VALUES (?, ?)"), "crash", c.Amount); err != nil {
			return receipt{}, err
		}
		os.Exit(crashExitCode) // the process dies inside its transaction
		return receipt{}, nil
	})
	fail(errors.Join(errors.New("Do returned"), err))
}
