package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/internal/testredis"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestRun runs every variant briefly on every backend, with a prefilled
// table and the counting driver, and checks the report and that the table is
// dropped afterwards.
func TestRun(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		var out, log bytes.Buffer
		o := options{
			dialect: string(b.Dialect), driver: b.Driver, dsn: b.DSN,
			conc: []int{1, 3}, n: 20, rounds: 2, warmup: 5, prefill: 1100, replayKeys: 10, hotKeys: 3, maxIdle: -1,
			variants: allVariants, count: true, out: &out, log: &log,
		}
		if err := run(context.Background(), o); err != nil {
			t.Fatalf("run: %v\nlog:\n%s", err, log.String())
		}
		report := out.String()
		for _, want := range []string{"## 1 concurrent", "## 3 concurrent", "| do-new |", "| do-mix |", "| floor-decode |", "| mix, 1 in 10 a retry: Do / floor |", "| (a)/(c) new key: Do / floor |", "| (b)/(c) replay: Do / floor |", "| (a)/(d) new key: Do / naive |",
			"| cached-hot |", "| hot replay: Do with cache / floor |", "| new key: Do with cache / Do |"} {
			if !strings.Contains(report, want) {
				t.Errorf("report lacks %q:\n%s", want, report)
			}
		}
		// Every operation of a replay variant is exactly one statement.
		if !strings.Contains(log.String(), "floor-replay  per 20 ops: statements{SELECT=20}") {
			t.Errorf("floor-replay did not count one SELECT per operation:\n%s", log.String())
		}
		if b.Dialect == sqlstore.SQLite {
			return // the temporary file is gone with its directory
		}
		table := regexp.MustCompile(`table (idembench_[0-9a-f]+)`).FindStringSubmatch(report)
		if table == nil {
			t.Fatalf("report does not name its table:\n%s", report)
		}
		db, err := sql.Open(b.Driver, b.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '` + table[1] + `'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("table %s was not dropped", table[1])
		}
	})
}

// TestRunRedis runs the Redis variants briefly on one node and on the
// cluster, beside Do on PostgreSQL when its DSN is set, and checks the
// report and that no key of the run is left.
func TestRunRedis(t *testing.T) {
	testredis.ForEach(t, func(t *testing.T, b testredis.Backend) {
		var out, log bytes.Buffer
		o := options{
			dialect: b.Name, addrs: b.Addrs, pgDSN: os.Getenv(testdb.EnvPostgres),
			conc: []int{1, 3}, n: 20, rounds: 2, warmup: 5, replayKeys: 10, hotKeys: 3, maxIdle: -1,
			variants: append(slices.Clone(redisVariants), storeNew, storeReplay, cachedNew, cachedReplay, doHot, cachedHot, floorHot), out: &out, log: &log,
		}
		if o.pgDSN != "" {
			o.variants = append(o.variants, pgDoNew, pgDoReplay)
		}
		if err := run(context.Background(), o); err != nil {
			t.Fatalf("run: %v\nlog:\n%s", err, log.String())
		}
		report := out.String()
		want := []string{"| do-new |", "| floor-new |", "| store-replay |", "| (a)/(c) new key: Do / floor |", "| (b)/(c) replay: Do / floor |",
			"| hot replay: Do with cache / floor |"}
		if o.pgDSN != "" {
			want = append(want, "| new key: Do on Redis / Do on PostgreSQL |")
		}
		for _, w := range want {
			if !strings.Contains(report, w) {
				t.Errorf("report lacks %q:\n%s", w, report)
			}
		}
		prefix := regexp.MustCompile(`prefix (idembench-[0-9a-f]+)`).FindStringSubmatch(report)
		if prefix == nil {
			t.Fatalf("report does not name its prefix:\n%s", report)
		}
		c := b.Client(t)
		var mu sync.Mutex // ForEachMaster scans the primaries in parallel
		var left []string
		scan := func(ctx context.Context, node redis.Cmdable) error {
			keys, err := node.Keys(ctx, prefix[1]+":*").Result()
			mu.Lock()
			left = append(left, keys...)
			mu.Unlock()
			return err
		}
		var err error
		if cc, ok := c.(*redis.ClusterClient); ok {
			err = cc.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
		} else {
			err = scan(context.Background(), c)
		}
		if err != nil || len(left) > 0 {
			t.Errorf("keys left under %s: %v, %v", prefix[1], left, err)
		}
	})
}
