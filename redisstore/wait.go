package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// waiter runs the scripts that claim and complete, and, when replicas is
// positive, follows each with WAIT on the same connection: WAIT counts the
// replicas that have the connection's own last write, so it must travel in
// one pipeline with the script, to the primary that owns the key.
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

// run runs script on key with args and returns its reply.
func (w waiter) run(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, key string, args ...any) (any, error) {
	keys := []string{key}
	if w.replicas == 0 {
		return script.Run(ctx, rdb, keys, args...).Result()
	}
	node := redis.Cmdable(rdb)
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		primary, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return nil, err
		}
		node = primary
	}
	reply, err := w.pipeline(ctx, node, script, keys, args)
	if isNoScript(err) {
		// The primary has not seen the script (a restart, SCRIPT FLUSH, a
		// new node): load it there and try once more.
		if err := script.Load(ctx, node).Err(); err != nil {
			return nil, err
		}
		reply, err = w.pipeline(ctx, node, script, keys, args)
	}
	return reply, err
}

func (w waiter) pipeline(ctx context.Context, node redis.Cmdable, script *redis.Script, keys []string, args []any) (any, error) {
	pipe := node.Pipeline()
	eval := script.EvalSha(ctx, pipe, keys, args...)
	acked := pipe.Do(ctx, "wait", w.replicas, w.timeout.Milliseconds())
	_, _ = pipe.Exec(ctx) // each command's error is read below
	reply, err := eval.Result()
	if err != nil {
		return nil, err
	}
	n, err := acked.Int64()
	if err != nil {
		return nil, fmt.Errorf("waiting for replicas: %w", err)
	}
	if n < int64(w.replicas) {
		return nil, fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, n, w.replicas, w.timeout)
	}
	return reply, nil
}

func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"))
}
