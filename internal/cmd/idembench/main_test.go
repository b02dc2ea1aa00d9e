package main

import (
	"bytes"
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"

	"github.com/idemkit/idempotency/internal/testdb"
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
			conc: []int{1, 3}, n: 20, rounds: 2, warmup: 5, prefill: 1100, replayKeys: 10, maxIdle: -1,
			variants: allVariants, count: true, out: &out, log: &log,
		}
		if err := run(context.Background(), o); err != nil {
			t.Fatalf("run: %v\nlog:\n%s", err, log.String())
		}
		report := out.String()
		for _, want := range []string{"## 1 concurrent", "## 3 concurrent", "| do-new |", "| do-mix |", "| floor-decode |", "| mix, 1 in 10 a retry: Do / floor |", "| (a)/(c) new key: Do / floor |", "| (b)/(c) replay: Do / floor |", "| (a)/(d) new key: Do / naive |"} {
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
