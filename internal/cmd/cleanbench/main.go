// Command cleanbench measures the Cleaner on a table of expired records: how
// fast a pass deletes them against one raw DELETE of the same rows, and how
// much a pass slows concurrent Manager.Do calls on the same table (p99
// latency during the pass as a ratio to p99 without one, measured in the same
// run just before and just after the pass). Most callers send new keys; a
// few (-reclaim) retry old requests whose keys are among the expired rows, so
// their claim has to take over, or wait for, a row the deletion is working on.
//
//	go run ./internal/cmd/cleanbench -dialect postgres -dsn 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -rows 1000000
//	go run ./internal/cmd/cleanbench -dialect mysql -dsn 'root@tcp(127.0.0.1:3306)/test' -rows 1000000 -batch 1000,5000 -pause 10ms,1ms
//	go run ./internal/cmd/cleanbench -dialect sqlite -rows 100000   # a temporary file
//
// Each measurement starts from a freshly filled table: N completed records
// that expired an hour ago, with random keys and a 100-byte payload. It
// creates a table with a random name and drops it at the end, also when
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type options struct {
	dialect string
	driver  string
	dsn     string
	rows    int
	batches []int
	pauses  []time.Duration
	conc    int
	reclaim int
	base    time.Duration
	alone   bool
	raw     bool
	rawLoad bool
	load    bool
	ordered bool
}

func main() {
	var o options
	var batches, pauses string
	flag.StringVar(&o.dialect, "dialect", "sqlite", "postgres, mysql or sqlite")
	flag.StringVar(&o.driver, "driver", "", "database/sql driver: pgx or postgres (lib/pq) for postgres; default pgx, mysql, sqlite")
	flag.StringVar(&o.dsn, "dsn", "", "data source name; for sqlite default a temporary file opened with sqlstore.SQLiteDSN")
	flag.IntVar(&o.rows, "rows", 1_000_000, "expired rows to delete in each measurement")
	flag.StringVar(&batches, "batch", "1000", "comma-separated CleanerConfig.BatchSize values to try")
	flag.StringVar(&pauses, "pause", "10ms", "comma-separated CleanerConfig.BatchPause values to try")
	flag.IntVar(&o.conc, "c", 8, "concurrent Do callers measuring latency")
	flag.IntVar(&o.reclaim, "reclaim", 1, "how many of the -c callers retry old requests, whose keys are among the expired rows, instead of sending new keys")
	flag.DurationVar(&o.base, "base", 5*time.Second, "how long the Do load runs without a pass, before and after each pass, for the baseline p99")
	flag.BoolVar(&o.alone, "alone", true, "also time each cleaner configuration without concurrent Do load")
	flag.BoolVar(&o.raw, "raw", true, "time one raw DELETE of all expired rows, without load")
	flag.BoolVar(&o.rawLoad, "rawload", true, "also run the raw DELETE under the Do load, for its p99 ratio")
	flag.BoolVar(&o.ordered, "ordered", false, "time-ordered keys (as ULIDs would be) instead of random ones (as UUIDv4s): primary-key order then follows expiry order")
	flag.BoolVar(&o.load, "load", true, "time each cleaner configuration under the Do load, for its p99 ratio")
	flag.Parse()

	for _, s := range strings.Split(batches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fatalf("-batch %q: want positive integers separated by commas", batches)
		}
		o.batches = append(o.batches, n)
	}
	for _, s := range strings.Split(pauses, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d <= 0 {
			fatalf("-pause %q: want positive durations separated by commas (the Cleaner has no zero pause; 1ns is as good as none)", pauses)
		}
		o.pauses = append(o.pauses, d)
	}
	if o.rows < 1 || o.conc < 1 || o.base <= 0 {
		fatalf("-rows, -c and -base must be positive")
	}
	if o.reclaim < 0 || o.reclaim >= o.conc {
		fatalf("-reclaim %d: want 0 to %d, fewer than -c", o.reclaim, o.conc-1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "cleanbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	b, err := setup(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.close(context.WithoutCancel(ctx)); err == nil {
			err = cerr
		}
	}()
	keys := "random"
	if o.ordered {
		keys = "time-ordered"
	}
	fmt.Printf("# cleanbench: %s via %s, table %s, %d expired rows with %s keys per measurement, %d concurrent Do callers (%d on expired keys), baseline %v before and after, GOMAXPROCS=%d, %s\n",
		o.dialect, b.driver, b.table, o.rows, keys, o.conc, o.reclaim, o.base, runtime.GOMAXPROCS(0), runtime.Version())

	var rawRate float64
	if o.raw {
		if err := b.fill(ctx, o.rows); err != nil {
			return err
		}
		n, d, err := b.rawDelete(ctx)
		if err != nil {
			return err
		}
		rawRate = rate(n, d)
		fmt.Printf("raw DELETE                      %8d rows in %8v = %8.0f rows/s\n", n, d.Round(time.Millisecond), rawRate)
	}
	if o.rawLoad {
		if err := b.fill(ctx, o.rows); err != nil {
			return err
		}
		r, err := b.underLoad(ctx, o, func(ctx context.Context) (int64, error) {
			n, _, err := b.rawDelete(ctx)
			return n, err
		})
		if err != nil {
			return err
		}
		r.print("raw DELETE under load", rawRate)
	}
	for _, size := range o.batches {
		for _, pause := range o.pauses {
			name := fmt.Sprintf("batch=%d pause=%v", size, pause)
			c := b.cleaner(size, pause)
			if o.alone {
				if err := b.fill(ctx, o.rows); err != nil {
					return err
				}
				b.batches.reset()
				t0 := time.Now()
				n, err := c.RunOnce(ctx)
				d := time.Since(t0)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				fmt.Printf("cleaner %-23s %8d rows in %8v = %8.0f rows/s (%.2fx raw)\n", name, n, d.Round(time.Millisecond), rate(n, d), ratio(rate(n, d), rawRate))
				b.batches.print()
			}
			if !o.load {
				continue
			}
			if err := b.fill(ctx, o.rows); err != nil {
				return err
			}
			b.batches.reset()
			r, err := b.underLoad(ctx, o, c.RunOnce)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			r.print("cleaner "+name+" under load", rawRate)
			b.batches.print()
		}
	}
	return nil
}

func rate(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cleanbench: "+format+"\n", args...)
	os.Exit(2)
}
