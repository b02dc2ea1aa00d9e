package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/idemkit/idempotency"
)

// noBound stands for -timeout 0 where a Cleaner needs a batch timeout.
const noBound = 100 * 365 * 24 * time.Hour

func runCleanup(ctx context.Context, o *options, io stdio) error {
	octx, cancel := withTimeout(ctx, o.timeout)
	s, done, err := open(octx, o, false, io.err)
	cancel()
	if err != nil {
		return err
	}
	defer done()
	if e, ok := s.(idempotency.ExpiringStore); ok && e.ExpiresRecords() {
		if o.json {
			return writeJSON(io.out, cleanupJSON{Needed: false})
		}
		fmt.Fprintf(io.out, "%s deletes expired records itself: nothing to clean\n", o.dialect)
		return nil
	}
	p := &progress{Store: s, w: io.err, show: io.errTerminal, start: time.Now()}
	batchTimeout := o.timeout
	if batchTimeout == 0 {
		batchTimeout = noBound
	}
	// One pass: its batches run until one comes back short, each bounded by
	// -timeout; an interrupt stops it between or within batches, and what
	// was deleted stays deleted.
	n, err := idempotency.NewCleaner(p, idempotency.CleanerConfig{BatchSize: o.batch, BatchTimeout: batchTimeout}).RunOnce(ctx)
	p.clear()
	if err != nil {
		return fmt.Errorf("stopped after deleting %s in %s: %w", plural(n, "expired record", "expired records"), plural(int64(p.batches), "batch", "batches"), err)
	}
	took := time.Since(p.start)
	if o.json {
		return writeJSON(io.out, cleanupJSON{Needed: true, Deleted: n, Batches: p.batches, Seconds: took.Seconds()})
	}
	fmt.Fprintf(io.out, "deleted %s in %s (%s)\n", plural(n, "expired record", "expired records"), plural(int64(p.batches), "batch", "batches"), roughly(took))
	return nil
}

// cleanupJSON is cleanup's -json output.
type cleanupJSON struct {
	Needed  bool    `json:"needed"` // false: the store expires records itself
	Deleted int64   `json:"deleted"`
	Batches int     `json:"batches"`
	Seconds float64 `json:"seconds"`
}

// progress counts a Cleaner's deletions and, on a terminal, shows them on
// one line that it rewrites. The Cleaner calls DeleteExpired from one
// goroutine at a time.
type progress struct {
	idempotency.Store
	w       io.Writer
	show    bool
	start   time.Time
	shown   time.Time // when the line was last written
	deleted int64
	batches int
}

func (p *progress) DeleteExpired(ctx context.Context, limit int) (int64, error) {
	n, err := p.Store.DeleteExpired(ctx, limit)
	p.deleted += n
	p.batches++
	if p.show && time.Since(p.shown) >= 100*time.Millisecond {
		p.shown = time.Now()
		fmt.Fprintf(p.w, "\rcleanup: deleted %s in %s (%s)…", plural(p.deleted, "expired record", "expired records"), plural(int64(p.batches), "batch", "batches"), roughly(time.Since(p.start)))
	}
	return n, err
}

// clear erases the progress line, if one was written.
func (p *progress) clear() {
	if !p.shown.IsZero() {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
