package idempotency

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Default values of [CleanerConfig] fields left zero.
const (
	DefaultCleanInterval = 5 * time.Minute
	DefaultBatchSize     = 1000
	DefaultBatchTimeout  = 30 * time.Second
	DefaultBatchPause    = 10 * time.Millisecond
)

// CleanerConfig tunes a [Cleaner]. The zero value is usable: zero or negative
// fields take their defaults.
type CleanerConfig struct {
	// Interval is the time between passes; each wait is jittered by up to
	// ±10% so many instances do not clean in lockstep. Defaults to 5m.
	Interval time.Duration

	// BatchSize is how many records one DELETE removes at most. Smaller
	// batches hold locks for less time. Defaults to 1000.
	BatchSize int

	// BatchTimeout bounds one batch. Defaults to 30s.
	BatchTimeout time.Duration

	// BatchPause is the pause between two batches of one pass, which lets
	// live traffic through on a busy table. Defaults to 10ms.
	BatchPause time.Duration

	// Logger receives one line per pass (rows deleted, duration) and every
	// error. Defaults to nil, which logs nothing.
	Logger *slog.Logger

	// OnPass, when set, is called after each background pass with its
	// statistics, for metrics. It runs on the cleaner's goroutine, so it
	// must not block for long nor call Start or Stop. A pass cut short by
	// Stop is not reported. Defaults to nil.
	OnPass func(PassStats)
}

// PassStats describes one cleaning pass. Its zero value is an empty pass.
type PassStats struct {
	Deleted  int64         // records deleted
	Batches  int           // DELETE statements issued
	Duration time.Duration // wall time of the pass
	Err      error         // why the pass stopped early, if it did
	// Finished reports that the pass ended on a batch that came back
	// short: as of that batch, no expired record was left. False when it
	// stopped early (Err), so a metric of passes not finished tells a
	// cleaner that falls behind.
	Finished bool
}

// Cleaner deletes expired records in the background, in bounded batches, so
// the table does not grow forever. Records are never replayed after they
// expire whether or not a Cleaner runs; the Cleaner only reclaims space.
// Several Cleaners, in one process or many, may clean one table at once.
//
// A Cleaner is safe for concurrent use. Its zero value is not usable: call
// [NewCleaner].
type Cleaner struct {
	store Store
	cfg   CleanerConfig
	log   *slog.Logger

	mu      sync.Mutex
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewCleaner returns a Cleaner for store. It starts nothing: call
// [Cleaner.Start] for the background loop or [Cleaner.RunOnce] for one pass.
// It panics if store is nil.
func NewCleaner(store Store, cfg CleanerConfig) *Cleaner {
	if store == nil {
		panic("idempotency: NewCleaner: store is nil")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultCleanInterval
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = DefaultBatchTimeout
	}
	if cfg.BatchPause <= 0 {
		cfg.BatchPause = DefaultBatchPause
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cleaner{store: store, cfg: cfg, log: log}
}

// Start launches the background loop: a first pass after a short jitter, then
// one every Interval. Errors are logged and the loop goes on. Calling Start on
// a running Cleaner does nothing; a stopped Cleaner can be started again.
func (c *Cleaner) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.running, c.cancel, c.done = true, cancel, make(chan struct{})
	go c.loop(ctx, c.done)
}

// Stop ends the background loop, cancelling a pass in progress, and returns
// once its goroutine has exited. Calling Stop on a Cleaner that is not
// running does nothing.
func (c *Cleaner) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return
	}
	c.cancel()
	<-c.done
	c.running = false
}

func (c *Cleaner) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	// A little jitter before the first pass, so instances started together
	// do not all clean at once.
	wait := time.Duration(rand.Int64N(int64(min(c.cfg.Interval/10, time.Second)) + 1))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		stats := c.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		if stats.Err != nil {
			c.log.Error("idempotency: cleaner pass failed", "deleted", stats.Deleted, "batches", stats.Batches, "duration", stats.Duration, "err", stats.Err)
		} else {
			c.log.Info("idempotency: cleaner pass", "deleted", stats.Deleted, "batches", stats.Batches, "duration", stats.Duration)
		}
		if c.cfg.OnPass != nil {
			c.cfg.OnPass(stats)
		}
		jitter := time.Duration(rand.Int64N(int64(c.cfg.Interval/5)+1)) - c.cfg.Interval/10
		timer.Reset(c.cfg.Interval + jitter)
	}
}

// RunOnce runs one full pass now: batches of BatchSize until one comes back
// short. It returns the number of records deleted, also when it stops early
// on an error or on ctx.
func (c *Cleaner) RunOnce(ctx context.Context) (int64, error) {
	stats := c.pass(ctx)
	return stats.Deleted, stats.Err
}

func (c *Cleaner) pass(ctx context.Context) PassStats {
	start := time.Now()
	var stats PassStats
	for {
		bctx, cancel := context.WithTimeout(ctx, c.cfg.BatchTimeout)
		n, err := c.store.DeleteExpired(bctx, c.cfg.BatchSize)
		cancel()
		stats.Batches++
		stats.Deleted += n
		if err != nil {
			stats.Err = fmt.Errorf("idempotency: cleaner: delete expired records: %w", err)
			stats.Duration = time.Since(start)
			return stats
		}
		if n < int64(c.cfg.BatchSize) {
			stats.Duration = time.Since(start)
			stats.Finished = true
			return stats
		}
		t := time.NewTimer(c.cfg.BatchPause)
		select {
		case <-ctx.Done():
			t.Stop()
			stats.Err = fmt.Errorf("idempotency: cleaner: %w", ctx.Err())
			stats.Duration = time.Since(start)
			return stats
		case <-t.C:
		}
	}
}
