package killtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/idemkit/idempotency/examples/internal/orders"
	"github.com/idemkit/idempotency/internal/testdb"
)

// Broker is what the test needs of a broker, set up for one run: its own
// queue or stream, removed when the test ends.
type Broker interface {
	// Args are the consumer command's flags that point it at this run's
	// broker and queue or stream.
	Args() []string
	// Publish publishes pubs, in an order of the broker's choosing, and
	// reports for each whether the broker stored it (false: it dropped
	// it as a duplicate).
	Publish(ctx context.Context, pubs []Publication) (stored []bool, err error)
	// Quiet returns once the broker holds no message for anyone — none
	// waiting, none delivered and unacknowledged — with consumers
	// consumers attached, or with ctx's error.
	Quiet(ctx context.Context, consumers int) error
	// Leftover returns how many messages the broker holds, waiting or
	// unacknowledged, once every consumer has stopped.
	Leftover(ctx context.Context) (int, error)
	// DeadLetters returns the messages in the dead-letter queue or stream.
	DeadLetters(ctx context.Context) ([]orders.Outgoing, error)
}

// BrokerURL returns the broker URL in the environment variable env. When
// it is not set it skips t, or fails it when IDEMPOTENCY_TEST_REQUIRE_DB=1.
func BrokerURL(t *testing.T, env string) string {
	t.Helper()
	if url := os.Getenv(env); url != "" {
		return url
	}
	if os.Getenv(testdb.EnvRequire) == "1" {
		t.Fatalf("%s is not set but %s=1: set it to a running broker", env, testdb.EnvRequire)
	}
	t.Skipf("%s is not set: skipping the test against the broker", env)
	return ""
}

// database returns the database the consumers share: PostgreSQL from
// IDEMPOTENCY_TEST_POSTGRES_DSN, or else (unless IDEMPOTENCY_TEST_REQUIRE_DB=1)
// an SQLite file.
func database(t *testing.T) string {
	t.Helper()
	if dsn := os.Getenv(testdb.EnvPostgres); dsn != "" {
		return dsn
	}
	if os.Getenv(testdb.EnvRequire) == "1" {
		t.Fatalf("%s is not set but %s=1: the consumers must share a PostgreSQL database", testdb.EnvPostgres, testdb.EnvRequire)
	}
	t.Logf("%s is not set: the consumers share an SQLite file", testdb.EnvPostgres)
	return filepath.Join(t.TempDir(), "orders.db")
}
