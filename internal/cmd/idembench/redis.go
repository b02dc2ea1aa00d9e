package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/benchdb"
	"github.com/idemkit/idempotency/internal/rediskeys"
	"github.com/idemkit/idempotency/redisstore"
)

// With -dialect redis or redis-cluster the same variants run on
// redisstore, against Redis's own floor: a new key is SET NX PX (the claim)
// and SET XX PX (the outcome), a replay one GET. With -pg-dsn, Do on
// PostgreSQL runs in the same rounds (pg-do-new, pg-do-replay), so the two
// backends compare like with like.
const (
	pgDoNew    = "pg-do-new"
	pgDoReplay = "pg-do-replay"
)

// redisVariants are the default variants on Redis; the store-level ones
// (store-new, store-replay) may be added with -variants.
var redisVariants = []string{doNew, floorNew, doReplay, floorReplay, floorDecode, doMix, floorMix}

func isRedis(dialect string) bool { return dialect == "redis" || dialect == "redis-cluster" }

// runRedis is run for -dialect redis and redis-cluster.
func runRedis(ctx context.Context, o options) (err error) {
	b, err := setupRedis(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.closeRedis(context.WithoutCancel(ctx)); err == nil {
			err = cerr
		}
	}()
	fmt.Fprintf(o.out, "# idembench: %s at %s, prefix %s, GOMAXPROCS=%d, %s\n", o.dialect, strings.Join(o.addrs, ","), b.redisPrefix, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(o.out, "# n=%d per measurement (at least %v), %d rounds, warm-up %d, concurrency %v, PoolSize=%d\n",
		o.n, o.minTime, o.rounds, o.warmup, o.conc, slices.Max(o.conc))
	if err := b.prepareReplayKeys(ctx, o.replayKeys); err != nil {
		return err
	}
	for i, k := range b.replayKeys {
		if err := b.rdb.Set(ctx, b.floorKey(k), b.payload, idempotency.DefaultTTL).Err(); err != nil {
			return fmt.Errorf("floor replay key %d: %w", i, err)
		}
	}
	if b.pg != nil {
		if err := b.pg.prepareReplayKeys(ctx, o.replayKeys); err != nil {
			return err
		}
	}
	return rounds(ctx, o, b.measure, nil)
}

func setupRedis(ctx context.Context, o options) (*bench, error) {
	for _, v := range o.variants {
		if !slices.Contains(redisVariants, v) && !isCacheVariant(v) && v != storeNew && v != storeReplay && v != pgDoNew && v != pgDoReplay {
			return nil, fmt.Errorf("variant %s does not run on Redis: choose from %s, %s, %s, %s, %s", v, strings.Join(redisVariants, ","), storeNew, storeReplay, pgDoNew, pgDoReplay)
		}
		if (v == pgDoNew || v == pgDoReplay) && o.pgDSN == "" {
			return nil, fmt.Errorf("variant %s needs -pg-dsn", v)
		}
	}
	b := &bench{runID: benchdb.RandomHex(4)}
	b.redisPrefix = "idembench-" + b.runID
	b.rdb = redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:         o.addrs,
		IsClusterMode: o.dialect == "redis-cluster",
		PoolSize:      slices.Max(o.conc),
		MinIdleConns:  slices.Max(o.conc),
	})
	store, err := redisstore.New(b.rdb, redisstore.Config{Prefix: b.redisPrefix})
	if err != nil {
		b.rdb.Close()
		return nil, err
	}
	b.st = store
	if b.mgr, err = idempotency.New[request, response](store, idempotency.Config{Namespace: namespace}); err == nil {
		err = b.setupCache(o)
	}
	if err != nil {
		b.rdb.Close()
		return nil, err
	}
	if o.pgDSN != "" {
		po := o
		po.dialect, po.driver, po.dsn, po.variants = "postgres", "", o.pgDSN, []string{doNew, doReplay}
		if b.pg, err = setup(ctx, po); err != nil {
			b.rdb.Close()
			return nil, fmt.Errorf("-pg-dsn: %w", err)
		}
	}
	b.payload, _ = json.Marshal(theResponse)
	fp, err := idempotency.Fingerprint(theRequest)
	if err != nil {
		return nil, err
	}
	b.fp = idempotency.FingerprintVersion + ":" + fp
	b.token = benchdb.RandomHex(16)
	return b, nil
}

// floorKey is where the floor keeps key: beside the store's records,
// under the same prefix, so that cleanup finds it.
func (b *bench) floorKey(key string) string { return b.redisPrefix + ":floor:" + key }

// redisOp returns the Redis floor's operation for v, or nil when v is not
// one (or this run is not on Redis).
func (b *bench) redisOp(v string) func(ctx context.Context, i int) error {
	switch {
	case v == pgDoNew && b.pg != nil:
		return b.pg.op(doNew)
	case v == pgDoReplay && b.pg != nil:
		return b.pg.op(doReplay)
	case b.rdb == nil:
		return nil
	}
	switch v {
	case floorNew:
		claim := b.fp + " " + b.token
		return func(ctx context.Context, _ int) error {
			key := b.floorKey(b.newKey())
			ok, err := b.rdb.SetNX(ctx, key, claim, idempotency.DefaultLease).Result()
			if err != nil || !ok {
				return fmt.Errorf("claim: %v, %w", ok, err)
			}
			_, _ = charge(ctx, theRequest)
			ok, err = b.rdb.SetXX(ctx, key, b.payload, idempotency.DefaultTTL).Result()
			if err != nil || !ok {
				return fmt.Errorf("complete: %v, %w", ok, err)
			}
			return nil
		}
	case floorReplay:
		return func(ctx context.Context, i int) error {
			_, err := b.rdb.Get(ctx, b.floorKey(b.replayKeys[i%len(b.replayKeys)])).Bytes()
			return err
		}
	case floorDecode:
		return func(ctx context.Context, i int) error {
			payload, err := b.rdb.Get(ctx, b.floorKey(b.replayKeys[i%len(b.replayKeys)])).Bytes()
			if err != nil {
				return err
			}
			var r response
			return json.Unmarshal(payload, &r)
		}
	case naiveNew:
		return func(context.Context, int) error { return errors.New("naive-new does not run on Redis") }
	}
	return nil
}

// closeRedis deletes every key of the run, on every primary of a cluster,
// and closes the clients.
func (b *bench) closeRedis(ctx context.Context) error {
	var first error
	if b.cache != nil {
		b.cache.Close()
	}
	if b.pg != nil {
		first = b.pg.close(ctx, false, io.Discard)
	}
	err := rediskeys.DeletePrefix(ctx, b.rdb, b.redisPrefix)
	if err != nil && first == nil {
		first = fmt.Errorf("delete keys under %s: %w", b.redisPrefix, err)
	}
	if err := b.rdb.Close(); err != nil && first == nil {
		first = err
	}
	return first
}
