// Command idempotency-demo proves the library's guarantee in a few seconds: it
// starts a small payments service protected by idemhttp on a random loopback
// port, then plays a client that retries the way real clients do, and prints
// how many charges actually ran.
//
// It runs on embedded SQLite in a temporary file by default, with nothing to
// configure:
//
//	go run ./cmd/idempotency-demo
//
// The same scenario runs on a real server with
//
//	go run ./cmd/idempotency-demo -dialect postgres -dsn 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./cmd/idempotency-demo -dialect mysql -dsn 'root@tcp(127.0.0.1:3306)/test'
//	go run ./cmd/idempotency-demo -dialect redis -addr 127.0.0.1:6379
//	go run ./cmd/idempotency-demo -dialect redis-cluster -addr 127.0.0.1:30001,127.0.0.1:30002
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/idemkit/idempotency/internal/benchdb"
)

func main() {
	dialect := flag.String("dialect", "sqlite", "database: sqlite, postgres, mysql, redis or redis-cluster")
	dsn := flag.String("dsn", "", "data source name for postgres or mysql (sqlite uses a temporary file)")
	addr := flag.String("addr", "127.0.0.1:6379", "redis, redis-cluster: comma-separated server (cluster: seed) addresses")
	crashChild := flag.String("crash-child", "", "internal: run as the worker process that crashes mid-charge")
	crashMode := flag.String("crash-mode", "http", "internal: http or tx, which worker crashes")
	flag.Parse()

	if isRedis(*dialect) && *dsn == "" {
		*dsn = *addr
	}
	if *crashChild != "" {
		runChild(*dialect, *dsn, *crashChild, *crashMode)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, *dialect, *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "idempotency-demo:", err)
		os.Exit(1)
	}
}

// runChild plays one of the workers that crash, on the parent's database
// and table.
func runChild(dialect, dsn, table, mode string) {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "crash worker (%s): %v\n", mode, err)
		os.Exit(1)
	}
	d := &database{dialect: dialect, dsn: dsn, table: table}
	if !isRedis(dialect) {
		t, err := benchdb.Resolve(dialect, "", dsn, "")
		if err != nil {
			fail(err)
		}
		d.dialect, d.driver, d.dsn = string(t.Dialect), t.Driver, t.DSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if mode == "tx" {
		fail(runTxCrashChild(ctx, d))
	}
	fail(runCrashChild(ctx, d))
}
