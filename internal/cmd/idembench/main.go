// Command idembench measures what Manager.Do costs against the floor: the
// statements a careful hand-written program cannot avoid (a claim INSERT and
// a completion UPDATE for a new key, one read by primary key for a replay),
// and against the check-then-insert flow tutorials show. Everything runs in
// one process on one connection pool, in alternating rounds after a warm-up,
// so that the ratios compare like with like on a noisy machine.
//
//	go run ./internal/cmd/idembench -dialect postgres -dsn 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -c 1,8,32 -n 20000 -rounds 5
//	go run ./internal/cmd/idembench -dialect mysql -dsn 'root@tcp(127.0.0.1:3306)/test'
//	go run ./internal/cmd/idembench -dialect sqlite            # a temporary file
//	go run ./internal/cmd/idembench -dialect postgres -dsn ... -prefill 1000000
//	go run ./internal/cmd/idembench -dialect mysql -dsn ... -variants tx  # TxManager against its floor
//	go run ./internal/cmd/idembench -dialect redis -addr 127.0.0.1:6379 -pg-dsn 'postgres://...'
//	go run ./internal/cmd/idembench -dialect redis-cluster -addr 127.0.0.1:30001,127.0.0.1:30002
//
// The default variants are a new key and a replay through Do, each beside
// its floor, the check-then-insert flow, and a mix in which one call in ten
// retries a completed key. -order pins the store's claim order
// (sqlstore.ClaimOrder) instead of letting it adapt.
//
// On Redis the floor is SET NX PX and SET XX PX for a new key and one GET
// for a replay, and -pg-dsn runs Do on PostgreSQL in the same rounds.
//
// It creates a table (on Redis, a key prefix) with a random name and drops
// it at the end, also when interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idemkit/idempotency/internal/countdriver"
	"github.com/idemkit/idempotency/sqlstore"
)

type options struct {
	dialect    string
	driver     string
	dsn        string
	addrs      []string // Redis
	pgDSN      string   // Redis: also measure Do on PostgreSQL
	conc       []int
	n          int
	rounds     int
	warmup     int
	minTime    time.Duration
	prefill    int
	replayKeys int
	hotKeys    int
	maxIdle    int
	variants   []string
	cpuProfile string
	plotFile   string // -plot: a PNG of ops/s against callers
	title      string // the chart's title
	keepTable  bool
	count      bool
	order      sqlstore.ClaimOrder

	out, log io.Writer // the report; progress (default stdout, stderr)
}

