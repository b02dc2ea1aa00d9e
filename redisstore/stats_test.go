package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testredis"
	"github.com/idemkit/idempotency/redisstore"
)

// TestStatsCountsOnlyItsPrefix: a store counts its own records, not those
// of a store whose prefix starts with its own, on one node and across the
// cluster's masters.
func TestStatsCountsOnlyItsPrefix(t *testing.T) {
	testredis.ForEach(t, func(t *testing.T, b testredis.Backend) {
		c := b.Client(t)
		base := b.NewPrefix(t) // its cleanup deletes both stores' keys
		glob := b.Store(t, c, redisstore.Config{Prefix: base + ":a"})
		other := b.Store(t, c, redisstore.Config{Prefix: base + ":a:b"})
		do := func(s *redisstore.Store, ns string, n int) {
			m, err := idempotency.New[int, int](s, idempotency.Config{Namespace: ns})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if _, err := m.Do(context.Background(), fmt.Sprint("k", i), i, func(_ context.Context, i int) (int, error) { return i, nil }); err != nil {
					t.Fatal(err)
				}
			}
		}
		do(glob, "{ns:1}", 30) // braces and colons in the namespace
		do(other, "x", 5)
		st, err := glob.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint([]idempotency.StatsGroup{{Namespace: "{ns:1}", State: idempotency.StateCompleted, Records: 30}})
		if got := fmt.Sprint(st.Groups); got != want {
			t.Errorf("Stats groups = %s; want %s", got, want)
		}
	})
}

// TestStatsCancelled: a count stopped by its context says so, with what
// it counted.
func TestStatsCancelled(t *testing.T) {
	testredis.ForEach(t, func(t *testing.T, b testredis.Backend) {
		s := testredis.NewStore(t, b)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		st, err := s.Stats(ctx)
		if !errors.Is(err, context.Canceled) || !st.Partial {
			t.Errorf("Stats with a cancelled context = %+v, %v; want Partial and context.Canceled", st, err)
		}
	})
}
