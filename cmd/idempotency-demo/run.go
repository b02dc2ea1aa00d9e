package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// networkDelay is how long the simulated card network takes per charge.
const networkDelay = 200 * time.Millisecond

func run(ctx context.Context, dialect, dsn string) error {
	d, err := newDatabase(dialect, dsn)
	if err != nil {
		return err
	}
	defer d.cleanup()
	store, closeStore, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()

	var l ledger
	h, err := newPaymentsHandler(store, chargeCard(&l, networkDelay))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	where := "table"
	if isRedis(d.dialect) {
		where = "key prefix"
	}
	fmt.Printf("payments service on http://%s, records in %s (%s %s)\n\n", ln.Addr(), d.dialect, where, d.table)

	c := &client{base: "http://" + ln.Addr().String(), http: &http.Client{Timeout: 30 * time.Second}}
	steps := []func() (*tally, error){
		func() (*tally, error) { return c.burst(ctx, &l, 50) },
		func() (*tally, error) { return c.timeoutRetry(ctx, &l, networkDelay) },
		func() (*tally, error) { return c.mismatch(ctx, &l) },
		func() (*tally, error) { return c.otherAccount(ctx, &l) },
		func() (*tally, error) { return c.crashRecovery(ctx, d, &l) },
	}
	if isRedis(d.dialect) {
		fmt.Print("(TxManager commits fn's writes with the outcome in one SQL transaction: its scenario runs on the SQL databases only)\n\n")
	} else {
		steps = append(steps, func() (*tally, error) { return txCrashRecovery(ctx, d) })
	}
	var rows []*tally
	for _, step := range steps {
		t, err := step()
		if err != nil {
			return err
		}
		rows = append(rows, t)
	}
	printTable(rows)

	for _, t := range rows {
		if t.executed > 1 {
			return errors.New("a key was charged more than once: the guarantee is broken")
		}
	}
	fmt.Println("\nEvery key was charged at most once; every retry got the first outcome.")
	return nil
}

func printTable(rows []*tally) {
	const row = "%-36s %8v %7v %7v %7v %7v %7v %7v %9v\n"
	fmt.Printf(row, "scenario", "requests", "charges", "first", "replays", "409", "422", "dropped", "recovered")
	var sum tally
	sum.name = "total"
	for _, t := range append(rows, &sum) {
		fmt.Printf(row, t.name, t.sent, t.executed, t.firstRuns, t.replays, t.conflicts, t.mismatches, t.transport, t.recovered)
		if t == &sum {
			break
		}
		sum.sent += t.sent
		sum.executed += t.executed
		sum.firstRuns += t.firstRuns
		sum.replays += t.replays
		sum.conflicts += t.conflicts
		sum.mismatches += t.mismatches
		sum.transport += t.transport
		sum.recovered += t.recovered
	}
	fmt.Println(`
charges:   charges the service actually ran (at most 1 per account and key)
first:     answers produced by running the handler; replays: answers from the store
409:       "still in flight, retry later"; 422: key reused for another request
dropped:   client timeouts and connections cut by the crashed worker
recovered: keys freed after a crashed worker's lease ran out (or, in a transaction,
           at once), then charged once`)
}
