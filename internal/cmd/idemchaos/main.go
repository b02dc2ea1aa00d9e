// Command idemchaos runs idempotency's calls under faults on PostgreSQL or
// MariaDB and checks every history (see package internal/chaos): worker
// processes calling Manager.Do and TxManager.Do through a TCP proxy that
// cuts and stalls connections, database restarts, workers killed mid-call.
// It prints one table row per fault kind and exits 1 when a history breaks
// the guarantee.
//
//	go run ./internal/cmd/idemchaos -dialect postgres -dsn 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -duration 10m
//	go run ./internal/cmd/idemchaos -dialect mysql -dsn 'root@tcp(127.0.0.1:3306)/test' -faults reset,kill
//
// The restart fault restarts the server itself (pg_ctlcluster, or
// mariadb-admin shutdown and mariadbd started again): run it on a machine
// whose database nothing else is using.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/idemkit/idempotency/internal/benchdb"
	"github.com/idemkit/idempotency/internal/chaos"
)

func main() {
	chaos.WorkerMain() // when this process is one of the workers
	dialect := flag.String("dialect", "postgres", "postgres or mysql")
	driver := flag.String("driver", "", "database/sql driver; default pgx for postgres, mysql")
	dsn := flag.String("dsn", "", "data source name of the server")
	faults := flag.String("faults", strings.Join(chaos.Faults, ","), "comma-separated fault kinds, one run each")
	duration := flag.Duration("duration", time.Minute, "load per fault kind")
	workers := flag.Int("workers", 3, "worker processes")
	goroutines := flag.Int("goroutines", 8, "calling goroutines per worker")
	keys := flag.Int("keys", 30, "keys per namespace in use at once: few, so that calls collide")
	lease := flag.Duration("lease", time.Second, "Config.Lease of every call")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the fault schedule and the key choice")
	flag.Parse()

	t, err := benchdb.Resolve(*dialect, *driver, *dsn, "idemchaos")
	if err != nil {
		fatal(err)
	}
	defer t.Cleanup()
	exe, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("# idemchaos: %s via %s, seed %d, %v per fault, %d workers x %d goroutines, %d keys, lease %v\n\n%s\n",
		t.Dialect, t.Driver, *seed, *duration, *workers, *goroutines, *keys, *lease, chaos.ReportHeader)
	ok := true
	for _, fault := range strings.Split(*faults, ",") {
		rep, err := chaos.Run(ctx, chaos.Config{
			Dialect: t.Dialect, Driver: t.Driver, DSN: t.DSN, Fault: strings.TrimSpace(fault),
			Workers: *workers, Goroutines: *goroutines, Keys: *keys, Duration: *duration, Lease: *lease, Seed: *seed,
			Spawn: func(env []string) *exec.Cmd {
				cmd := exec.Command(exe)
				cmd.Env = append(os.Environ(), env...)
				return cmd
			},
			Log: os.Stderr,
		})
		if err != nil {
			fatal(fmt.Errorf("%s: %w", fault, err))
		}
		rep.Print(os.Stdout)
		ok = ok && rep.OK()
	}
	if !ok {
		fmt.Println("\nA history broke the guarantee: see the problems listed under its row.")
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "idemchaos:", err)
	os.Exit(2)
}
