package redisstore_test

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/redisstore"
)

// A charge runs once per key; a retry gets the recorded outcome. (It needs
// a Redis at 127.0.0.1:6379, so it is compiled but not run by go test.)
func Example() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
	defer rdb.Close()
	store, err := redisstore.New(rdb, redisstore.Config{})
	if err != nil {
		panic(err) // unreachable, or a server that may evict records
	}
	type chargeReq struct {
		Account string
		Amount  int64
	}
	m, err := idempotency.New[chargeReq, string](store, idempotency.Config{Namespace: "charges"})
	if err != nil {
		panic(err)
	}
	charge := func(_ context.Context, r chargeReq) (string, error) {
		return fmt.Sprintf("charged %d to %s", r.Amount, r.Account), nil
	}
	ctx := context.Background()
	req := chargeReq{Account: "acct_1", Amount: 500}
	first, _ := m.DoResult(ctx, "order-1", req, charge)
	retry, _ := m.DoResult(ctx, "order-1", req, charge)
	fmt.Println(first.Value, first.Replayed)
	fmt.Println(retry.Value, retry.Replayed)
}

// On a Redis Cluster, pass the seed addresses; records spread over every
// primary, whatever braces the keys hold.
func ExampleNew_cluster() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"}})
	defer rdb.Close()
	store, err := redisstore.New(rdb, redisstore.Config{
		Prefix:       "payments:idem",
		WaitReplicas: 1, // each claim and outcome reaches a replica before Do goes on
	})
	if err != nil {
		panic(err)
	}
	_ = store
}
