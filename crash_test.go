package idempotency_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/internal/testredis"
	"github.com/idemkit/idempotency/redisstore"
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
	const lease = 2 * time.Second
	check := func(t *testing.T, s idempotency.Store, childEnv ...string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedOwnerIsRecovered$")
		cmd.Env = append(os.Environ(), "IDEM_CRASH_CHILD=1", "IDEM_CRASH_LEASE="+lease.String())
		cmd.Env = append(cmd.Env, childEnv...)
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
	}
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		s := f.Store(t) // creates the table the child uses
		check(t, s, "IDEM_CRASH_DRIVER="+b.Driver, "IDEM_CRASH_DIALECT="+string(b.Dialect),
			"IDEM_CRASH_DSN="+f.DSN, "IDEM_CRASH_TABLE="+f.Table)
	})
	testredis.ForEach(t, func(t *testing.T, b testredis.Backend) {
		t.Parallel()
		prefix := b.NewPrefix(t)
		s := b.Store(t, b.Client(t), redisstore.Config{Prefix: prefix})
		check(t, s, "IDEM_CRASH_REDIS="+strings.Join(b.Addrs, ","),
			"IDEM_CRASH_REDIS_CLUSTER="+strconv.FormatBool(b.Cluster), "IDEM_CRASH_PREFIX="+prefix)
	})
}

// crashStore opens the store the parent named in the environment.
func crashStore() (idempotency.Store, error) {
	if addrs := os.Getenv("IDEM_CRASH_REDIS"); addrs != "" {
		c := redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs:         strings.Split(addrs, ","),
			IsClusterMode: os.Getenv("IDEM_CRASH_REDIS_CLUSTER") == "true",
		})
		return redisstore.New(c, redisstore.Config{Prefix: os.Getenv("IDEM_CRASH_PREFIX")})
	}
	db, err := sqlx.Open(os.Getenv("IDEM_CRASH_DRIVER"), os.Getenv("IDEM_CRASH_DSN"))
	if err != nil {
		return nil, err
	}
	return sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Dialect(os.Getenv("IDEM_CRASH_DIALECT")), Table: os.Getenv("IDEM_CRASH_TABLE")})
}

func crashChild() {
	fail := func(err error) {
		os.Stderr.WriteString("crash child: " + err.Error() + "\n")
		os.Exit(1)
	}
	s, err := crashStore()
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
