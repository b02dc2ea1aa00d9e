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

const crashExitCode = 3

// TestCrashedOwnerIsRecovered re-executes the test binary as a child process
// that claims a key and exits inside fn, as a crash would: no release, no
// completion. The parent sees ErrInProgress until the child's lease runs out,
// then runs the key itself.
func TestCrashedOwnerIsRecovered(t *testing.T) {
	if os.Getenv("IDEM_CRASH_CHILD") == "1" {
		crashChild()
		return
	}
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		s := f.Store(t) // creates the table the child uses
		const lease = 2 * time.Second

		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedOwnerIsRecovered$")
		cmd.Env = append(os.Environ(),
			"IDEM_CRASH_CHILD=1",
			"IDEM_CRASH_DRIVER="+b.Driver,
			"IDEM_CRASH_DIALECT="+string(b.Dialect),
			"IDEM_CRASH_DSN="+f.DSN,
			"IDEM_CRASH_TABLE="+f.Table,
			"IDEM_CRASH_LEASE="+lease.String(),
		)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != crashExitCode {
			t.Fatalf("child: %v; want exit code %d inside fn\n%s", err, crashExitCode, out)
		}

		ctx := context.Background()
		m := newManager[charge, receipt](t, s, idempotency.Config{Lease: lease})
		if _, err := m.Do(ctx, "crash", charge{Amount: 42}, okFn); !errors.Is(err, idempotency.ErrInProgress) {
			t.Fatalf("right after the crash: %v; want ErrInProgress (the dead owner's lease holds)", err)
		}
		waiter := newManager[charge, receipt](t, s, idempotency.Config{Lease: lease, Wait: time.Minute})
		r, err := waiter.DoResult(ctx, "crash", charge{Amount: 42}, okFn)
		if err != nil || r.Replayed || r.Value.Amount != 42 {
			t.Fatalf("after the lease: %+v, %v; want fn to run again", r, err)
		}
	})
}

func crashChild() {
	fail := func(err error) {
		os.Stderr.WriteString("crash child: " + err.Error() + "\n")
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
	lease, err := time.ParseDuration(os.Getenv("IDEM_CRASH_LEASE"))
	if err != nil {
		fail(err)
	}
	m, err := idempotency.New[charge, receipt](s, idempotency.Config{Lease: lease})
	if err != nil {
		fail(err)
	}
	_, err = m.Do(context.Background(), "crash", charge{Amount: 42}, func(context.Context, charge) (receipt, error) {
		os.Exit(crashExitCode) // the process dies holding the claim
		return receipt{}, nil
	})
	fail(errors.Join(errors.New("Do returned"), err))
}
