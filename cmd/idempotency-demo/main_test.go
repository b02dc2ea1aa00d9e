package main

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/internal/testredis"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestMain lets the test binary play the crashing worker, which the demo
// starts by re-executing its own binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-crash-child" {
		fs := flag.NewFlagSet("crash-child", flag.ExitOnError)
		table := fs.String("crash-child", "", "")
		dialect := fs.String("dialect", "", "")
		dsn := fs.String("dsn", "", "")
		mode := fs.String("crash-mode", "http", "")
		_ = fs.Parse(os.Args[1:])
		runChild(*dialect, *dsn, *table, *mode)
		return
	}
	os.Exit(m.Run())
}

// TestDemo runs the whole demo scenario on every backend; run fails when a
// key is charged twice or a retry is not answered as the scenario expects.
func TestDemo(t *testing.T) {
	testdb.RequireAll(t)
	seen := map[sqlstore.Dialect]bool{}
	for _, b := range testdb.Backends() {
		if seen[b.Dialect] {
			continue // the demo picks its own driver per dialect
		}
		seen[b.Dialect] = true
		t.Run(string(b.Dialect), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dsn := b.DSN
			if b.Dialect == sqlstore.SQLite {
				dsn = ""
			}
			if err := run(ctx, string(b.Dialect), dsn); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDemoOnRedis runs the scenario on one Redis and on the cluster (the
// TxManager scenario needs SQL and is skipped there).
func TestDemoOnRedis(t *testing.T) {
	testredis.ForEach(t, func(t *testing.T, b testredis.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := run(ctx, b.Name, strings.Join(b.Addrs, ",")); err != nil {
			t.Fatal(err)
		}
	})
}
