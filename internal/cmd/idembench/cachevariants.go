package main

import (
	"context"
	"errors"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
)

// The cache's variants: Do through a Manager whose Config.Cache is an
// idemcache.Cache, beside Do without one and the floor, on new keys, on the
// replay keys, and on a hot set of a few keys replayed over and over (a
// retry storm).
const (
	cachedNew    = "cached-new"    // Do with the cache, a new key
	cachedReplay = "cached-replay" // Do with the cache, the replay keys
	doHot        = "do-hot"        // Do without the cache, the hot keys
	cachedHot    = "cached-hot"    // Do with the cache, the hot keys
	floorHot     = "floor-hot"     // the floor's read of the hot keys
)

// cacheVariants is the -variants cache preset.
var cacheVariants = []string{doNew, cachedNew, floorNew, naiveNew, doReplay, cachedReplay, floorReplay, doHot, cachedHot, floorHot}

// isCacheVariant reports whether v is one of this file's variants.
func isCacheVariant(v string) bool {
	switch v {
	case cachedNew, cachedReplay, doHot, cachedHot, floorHot:
		return true
	}
	return false
}

// setupCache gives b a Manager with a cache big enough for every replay
// key, on b.st.
func (b *bench) setupCache(o options) error {
	cache, err := idemcache.New(idemcache.Config{MaxEntries: max(o.replayKeys*2, 1000)})
	if err != nil {
		return err
	}
	b.cache = cache
	b.cmgr, err = idempotency.New[request, response](b.st, idempotency.Config{Namespace: namespace, Cache: cache})
	b.hotKeys = max(o.hotKeys, 1)
	return err
}

// cacheOp returns the operation of a cache variant, or nil when v is not
// one.
func (b *bench) cacheOp(v string) func(ctx context.Context, i int) error {
	hot := min(b.hotKeys, len(b.replayKeys))
	replay := func(mgr *idempotency.Manager[request, response], keys []string) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			r, err := mgr.DoResult(ctx, keys[i%len(keys)], theRequest, charge)
			if err == nil && !r.Replayed {
				err = errors.New("a completed key ran fn again")
			}
			return err
		}
	}
	switch v {
	case cachedNew:
		return func(ctx context.Context, _ int) error {
			r, err := b.cmgr.DoResult(ctx, b.newKey(), theRequest, charge)
			if err == nil && r.Replayed {
				err = errors.New("a new key was replayed")
			}
			return err
		}
	case cachedReplay:
		return replay(b.cmgr, b.replayKeys)
	case doHot:
		return replay(b.mgr, b.replayKeys[:hot])
	case cachedHot:
		return replay(b.cmgr, b.replayKeys[:hot])
	case floorHot:
		read := b.op(floorReplay) // the floor's read of replayKeys[i % len]
		return func(ctx context.Context, i int) error { return read(ctx, i%hot) }
	}
	return nil
}
