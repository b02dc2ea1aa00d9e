package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/idemkit/idempotency/internal/benchdb"
)

// measurement is one variant run n times by c concurrent callers.
type measurement struct {
	elapsed time.Duration
	cpu     time.Duration   // this process's user+system CPU time
	lat     []time.Duration // sorted
}

// cpuPerOp is the client's CPU time per operation: the library's own cost,
// which noise from other processes on the machine barely affects.
func (m *measurement) cpuPerOp() time.Duration {
	return m.cpu / time.Duration(len(m.lat))
}

func (m *measurement) opsPerSec() float64 {
	return float64(len(m.lat)) / m.elapsed.Seconds()
}

func (m *measurement) quantile(q float64) time.Duration { return quantile(m.lat, q) }

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)))
	return sorted[min(i, len(sorted)-1)]
}

// measure runs variant v n times on c goroutines that start together and
// take operations from a shared counter, and goes on until minTime has
// passed too, so that a fast variant is not measured over a few
// milliseconds dominated by its start; the first error stops them all.
func (b *bench) measure(ctx context.Context, v string, c, n int, minTime time.Duration) (*measurement, error) {
	return measureOp(ctx, v, b.op(v), c, n, minTime)
}

// measureOp is measure for any operation op, named v.
func measureOp(ctx context.Context, v string, op func(ctx context.Context, i int) error, c, n int, minTime time.Duration) (*measurement, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		start = make(chan struct{})
		lats  = make([][]time.Duration, c)
		until time.Time // set before start is closed
	)
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, n/c+1)
			defer func() { lats[w] = lat }()
			<-start
			for {
				i := int(next.Add(1) - 1)
				if (i >= n && !time.Now().Before(until)) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, i); err != nil {
					cancel(fmt.Errorf("%s: %w", v, err))
					return
				}
				lat = append(lat, time.Since(t0))
			}
		}()
	}
	cpu0 := processCPU()
	t0 := time.Now()
	until = t0.Add(minTime)
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	cpu := processCPU() - cpu0
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	m := &measurement{elapsed: elapsed, cpu: cpu, lat: slices.Concat(lats...)}
	slices.Sort(m.lat)
	return m, nil
}

// processCPU returns the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// prefill inserts n completed rows in batches, one transaction each, so
// that the table holds n rows besides what the measurements add.
func (b *bench) prefill(ctx context.Context, n int, log io.Writer) error {
	const batch = 1000
	t0 := time.Now()
	full := rebind(b.dialect, b.sql.prefillHead+rowsPlaceholders(b.sql.prefillRow, batch))
	args := make([]any, 0, 5*batch)
	for done := 0; done < n; {
		k := min(batch, n-done)
		q := full
		if k < batch {
			q = rebind(b.dialect, b.sql.prefillHead+rowsPlaceholders(b.sql.prefillRow, k))
		}
		args = args[:0]
		for i := range k {
			args = append(args, namespace, fmt.Sprintf("prefill-%s-%d", b.runID, done+i), b.fp, b.token, b.payload)
		}
		tx, err := b.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("prefill: %w", err)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			tx.Rollback()
			return fmt.Errorf("prefill: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("prefill: %w", err)
		}
		done += k
		if done%100000 == 0 {
			fmt.Fprintf(log, "prefill: %d rows, %v\n", done, time.Since(t0).Round(time.Second))
		}
	}
	fmt.Fprintf(log, "prefill: %d rows in %v\n", n, time.Since(t0).Round(time.Millisecond))
	// Fresh statistics, so the planner knows the table is big.
	analyze := map[string]string{"postgres": "ANALYZE ", "mysql": "ANALYZE TABLE ", "sqlite": "ANALYZE "}[string(b.dialect)]
	if _, err := b.db.ExecContext(ctx, analyze+benchdb.Quote(b.dialect, b.table)); err != nil {
		return fmt.Errorf("analyze after prefill: %w", err)
	}
	return nil
}
