package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// waiter runs the scripts that claim and complete, and, when replicas is
// positive, follows each one that wrote with WAIT on the same connection:
// WAIT counts the replicas that hold that connection's last write, so it
// must follow the script on one connection to the primary that owns the
// key. A replay writes nothing and does not wait.
type waiter struct {
	replicas int
	timeout  time.Duration
}

func newWaiter(rdb redis.UniversalClient, replicas int, timeout time.Duration) (waiter, error) {
	switch {
	case replicas < 0:
		return waiter{}, fmt.Errorf("redisstore: Config.WaitReplicas %d is negative", replicas)
	case timeout < 0:
		return waiter{}, fmt.Errorf("redisstore: Config.WaitTimeout %v is negative", timeout)
	case timeout > 0 && timeout < time.Millisecond:
		// WAIT counts whole milliseconds, and WAIT 0 waits for ever.
		return waiter{}, fmt.Errorf("redisstore: Config.WaitTimeout %v is under a millisecond", timeout)
	case replicas == 0:
		return waiter{}, nil
	}
	switch rdb.(type) {
	case *redis.Client, *redis.ClusterClient:
	default:
		return waiter{}, fmt.Errorf("redisstore: Config.WaitReplicas needs a *redis.Client or *redis.ClusterClient, not %T: WAIT must follow the write on its connection", rdb)
	}
	if timeout == 0 {
		timeout = DefaultWaitTimeout
	}
	return waiter{replicas: replicas, timeout: timeout}, nil
}

// run runs script on key with args and returns its reply. wrote tells from
// the reply whether the script wrote.
func (w waiter) run(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, key string, wrote func(reply any) bool, args ...any) (any, error) {
	keys := []string{key}
	if w.replicas == 0 {
		return script.Run(ctx, rdb, keys, args...).Result()
	}
	reply, err := w.runOnPrimary(ctx, rdb, script, keys, wrote, args)
	if cc, ok := rdb.(*redis.ClusterClient); ok && isMoved(err) {
		// The slot moved to another primary (a resharding or a
		// failover): learn the new layout and try there, once. (During
		// a migration, ASK answers still fail; the Manager's retries
		// and the caller's cover that short window.)
		cc.ReloadState(ctx)
		reply, err = w.runOnPrimary(ctx, rdb, script, keys, wrote, args)
	}
	return reply, err
}

func (w waiter) runOnPrimary(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, keys []string, wrote func(any) bool, args []any) (any, error) {
	var node *redis.Client
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		primary, err := c.MasterForKey(ctx, keys[0])
		if err != nil {
			return nil, err
		}
		node = primary
	case *redis.Client:
		node = c
	}
	conn := node.Conn()
	defer conn.Close()
	reply, err := script.Run(ctx, conn, keys, args...).Result()
	if err != nil || !wrote(reply) {
		return reply, err
	}
	n, err := conn.Wait(ctx, w.replicas, w.timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("waiting for replicas: %w", err)
	}
	if n < int64(w.replicas) {
		return nil, fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, n, w.replicas, w.timeout)
	}
	return reply, nil
}

func isMoved(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "MOVED")
}
