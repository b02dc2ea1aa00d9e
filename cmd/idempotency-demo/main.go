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
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	dialect := flag.String("dialect", "sqlite", "database: sqlite, postgres or mysql")
	dsn := flag.String("dsn", "", "data source name for postgres or mysql (sqlite uses a temporary file)")
	crashChild := flag.String("crash-child", "", "internal: run as the worker process that crashes mid-charge")
	crashMode := flag.String("crash-mode", "http", "internal: http or tx, which worker crashes")
	flag.Parse()

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

// runChild plays one of the workers that crash.
func runChild(dialect, dsn, table, mode string) {
	if mode == "tx" {
		runTxCrashChild(dialect, dsn, table)
		return
	}
	runCrashChild(dialect, dsn, table)
}
