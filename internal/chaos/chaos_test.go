package chaos_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idempotency/internal/chaos"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// Environment of the fault test.
const (
	envChaos    = "IDEMPOTENCY_TEST_CHAOS"          // 1 runs it
	envDuration = "IDEMPOTENCY_TEST_CHAOS_DURATION" // per fault and server; default 12s
)

// TestMain lets the test binary play the worker processes.
func TestMain(m *testing.M) {
	chaos.WorkerMain()
	os.Exit(m.Run())
}

// TestFaults runs each fault kind on PostgreSQL and MariaDB under load and
// checks every history. It restarts the database servers, so it runs only
// when IDEMPOTENCY_TEST_CHAOS=1: .ci/run runs it in a step of its own,
// after the other tests, which use the same servers.
func TestFaults(t *testing.T) {
	if os.Getenv(envChaos) != "1" {
		t.Skip(envChaos + " is not 1: the fault test restarts the database servers; .ci/run runs it on its own after the other tests")
	}
	testdb.RequireAll(t)
	duration := 12 * time.Second
	if s := os.Getenv(envDuration); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%s=%q: %v", envDuration, s, err)
		}
		duration = d
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for _, b := range testdb.Backends() {
		if b.Dialect == sqlstore.SQLite || b.Driver == "postgres" {
			continue // a server to cut and restart, through one driver each
		}
		t.Run(b.Name, func(t *testing.T) {
			var table strings.Builder
			table.WriteString(chaos.ReportHeader + "\n")
			for _, fault := range chaos.Faults {
				var log strings.Builder
				rep, err := chaos.Run(context.Background(), chaos.Config{
					Dialect: b.Dialect, Driver: b.Driver, DSN: b.DSN, Fault: fault,
					Workers: 3, Goroutines: 8, Keys: 30, Duration: duration, Lease: time.Second, Seed: seed,
					Spawn: func(env []string) *exec.Cmd {
						cmd := exec.Command(os.Args[0], "-test.run=^$")
						cmd.Env = append(os.Environ(), env...)
						return cmd
					},
					Log: &log,
				})
				if err != nil {
					t.Fatalf("%s: %v\n%s", fault, err, log.String())
				}
				rep.Print(&table)
				if !rep.OK() {
					t.Errorf("%s: the histories break the guarantee (seed %s)", fault, strconv.FormatUint(seed, 10))
				}
				if rep.By[chaos.ResultRan] == 0 || rep.Faults == 0 {
					t.Errorf("%s: %d calls ran fn and %d faults: the run tested nothing", fault, rep.By[chaos.ResultRan], rep.Faults)
				}
			}
			t.Log("\n" + table.String())
		})
	}
}
