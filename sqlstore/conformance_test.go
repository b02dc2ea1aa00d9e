package sqlstore_test

import (
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idempotencytest"
	"github.com/idemkit/idempotency/internal/testdb"
)

func TestConformance(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
			return testdb.NewStore(t, b)
		})
	})
}
