package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// minMajor and minMinor name the oldest Redis the store supports: 6.2, the
// oldest release line tested here and still maintained when this was
// written.
const minMajor, minMinor = 6, 2

// checkServer checks every primary the client writes to. A setting that
// would lose records is an error; a server that will not say (managed
// services often refuse CONFIG) gets one warning.
func checkServer(ctx context.Context, rdb redis.UniversalClient, log *slog.Logger) error {
	var mu sync.Mutex // ForEachMaster checks the primaries in parallel
	var refused []string
	check := func(ctx context.Context, node redis.Cmdable) error {
		why, err := checkNode(ctx, node)
		if why != "" {
			mu.Lock()
			refused = append(refused, why)
			mu.Unlock()
		}
		return err
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return check(ctx, node) })
	} else {
		err = check(ctx, rdb)
	}
	if err != nil {
		return err
	}
	if len(refused) > 0 {
		log.Warn("redisstore: could not check the Redis server's settings; make sure maxmemory-policy is noeviction (an evicted record lets a retry run fn again) and the server is Redis 6.2 or newer",
			"refused", strings.Join(refused, "; "))
	}
	return nil
}

// checkNode checks one server's version and eviction policy. It returns a
// description of what the server refused to answer, and an error for a
// setting that rules the server out or a server that cannot be reached.
func checkNode(ctx context.Context, node redis.Cmdable) (refused string, err error) {
	var notes []string
	info, err := node.Info(ctx, "server").Result()
	switch {
	case isRefusal(err):
		notes = append(notes, "INFO: "+err.Error())
	case err != nil:
		return "", fmt.Errorf("redisstore: cannot check the Redis server's settings (is it reachable, and are the credentials right?): %w", err)
	default:
		if err := checkVersion(info); err != nil {
			return "", err
		}
	}
	policy, err := node.ConfigGet(ctx, "maxmemory-policy").Result()
	switch {
	case isRefusal(err):
		notes = append(notes, "CONFIG GET: "+err.Error())
	case err != nil:
		return "", fmt.Errorf("redisstore: cannot check the Redis server's settings (is it reachable, and are the credentials right?): %w", err)
	default:
		if p, ok := policy["maxmemory-policy"]; ok && p != "noeviction" {
			return "", fmt.Errorf("redisstore: the server's maxmemory-policy is %q, which may evict records, and an evicted record lets a retry run fn again: set maxmemory-policy noeviction (CONFIG SET and redis.conf), or keep idempotency records on a Redis of their own", p)
		}
	}
	return strings.Join(notes, "; "), nil
}

// checkVersion reads redis_version from INFO server.
func checkVersion(info string) error {
	for line := range strings.SplitSeq(info, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		parts := strings.SplitN(v, ".", 3)
		if len(parts) < 2 {
			return nil // an unusual format: do not guess
		}
		major, err1 := strconv.Atoi(parts[0])
		minor, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil {
			return nil
		}
		if major < minMajor || major == minMajor && minor < minMinor {
			return fmt.Errorf("redisstore: the server is Redis %s; the store needs %d.%d or newer", v, minMajor, minMinor)
		}
		return nil
	}
	return nil
}

// isRefusal reports that the server refused to answer a check: the command
// is unknown or renamed, or the user may not run it. Any other error (the
// server cannot be reached, NOAUTH, WRONGPASS) is not a refusal: it fails
// New, since every claim would fail the same way.
func isRefusal(err error) bool {
	var rerr redis.Error
	if err == nil || !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "NOPERM") || strings.Contains(msg, "unknown command") || strings.Contains(msg, "unknown subcommand")
}
