package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testredis"
	"github.com/idemkit/idempotency/redisstore"
)

// TestKeysSpreadOverMasters: records spread over the three masters of the
// cluster, including those whose namespace and keys all hold the same
// "{…}", which would pin them to one node if it became a hash tag.
func TestKeysSpreadOverMasters(t *testing.T) {
	testredis.RequireAll(t)
	var cluster *testredis.Backend
	for _, b := range testredis.Backends() {
		if b.Cluster {
			cluster = &b
		}
	}
	if cluster == nil {
		t.Skip(testredis.EnvCluster + " not set")
	}
	c := cluster.Client(t)
	s := testredis.NewStore(t, *cluster)
	m, err := idempotency.New[int, int](s, idempotency.Config{Namespace: "{tenant-7}"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 300
	for i := range n {
		key := fmt.Sprintf("{order-42}-%d", i)
		if _, err := m.Do(ctx, key, i, func(_ context.Context, i int) (int, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	perMaster := map[string]int{}
	err = c.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, s.Prefix()+":*").Result()
		mu.Lock()
		perMaster[node.Options().Addr] = len(keys)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for addr, k := range perMaster {
		total += k
		// 300 keys over 3 masters: about 100 each; fewer than 50 on one
		// is out of reach of chance (over 6 standard deviations).
		if k < 50 {
			t.Errorf("master %s holds %d of %d records; want them spread: %v", addr, k, n, perMaster)
		}
	}
	if len(perMaster) != 3 || total != n {
		t.Errorf("records per master %v; want %d over 3 masters", perMaster, n)
	}
}

// TestWaitReplicasOnCluster: WAIT goes to the primary that owns the key, on
// the connection that wrote; this cluster has no replicas, so a claim is
// never acknowledged, and the key stays free.
func TestWaitReplicasOnCluster(t *testing.T) {
	testredis.RequireAll(t)
	for _, b := range testredis.Backends() {
		if !b.Cluster {
			continue
		}
		c := b.Client(t)
		prefix := b.NewPrefix(t)
		s := b.Store(t, c, redisstore.Config{Prefix: prefix, WaitReplicas: 1, WaitTimeout: 10 * time.Millisecond})
		m, err := idempotency.New[int, int](s, idempotency.Config{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		fn := func(_ context.Context, i int) (int, error) { return i, nil }
		for i := range 6 { // keys on several primaries
			if _, err := m.Do(ctx, fmt.Sprint("k", i), i, fn); !errors.Is(err, redisstore.ErrNotReplicated) {
				t.Fatalf("Do: %v; want ErrNotReplicated", err)
			}
		}
		plain, err := idempotency.New[int, int](b.Store(t, c, redisstore.Config{Prefix: prefix}), idempotency.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			if r, err := plain.DoResult(ctx, fmt.Sprint("k", i), i, fn); err != nil || r.Replayed {
				t.Fatalf("key %d after ErrNotReplicated: %+v, %v; want a first run", i, r, err)
			}
		}
	}
}
