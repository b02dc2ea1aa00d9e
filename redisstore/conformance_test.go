package redisstore_test

import (
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idempotencytest"
	"github.com/idemkit/idempotency/internal/testredis"
)

func TestConformance(t *testing.T) {
	testredis.ForEach(t, func(t *testing.T, b testredis.Backend) {
		idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
			return testredis.NewStore(t, b)
		})
	})
}
