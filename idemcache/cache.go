package idemcache

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/maypok86/otter/v2"
)

// Defaults of [Config] fields left zero.
const (
	DefaultMaxEntries = 100_000
	DefaultMaxBytes   = 64 << 20
	DefaultMaxAge     = time.Minute

	// MinMaxBytes is the smallest Config.MaxBytes.
	MinMaxBytes = 64 << 10
)

// entryOverhead is what an entry costs beyond its strings and payload, by
// a generous estimate: the key and entry structs, otter's node and its
// share of the hash table and the eviction policy's structures.
const entryOverhead = 256

// Config bounds a [Cache]. The zero value is usable: every field has a
// default.
type Config struct {
	// MaxEntries is the most entries the cache keeps. Defaults to
	// 100,000.
	MaxEntries int

	// MaxBytes is the most memory, in bytes, that the cache's entries
	// take: their namespaces, keys, fingerprints and payloads, plus an
	// estimate of the bookkeeping of each. An entry bigger than a tenth of
	// it (or than MaxBytes/MaxEntries, when that is more) is not cached.
	// At least MinMaxBytes. Defaults to 64 MiB.
	MaxBytes int64

	// MaxAge is the longest an entry is kept, counted from when it was
	// added, however long its record lives: about how long a key forgotten
	// by another process (or by cmd/idemctl) may still be replayed from
	// this cache (plus the store read that found it, which may have been
	// in flight when the key was forgotten). Shorter costs more store reads
	// on keys replayed for longer. Defaults to one minute.
	MaxAge time.Duration
}

// Cache is an [idempotency.Cache] on otter's W-TinyLFU cache, bounded by
// entries, bytes and age. Create it with [New] and set it in
// idempotency.Config.Cache, of one Manager or of several that share a
// store. It is safe for concurrent use. Its zero value is not usable.
type Cache struct {
	c         *otter.Cache[entryKey, entry]
	maxAge    time.Duration
	minWeight uint64 // every entry weighs at least this: MaxEntries holds
	maxWeight uint64 // an entry heavier than this is not cached
}

type entryKey struct{ namespace, key string }

type entry struct {
	rec      idempotency.Record
	deadline time.Time
}

// New returns an empty Cache bounded by cfg.
func New(cfg Config) (*Cache, error) {
	var errs []error
	if cfg.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("MaxEntries %d is negative; use 0 for the default of %d", cfg.MaxEntries, DefaultMaxEntries))
	}
	if cfg.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxBytes %d is negative; use 0 for the default of %d", cfg.MaxBytes, DefaultMaxBytes))
	}
	if cfg.MaxBytes > 0 && cfg.MaxBytes < MinMaxBytes {
		errs = append(errs, fmt.Errorf("MaxBytes %d is too small to hold entries; use at least %d", cfg.MaxBytes, MinMaxBytes))
	}
	if cfg.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("MaxAge %v is negative; use 0 for the default of %v", cfg.MaxAge, DefaultMaxAge))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("idemcache: invalid Config: %w", errors.Join(errs...))
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	maxBytes := uint64(cfg.MaxBytes)
	// otter bounds one weight, so entries weigh at least
	// MaxBytes/MaxEntries each: MaxEntries of them fill it. An entry may
	// weigh a tenth of MaxBytes, or that least weight when it is more
	// (MaxEntries under ten).
	minWeight := max(1, (maxBytes+uint64(cfg.MaxEntries)-1)/uint64(cfg.MaxEntries))
	c := &Cache{
		maxAge:    cfg.MaxAge,
		minWeight: minWeight,
		maxWeight: min(max(maxBytes/10, minWeight), math.MaxUint32),
	}
	var err error
	c.c, err = otter.New(&otter.Options[entryKey, entry]{
		MaximumWeight: maxBytes,
		Weigher:       func(k entryKey, e entry) uint32 { return uint32(c.weight(k, e.rec)) },
		// An entry leaves the cache at its deadline, not only when it is
		// next read, so dead entries do not hold memory.
		// A deadline that passed meanwhile still gets a positive time:
		// otter ignores one that is not.
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[entryKey, entry]) time.Duration {
			return max(time.Until(e.Value.deadline), time.Nanosecond)
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("idemcache: %w", err)
	}
	return c, nil
}

// weight is an entry's size in bytes, at least c.minWeight.
func (c *Cache) weight(k entryKey, rec idempotency.Record) uint64 {
	n := uint64(len(k.namespace) + len(k.key) + len(rec.Fingerprint) + len(rec.Payload) + entryOverhead)
	return max(n, c.minWeight)
}

// Get implements [idempotency.Cache]: the record cached for (namespace,
// key) and its deadline.
func (c *Cache) Get(namespace, key string) (idempotency.Record, time.Time, bool) {
	e, ok := c.c.GetIfPresent(entryKey{namespace, key})
	return e.rec, e.deadline, ok
}

// Add implements [idempotency.Cache]: it keeps rec until deadline or for
// MaxAge, whichever ends first. It does not keep a processing record, one
// whose deadline has passed, or one bigger than a tenth of MaxBytes.
func (c *Cache) Add(namespace, key string, rec idempotency.Record, deadline time.Time) {
	if rec.State == idempotency.StateProcessing {
		return
	}
	k := entryKey{namespace, key}
	if c.weight(k, rec) > c.maxWeight {
		c.c.Invalidate(k)
		return
	}
	now := time.Now()
	if limit := now.Add(c.maxAge); deadline.After(limit) {
		deadline = limit
	}
	if !now.Before(deadline) {
		c.c.Invalidate(k)
		return
	}
	c.c.Set(k, entry{rec: rec, deadline: deadline})
}

// Remove implements [idempotency.Cache].
func (c *Cache) Remove(namespace, key string) {
	c.c.Invalidate(entryKey{namespace, key})
}

// Len returns about how many entries the cache holds.
func (c *Cache) Len() int {
	return c.c.EstimatedSize()
}

// Close stops the goroutine that drops expired entries; the cache keeps
// working without it, dropping them when they are next read or evicted.
// Calling it is optional: the goroutine also ends once the cache is no
// longer reachable. Safe to call more than once.
func (c *Cache) Close() {
	c.c.StopAllGoroutines()
}

var _ idempotency.Cache = (*Cache)(nil)
