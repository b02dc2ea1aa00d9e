// Package rediskeys deletes the keys a test, a benchmark or the demo wrote
// under its own prefix, on one Redis or on every primary of a cluster.
package rediskeys

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// DeletePrefix deletes every key that starts with prefix+":", on every
// primary of a cluster. prefix must hold no glob characters.
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, node redis.Cmdable) error {
		iter := node.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := node.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return del(ctx, node) })
	}
	return del(ctx, c)
}
