package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
)

// statsBatch is the COUNT hint of each SCAN, and so about how many records
// one pipeline of HMGETs reads.
const statsBatch = 1000

// Stats implements [idempotency.StatsReader]. Redis keeps no index to
// count from, so it reads every record: a SCAN of every primary (which
// walks all of the primary's keys, the store's and any others, about
// keys/1000 round trips) and, for each batch of the store's keys, one
// pipeline that reads the state and lease of each. It costs the server
// about as much as reading every record once, spread over many small
// commands that other clients' commands interleave with, and the client
// time proportional to the number of keys: run it from an operator's tool,
// bounded with ctx. When ctx ends first, Stats returns what it counted
// with Partial set, and the context's error.
//
// Redis deletes expired records itself, so Expired is always 0. Records
// created or deleted during the scan may be counted or not, and one that
// SCAN returns twice (it may, while the server resizes its key table) is
// counted twice: the client keeps no set of the keys it saw, so its memory
// stays bounded however many records there are.
func (s *Store) Stats(ctx context.Context) (idempotency.Stats, error) {
	c := &counter{prefix: s.prefix, groups: map[groupKey]*idempotency.StatsGroup{}}
	var err error
	switch rdb := s.rdb.(type) {
	case *redis.ClusterClient:
		err = rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return c.scan(ctx, node) })
	case *redis.Ring:
		err = rdb.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error { return c.scan(ctx, node) })
	default:
		err = c.scan(ctx, rdb)
	}
	st := c.stats()
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			st.Partial = true
			return st, fmt.Errorf("redisstore: stats: stopped after counting %d records: %w", st.Total(), err)
		}
		return idempotency.Stats{}, fmt.Errorf("redisstore: stats: %w", err)
	}
	if st.Now.IsZero() { // no record: read the clock on its own
		t, err := s.rdb.Time(ctx).Result()
		if err != nil {
			return idempotency.Stats{}, fmt.Errorf("redisstore: stats: read the server's clock: %w", err)
		}
		st.Now = t.UTC()
	}
	return st, nil
}

type groupKey struct {
	namespace string
	state     idempotency.State
}

// counter adds up records from the primaries, scanned in parallel.
type counter struct {
	prefix string
	mu     sync.Mutex
	groups map[groupKey]*idempotency.StatsGroup
	now    time.Time // the latest server clock read
}

// scan counts the store's records on one server.
func (c *counter) scan(ctx context.Context, node redis.Cmdable) error {
	match := scanPattern(c.prefix)
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, match, statsBatch).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := c.count(ctx, node, keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// count reads the state and lease of each of keys, and the server's clock,
// in one pipeline, and adds them up.
func (c *counter) count(ctx context.Context, node redis.Cmdable, keys []string) error {
	pipe := node.Pipeline()
	clock := pipe.Time(ctx)
	reads := make([]*redis.SliceCmd, len(keys))
	for i, k := range keys {
		reads[i] = pipe.HMGet(ctx, k, "s", "l")
	}
	// Exec reports the first command's error; each is read below, so that
	// one key another program wrote (WRONGTYPE) does not stop the count.
	_, _ = pipe.Exec(ctx)
	now, err := clock.Result()
	if err != nil {
		return err
	}
	nowMillis := now.UnixMilli()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.After(c.now) {
		c.now = now
	}
	for i, k := range keys {
		ns, ok := parseRecordKey(c.prefix, k)
		v, err := reads[i].Result()
		if !ok || err != nil || len(v) != 2 || v[0] == nil {
			continue // not a record, or expired since the SCAN
		}
		var state idempotency.State
		switch v[0] {
		case "0":
			state = idempotency.StateProcessing
		case "1":
			state = idempotency.StateCompleted
		case "2":
			state = idempotency.StateFailed
		default:
			continue
		}
		g := c.groups[groupKey{ns, state}]
		if g == nil {
			g = &idempotency.StatsGroup{Namespace: ns, State: state}
			c.groups[groupKey{ns, state}] = g
		}
		g.Records++
		if state == idempotency.StateProcessing {
			if l, err := strconv.ParseInt(str(v[1]), 10, 64); err == nil && l <= nowMillis {
				g.Lapsed++
			}
		}
	}
	return nil
}

// stats returns the counts so far, sorted.
func (c *counter) stats() idempotency.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := idempotency.Stats{Now: c.now.UTC()}
	for _, g := range c.groups {
		st.Groups = append(st.Groups, *g)
	}
	sort.Slice(st.Groups, func(i, j int) bool {
		a, b := st.Groups[i], st.Groups[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.State < b.State
	})
	return st
}
