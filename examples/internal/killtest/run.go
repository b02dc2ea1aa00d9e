package killtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

// Config is one run of the test.
type Config struct {
	Plan       PlanConfig
	Mode       orders.Mode   // the consumers' -mode
	Consumers  int           // consumer processes; the first is killed
	KillAfter  int           // the acks the first consumer logs before it is killed
	FailEvery  int           // the consumers' -fail-every
	Lease      time.Duration // the consumers' -lease
	RetryDelay time.Duration // the consumers' -retry-delay
	Timeout    time.Duration // the whole run
}

const namespace = "order-placed-test"

// Run runs the test against b and returns its counts. It fails t when an
// order was not placed exactly once (allowing, in orders.Do mode, the runs
// whose outcome the kill provably kept from being recorded, which it
// counts), when a reused ID's other body was placed or not dead-lettered,
// when the broker still holds a message, or when the run did not exercise
// what it claims (the kill, redeliveries, retries, replays).
func Run(t *testing.T, b Broker, c Config) Report {
	t.Helper()
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()

	suffix := randomSuffix()
	dsn := database(t)
	// The tables exist before the consumers start, so that they do not
	// race to create them.
	db, err := orders.Open(ctx, dsn, "orders_"+suffix, "idem_"+suffix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropTables(t, db, "orders_"+suffix, "idem_"+suffix) })

	names := make([]string, c.Consumers)
	args := make([][]string, c.Consumers)
	for i := range args {
		names[i] = fmt.Sprintf("c%d", i+1)
		args[i] = append(b.Args(),
			"-db", dsn, "-orders-table", "orders_"+suffix, "-keys-table", "idem_"+suffix,
			"-mode", string(c.Mode), "-name", names[i], "-namespace", namespace,
			"-lease", c.Lease.String(), "-retry-delay", c.RetryDelay.String(),
			"-fail-every", strconv.Itoa(c.FailEvery), "-workers", "4", "-prefetch", "16", "-log-json")
	}
	f, err := startFleet(names, args)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.kill()
		for _, p := range f.procs {
			<-p.exited
		}
		if t.Failed() {
			for _, p := range f.procs {
				t.Logf("consumer %s (%v) said:\n%s", p.name, p.err, tail(p.output.String(), 3000))
			}
		}
	})

	pubs := NewPlan(suffix, c.Plan)
	tl := newTally(pubs, c.Mode, names[0])
	if err := tl.follow(ctx, f, b, pubs, c.KillAfter); err != nil {
		t.Fatalf("%v\n%s", err, tl.status())
	}
	if err := b.Quiet(ctx, c.Consumers-1); err != nil {
		t.Fatalf("the broker did not settle with the survivors attached: %v\n%s", err, tl.status())
	}
	for i := 1; i < c.Consumers; i++ {
		f.signal(i, syscall.SIGTERM)
	}
	for ev := range f.events { // until every process has exited
		tl.add(ev)
	}
	for _, p := range f.procs[1:] {
		if p.err != nil {
			t.Errorf("consumer %s, stopped with SIGTERM: %v", p.name, p.err)
		}
	}

	rep := tl.report(c)
	if n, err := b.Leftover(ctx); err != nil || n != 0 {
		t.Errorf("the broker holds %d messages after every consumer stopped (%v): want none", n, err)
	}
	dead, err := b.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep.DeadLetters = len(dead)
	checkOutcomes(ctx, t, db, tl, dead, &rep)
	tl.checkExercised(t, c, rep)
	rep.Elapsed = time.Since(started)
	return rep
}

// dropTables drops the run's tables from PostgreSQL (an SQLite file goes
// with t's temporary directory) and closes db.
func dropTables(t *testing.T, db *orders.DB, tables ...string) {
	defer db.Close()
	if db.Dialect != "postgres" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, table := range tables {
		if _, err := db.X.ExecContext(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
			t.Errorf("drop %s: %v", table, err)
		}
	}
}

func randomSuffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := strings.IndexByte(s[len(s)-n:], '\n')
	return "…" + s[len(s)-n+i+1:]
}

// Standard is the configuration both brokers' tests run in mode: 1,000
// orders with every tenth published twice, five IDs reused with another
// body and ten orders without an ID (each published twice), three
// consumers of which the first is killed after 60 acks, and the first
// delivery of about one order in 40 failing on purpose. Manager's lease is
// short, so that the killed consumer's claims run out within the test, but
// long against a renewal on a loaded machine: a claim whose renewals stall
// for a whole lease is taken over and its order placed twice, as the
// library documents, and the test would count that against it.
func Standard(mode orders.Mode) Config {
	lease := 10 * time.Second // TxManager: the longest a transaction may stay open
	if mode == orders.Do {
		lease = 3 * time.Second
	}
	return Config{
		Plan:       PlanConfig{Orders: 1000, CopyEvery: 10, Impostors: 5, Anonymous: 10},
		Mode:       mode,
		Consumers:  3,
		KillAfter:  60,
		FailEvery:  40,
		Lease:      lease,
		RetryDelay: 100 * time.Millisecond,
		Timeout:    2 * time.Minute,
	}
}