func main() {
	var o options
	var conc, variants string
	flag.StringVar(&o.dialect, "dialect", "sqlite", "postgres, mysql, sqlite, redis or redis-cluster")
	addrs := flag.String("addr", "127.0.0.1:6379", "redis, redis-cluster: comma-separated server (cluster: seed) addresses")
	flag.StringVar(&o.pgDSN, "pg-dsn", "", "redis, redis-cluster: also measure Do on this PostgreSQL (variants pg-do-new, pg-do-replay)")
	flag.StringVar(&o.driver, "driver", "", "database/sql driver: pgx or postgres (lib/pq) for postgres; default pgx, mysql, sqlite")
	flag.StringVar(&o.dsn, "dsn", "", "data source name; for sqlite default a temporary file opened with sqlstore.SQLiteDSN")
	flag.StringVar(&conc, "c", "1,8,32", "comma-separated numbers of concurrent callers")
	flag.IntVar(&o.n, "n", 20000, "operations per measurement (one variant, one concurrency, one round)")
	flag.IntVar(&o.rounds, "rounds", 5, "measured rounds; variants alternate order from round to round")
	flag.DurationVar(&o.minTime, "mintime", 500*time.Millisecond, "run each measurement at least this long, beyond -n operations if need be")
	flag.IntVar(&o.warmup, "warmup", 0, "operations per variant and concurrency before the first round; default n/10, at least 200")
	flag.IntVar(&o.prefill, "prefill", 0, "completed rows to insert into the table before measuring")
	flag.IntVar(&o.replayKeys, "replay-keys", 1000, "completed keys the replay variants read, round-robin")
	flag.IntVar(&o.hotKeys, "hot-keys", 16, "how many of the replay keys the hot variants (do-hot, cached-hot, floor-hot) replay, round-robin")
	flag.IntVar(&o.maxIdle, "maxidle", -1, "sql.DB MaxIdleConns; -1: as many as the largest concurrency (database/sql's own default is 2)")
	flag.StringVar(&variants, "variants", "default", "comma-separated subset of: "+strings.Join(allVariants, ",")+`; "default" is the budget's new-key and replay comparisons and a mix with one retry in ten, "tx" TxManager's (DESIGN.md §9.8), "cache" Config.Cache's, "all" every variant`)
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured rounds to this file")
	flag.StringVar(&o.plotFile, "plot", "", "draw ops/s against callers for every variant into this PNG file")
	flag.StringVar(&o.title, "title", "", "the chart's title; default the dialect and GOMAXPROCS")
	flag.BoolVar(&o.keepTable, "keep", false, "do not drop the table at the end")
	order := flag.String("order", "adaptive", "the store's claim order: adaptive, write-first or read-first (sqlstore.ClaimOrder)")
	flag.BoolVar(&o.count, "count", false, "open the pool through internal/countdriver and print statements, prepares and transactions per operation (slows every variant alike)")
	flag.Parse()

	for _, s := range strings.Split(conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			fatalf("-c %q: want positive integers separated by commas", conc)
		}
		o.conc = append(o.conc, c)
	}
	o.addrs = strings.Split(*addrs, ",")
	switch variants {
	case "default":
		o.variants = defaultVariants
		if isRedis(o.dialect) {
			o.variants = redisVariants
			if o.pgDSN != "" {
				o.variants = append(slices.Clone(redisVariants), pgDoNew, pgDoReplay)
			}
		}
	case "all":
		o.variants = allVariants
	case "tx":
		o.variants = txVariants
	case "cache":
		o.variants = cacheVariants
		if isRedis(o.dialect) {
			o.variants = slices.DeleteFunc(slices.Clone(cacheVariants), func(v string) bool { return v == naiveNew })
		}
	default:
		for _, v := range strings.Split(variants, ",") {
			if !known(strings.TrimSpace(v)) {
				fatalf("-variants: unknown variant %q: want some of %s", v, strings.Join(allVariants, ","))
			}
			o.variants = append(o.variants, strings.TrimSpace(v))
		}
	}
	switch *order {
	case "adaptive":
		o.order = sqlstore.AdaptiveOrder
	case "write-first":
		o.order = sqlstore.WriteFirst
	case "read-first":
		o.order = sqlstore.ReadFirst
	default:
		fatalf("-order %q: want adaptive, write-first or read-first", *order)
	}
	if o.n < 1 || o.rounds < 1 || o.replayKeys < 1 || o.hotKeys < 1 {
		fatalf("-n, -rounds, -replay-keys and -hot-keys must be positive")
	}
	if o.warmup == 0 {
		o.warmup = max(o.n/10, 200)
	}

	o.out, o.log = os.Stdout, os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "idembench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	if isRedis(o.dialect) {
		return runRedis(ctx, o)
	}
	b, err := setup(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.close(context.WithoutCancel(ctx), o.keepTable, o.log); err == nil {
			err = cerr
		}
	}()
	fmt.Fprintf(o.out, "# idembench: %s via %s, table %s, GOMAXPROCS=%d, %s\n", o.dialect, b.driver, b.table, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(o.out, "# n=%d per measurement (at least %v), %d rounds, warm-up %d, concurrency %v, MaxOpenConns=%d MaxIdleConns=%d\n",
		o.n, o.minTime, o.rounds, o.warmup, o.conc, b.db.Stats().MaxOpenConnections, b.maxIdle)

	if o.prefill > 0 {
		if err := b.prefill(ctx, o.prefill, o.log); err != nil {
			return err
		}
	}
	if err := b.prepareReplayKeys(ctx, o.replayKeys); err != nil {
		return err
	}
	return rounds(ctx, o, b.measure, b.counter)
}

// measureFunc measures variant v at concurrency c: n operations, and at
// least minTime.
type measureFunc func(ctx context.Context, v string, c, n int, minTime time.Duration) (*measurement, error)

// rounds warms every variant up, measures them in alternating order round
// after round, and prints the report.
func rounds(ctx context.Context, o options, measure measureFunc, counter *countdriver.Counter) error {
	for _, c := range o.conc {
		for _, v := range o.variants {
			if _, err := measure(ctx, v, c, o.warmup, 0); err != nil {
				return fmt.Errorf("warm-up %s c=%d: %w", v, c, err)
			}
		}
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res := newResults()
	for r := range o.rounds {
		for _, c := range o.conc {
			order := append([]string(nil), o.variants...)
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, v := range order {
				var before countdriver.Counts
				if counter != nil {
					before = counter.Snapshot()
				}
				m, err := measure(ctx, v, c, o.n, o.minTime)
				if err != nil {
					return fmt.Errorf("round %d %s c=%d: %w", r+1, v, c, err)
				}
				if counter != nil {
					fmt.Fprintf(o.log, "round %d c=%-3d %-13s per %d ops: %v\n", r+1, c, v, len(m.lat), counter.Snapshot().Sub(before))
				}
				res.add(c, v, m)
				fmt.Fprintf(o.log, "round %d c=%-3d %-13s %9.0f ops/s  p50 %-10v p99 %-10v cpu/op %v\n", r+1, c, v, m.opsPerSec(),
					round(m.quantile(0.5)), round(m.quantile(0.99)), round(m.cpuPerOp()))
			}
		}
	}
	res.print(o.out, o.conc, o.variants)
	if o.plotFile != "" {
		title := o.title
		if title == "" {
			title = fmt.Sprintf("idembench: %s, GOMAXPROCS=%d", o.dialect, runtime.GOMAXPROCS(0))
		}
		if err := res.plot(o.plotFile, title, o.conc, o.variants); err != nil {
			return err
		}
		fmt.Fprintf(o.log, "idembench: wrote %s\n", o.plotFile)
	}
	return nil
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "idembench: "+format+"\n", args...)
	os.Exit(2)
}
