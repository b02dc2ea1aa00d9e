// Package teststores runs a test on every backend the tests reach: the SQL
// databases of package testdb and the Redis deployments of package
// testredis, each as a subtest run in parallel.
package teststores

import (
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/internal/testredis"
	"github.com/idemkit/idempotency/redisstore"
)

// ForEach runs fn on a fresh store of every backend.
func ForEach(t *testing.T, fn func(t *testing.T, s idempotency.Store)) {
	t.Helper()
	ForEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) { fn(t, open(t)) })
}

// ForEachShared runs fn on every backend with open, which returns a new
// store on its own pool or client, sharing one table or key prefix with the
// others: stores from two calls stand for two processes.
func ForEachShared(t *testing.T, fn func(t *testing.T, open func(*testing.T) idempotency.Store)) {
	t.Helper()
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		fn(t, func(t *testing.T) idempotency.Store { return f.Store(t) })
	})
	testredis.ForEach(t, func(t *testing.T, b testredis.Backend) {
		t.Parallel()
		prefix := b.NewPrefix(t)
		fn(t, func(t *testing.T) idempotency.Store {
			return b.Store(t, b.Client(t), redisstore.Config{Prefix: prefix})
		})
	})
}
