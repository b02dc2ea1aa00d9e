package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/sqlstore"
)

// sample is one kind of Do call in one load window.
type sample []time.Duration // sorted once the window ends

func (s sample) q(p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[min(int(p*float64(len(s))), len(s)-1)]
}

func (s sample) String() string {
	return fmt.Sprintf("p50 %8v p99 %8v max %8v", s.q(0.5).Round(time.Microsecond), s.q(0.99).Round(time.Microsecond), s.q(1).Round(time.Microsecond))
}

// window is the Do calls of one load window: new keys, and keys of filled
// rows that expired, which a retried old request re-claims.
type window struct {
	fresh, reclaim sample
	errs           int
	first          error
	took           time.Duration
}

func (w *window) merge(o window) {
	w.fresh = append(w.fresh, o.fresh...)
	w.reclaim = append(w.reclaim, o.reclaim...)
	w.errs += o.errs
	if w.first == nil {
		w.first = o.first
	}
	w.took += o.took
}

func (w *window) sort() {
	slices.Sort(w.fresh)
	slices.Sort(w.reclaim)
}

// load runs c goroutines calling Do until stop is closed: the first
// o.reclaim of them on keys of the rows filled last, at random, the others
// on new keys.
func (b *bench) load(ctx context.Context, o options, stop <-chan struct{}) window {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		all   window
		seq   atomic.Int64
		start = time.Now()
	)
	fn := func(_ context.Context, req string) (string, error) { return "ok:" + req, nil }
	for w := range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine window
			defer func() {
				mu.Lock()
				all.merge(mine)
				mu.Unlock()
			}()
			reclaim := w < o.reclaim
			for {
				select {
				case <-stop:
					return
				default:
				}
				mgr, key := b.mgr, fmt.Sprintf("%s-live-%d", b.runID, seq.Add(1))
				if reclaim {
					mgr, key = b.oldMgr, b.filledKey(rand.IntN(b.filled))
				}
				t0 := time.Now()
				_, err := mgr.Do(ctx, key, key, fn)
				d := time.Since(t0)
				switch {
				case err != nil:
					mine.errs++
					if mine.first == nil {
						mine.first = err
					}
				case reclaim:
					mine.reclaim = append(mine.reclaim, d)
				default:
					mine.fresh = append(mine.fresh, d)
				}
			}
		}()
	}
	wg.Wait()
	all.took = time.Since(start)
	all.sort()
	return all
}

// filledKey is the key fill gave to row i of the last fill.
func (b *bench) filledKey(i int) string {
	switch {
	case b.ordered:
		return fmt.Sprintf("%s%09d", b.prefix, i)
	case b.dialect == sqlstore.SQLite:
		return fmt.Sprintf("%s%08x", b.prefix, (uint64(i)*2654435761)%(1<<32))
	}
	sum := md5.Sum([]byte(strconv.Itoa(i)))
	return b.prefix + hex.EncodeToString(sum[:])
}

// loadFor runs the load for d.
func (b *bench) loadFor(ctx context.Context, o options, d time.Duration) window {
	stop := make(chan struct{})
	t := time.AfterFunc(d, func() { close(stop) })
	defer t.Stop()
	return b.load(ctx, o, stop)
}

// loadResult is one deletion job measured under the Do load.
type loadResult struct {
	rows             int64
	took             time.Duration
	baseline, during window
}

// underLoad measures the Do load for o.base, then during job, then, once the
// database has settled, for o.base again; the two windows without job make
// the baseline.
func (b *bench) underLoad(ctx context.Context, o options, job func(context.Context) (int64, error)) (loadResult, error) {
	var r loadResult
	r.baseline = b.loadFor(ctx, o, o.base)

	stop := make(chan struct{})
	done := make(chan window, 1)
	go func() { done <- b.load(ctx, o, stop) }()
	t0 := time.Now()
	n, err := job(ctx)
	r.took = time.Since(t0)
	close(stop)
	r.during = <-done
	if err != nil {
		return r, err
	}
	r.rows = n

	// The deleted rows leave vacuum or purge work behind, which is not the
	// pass's own cost.
	if err := b.settle(ctx); err != nil {
		return r, err
	}
	r.baseline.merge(b.loadFor(ctx, o, o.base))
	r.baseline.sort()
	return r, nil
}

func (r loadResult) print(name string, rawRate float64) {
	rr := rate(r.rows, r.took)
	fmt.Printf("%-31s %8d rows in %8v = %8.0f rows/s (%.2fx raw)\n", name, r.rows, r.took.Round(time.Millisecond), rr, ratio(rr, rawRate))
	perSec := func(w window) float64 { return float64(len(w.fresh)+len(w.reclaim)) / w.took.Seconds() }
	fmt.Printf("    Do without: %6.0f/s  new keys %v", perSec(r.baseline), r.baseline.fresh)
	if len(r.baseline.reclaim) > 0 {
		fmt.Printf("  | expired keys %v", r.baseline.reclaim)
	}
	fmt.Printf("\n    Do during:  %6.0f/s  new keys %v", perSec(r.during), r.during.fresh)
	if len(r.during.reclaim) > 0 {
		fmt.Printf("  | expired keys %v", r.during.reclaim)
	}
	fmt.Printf("\n    p99 during / p99 without: new keys %.2f", float64(r.during.fresh.q(0.99))/float64(r.baseline.fresh.q(0.99)))
	if len(r.baseline.reclaim) > 0 && len(r.during.reclaim) > 0 {
		fmt.Printf(", expired keys %.2f", float64(r.during.reclaim.q(0.99))/float64(r.baseline.reclaim.q(0.99)))
	}
	fmt.Println()
	if n := r.baseline.errs + r.during.errs; n > 0 {
		first := r.during.first
		if first == nil {
			first = r.baseline.first
		}
		fmt.Printf("    Do errors: %d without, %d during; first: %v\n", r.baseline.errs, r.during.errs, first)
	}
}

// timedStore records how long each DeleteExpired statement takes, to tell
// the statements' time from the pauses between them.
type timedStore struct {
	idempotency.Store
	mu  sync.Mutex
	lat []time.Duration
}

func (s *timedStore) DeleteExpired(ctx context.Context, limit int) (int64, error) {
	t0 := time.Now()
	n, err := s.Store.DeleteExpired(ctx, limit)
	d := time.Since(t0)
	s.mu.Lock()
	s.lat = append(s.lat, d)
	s.mu.Unlock()
	return n, err
}

func (s *timedStore) reset() {
	s.mu.Lock()
	s.lat = nil
	s.mu.Unlock()
}

func (s *timedStore) print() {
	s.mu.Lock()
	l := sample(slices.Sorted(slices.Values(s.lat)))
	s.mu.Unlock()
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	fmt.Printf("    %d batches: %v, %v in statements\n", len(l), l, sum.Round(time.Millisecond))
}
