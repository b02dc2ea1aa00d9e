package sqlstore_test

import (
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idempotencytest"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestConformance runs the suite on every backend in both claim orders:
// the adaptive store may use either for any call, so each must be a complete
// protocol on its own.
func TestConformance(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		for _, order := range sqlstore.ClaimOrders {
			t.Run(order.String(), func(t *testing.T) {
				idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
					s := testdb.NewStore(t, b)
					sqlstore.ForceClaimOrder(s, order)
					return s
				})
			})
		}
	})
}
