package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/benchdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// Fault kinds.
const (
	FaultReset   = "reset"   // every connection cut with a TCP reset, mid-statement
	FaultStall   = "stall"   // one worker's connections black-holed for longer than the lease
	FaultRestart = "restart" // the database server restarted
	FaultKill    = "kill"    // a worker process killed with SIGKILL mid-call
)

// Faults lists every fault kind.
var Faults = []string{FaultReset, FaultStall, FaultRestart, FaultKill}

// Config is one fault run.
type Config struct {
	Dialect    sqlstore.Dialect
	Driver     string
	DSN        string // the server itself; workers reach it through a proxy
	Fault      string
	Workers    int
	Goroutines int // per worker
	Keys       int // per namespace and generation
	Duration   time.Duration
	Lease      time.Duration
	Seed       uint64
	// Spawn returns the command that runs one worker process: this binary,
	// with env added to its environment, calling WorkerMain first thing.
	Spawn func(env []string) *exec.Cmd
	Log   io.Writer // progress; nil discards it
}

// Run runs cfg's load under its fault, then checks every key's history.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	r := &runner{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x1de))}
	defer r.cleanup()
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	return r.check(ctx)
}

type runner struct {
	cfg    Config
	rng    *rand.Rand
	db     *sqlx.DB
	store  *sqlstore.Store
	table  string
	ledger string
	addr   string // the server's host:port

	proxies map[int]*Proxy // each worker reaches the server through its own

	mu      sync.Mutex
	events  []Event
	killed  map[int]bool
	nextID  int
	workers map[int]*exec.Cmd
	wg      sync.WaitGroup
	faults  int
}

func (r *runner) setup(ctx context.Context) error {
	db, err := sqlx.Open(r.cfg.Driver, r.cfg.DSN)
	if err != nil {
		return err
	}
	r.db = db
	suffix := benchdb.RandomHex(4)
	r.table, r.ledger = "idem_chaos_"+suffix, "idem_chaos_"+suffix+"_ledger"
	if r.store, err = sqlstore.New(db, sqlstore.Config{Dialect: r.cfg.Dialect, Table: r.table}); err != nil {
		return err
	}
	if err := r.store.Migrate(ctx); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+r.ledger+" (ns VARCHAR(8) NOT NULL, k VARCHAR(64) NOT NULL, run VARCHAR(64) NOT NULL)"); err != nil {
		return err
	}
	r.addr, err = serverAddr(r.cfg.Dialect, r.cfg.DSN)
	r.proxies = map[int]*Proxy{}
	return err
}

func (r *runner) cleanup() {
	r.killAll() // workers still running when the run failed
	for _, p := range r.proxies {
		p.Close()
	}
	if r.db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, t := range []string{r.table, r.ledger} {
			if t != "" {
				_, _ = r.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+t)
			}
		}
		if r.store != nil {
			r.store.Close()
		}
		r.db.Close()
	}
}

// load runs the workers for cfg.Duration, injecting the fault, and returns
// once every worker has exited.
func (r *runner) load(ctx context.Context) error {
	until := time.Now().Add(r.cfg.Duration)
	r.killed, r.workers = map[int]bool{}, map[int]*exec.Cmd{}
	for range r.cfg.Workers {
		if err := r.spawn(until); err != nil {
			return err
		}
	}
	// Faults come every one to three leases, and stop a lease before the
	// load does, so the last calls run on a healthy database.
	stopFaults := until.Add(-r.cfg.Lease)
	for {
		wait := r.cfg.Lease + time.Duration(r.rng.Int64N(int64(2*r.cfg.Lease)))
		if time.Now().Add(wait).After(stopFaults) {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			r.killAll()
			return ctx.Err()
		}
		if err := r.inject(ctx, until); err != nil {
			return err
		}
	}
	r.wg.Wait()
	return nil
}

// killAll kills every worker and waits for them, when the run is
// interrupted.
func (r *runner) killAll() {
	r.mu.Lock()
	if r.workers == nil {
		r.mu.Unlock()
		return
	}
	for id, cmd := range r.workers {
		r.killed[id] = true
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// spawn starts a worker process that runs until until.
func (r *runner) spawn(until time.Time) error {
	proxy, err := Listen(r.addr)
	if err != nil {
		return err
	}
	r.mu.Lock()
	id := r.nextID
	r.nextID++
	r.proxies[id] = proxy
	r.mu.Unlock()
	wc := WorkerConfig{
		ID: id, Dialect: r.cfg.Dialect, Driver: r.cfg.Driver, DSN: proxiedDSN(r.cfg.Dialect, r.cfg.DSN, proxy.Addr()),
		Table: r.table, Ledger: r.ledger, Goroutines: r.cfg.Goroutines, Keys: r.cfg.Keys,
		Generation: 3 * r.cfg.Lease, Until: until, Lease: r.cfg.Lease, Seed: r.cfg.Seed,
	}
	raw, err := json.Marshal(wc)
	if err != nil {
		return err
	}
	cmd := r.cfg.Spawn([]string{WorkerEnv + "=" + string(raw)})
	cmd.Stderr = r.cfg.Log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.mu.Lock()
	r.workers[id] = cmd
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				r.mu.Lock()
				r.events = append(r.events, ev)
				r.mu.Unlock()
			}
		}
		err := cmd.Wait()
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil && !r.killed[id] {
			fmt.Fprintf(r.cfg.Log, "chaos: worker %d: %v\n", id, err)
		}
		delete(r.workers, id)
	}()
	return nil
}

// inject injects one fault of the run's kind.
func (r *runner) inject(ctx context.Context, until time.Time) error {
	r.faults++
	switch r.cfg.Fault {
	case FaultReset:
		n := 0
		for _, p := range r.liveProxies() {
			n += p.Reset()
		}
		fmt.Fprintf(r.cfg.Log, "chaos: reset %d connections\n", n)
	case FaultStall:
		// One worker is cut off while the others go on: its claims'
		// leases run out and the others take its keys over, the case
		// the owner's token is there for.
		live := r.liveProxies()
		if len(live) == 0 {
			return nil
		}
		p := live[r.rng.IntN(len(live))]
		p.Stall()
		time.Sleep(r.cfg.Lease + r.cfg.Lease/2)
		p.Reset() // a black hole ends in timeouts
		p.Unstall()
		fmt.Fprintln(r.cfg.Log, "chaos: one worker partitioned for 1.5 leases")
	case FaultRestart:
		t0 := time.Now()
		if err := restart(ctx, r.cfg.Dialect, r.db); err != nil {
			return fmt.Errorf("restart %s: %w", r.cfg.Dialect, err)
		}
		fmt.Fprintf(r.cfg.Log, "chaos: restarted %s in %v\n", r.cfg.Dialect, time.Since(t0).Round(time.Millisecond))
	case FaultKill:
		r.mu.Lock()
		var ids []int
		for id := range r.workers {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		var victim *exec.Cmd
		if len(ids) > 0 {
			id := ids[r.rng.IntN(len(ids))]
			victim = r.workers[id]
			r.killed[id] = true
		}
		r.mu.Unlock()
		if victim != nil {
			_ = victim.Process.Signal(syscall.SIGKILL)
			fmt.Fprintln(r.cfg.Log, "chaos: killed a worker")
		}
		return r.spawn(until)
	default:
		return fmt.Errorf("unknown fault %q: want one of %s", r.cfg.Fault, strings.Join(Faults, ", "))
	}
	return nil
}

// liveProxies returns the proxies of the running workers, in worker order.
func (r *runner) liveProxies() []*Proxy {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []int
	for id := range r.workers {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]*Proxy, 0, len(ids))
	for _, id := range ids {
		out = append(out, r.proxies[id])
	}
	return out
}

// restart restarts the database server and waits until it answers.
func restart(ctx context.Context, d sqlstore.Dialect, db *sqlx.DB) error {
	var cmds [][]string
	switch d {
	case sqlstore.Postgres:
		versions, err := os.ReadDir("/etc/postgresql")
		if err != nil || len(versions) == 0 {
			return fmt.Errorf("no PostgreSQL cluster under /etc/postgresql: %v", err)
		}
		cmds = [][]string{{"pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "restart"}}
	case sqlstore.MySQL:
		// Stop waits until the server has exited (a shutdown through the
		// client returns before): a start while it still runs would do
		// nothing.
		cmds = [][]string{
			{"start-stop-daemon", "--stop", "--oknodo", "--retry", "TERM/60/KILL/5", "--exec", "/usr/sbin/mariadbd"},
			{"start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"},
		}
	default:
		return fmt.Errorf("cannot restart %s", d)
	}
	for _, c := range cmds {
		if out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(c, " "), err, out)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := db.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("does not answer 60s after the restart: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serverAddr is the host:port of the server in dsn.
func serverAddr(d sqlstore.Dialect, dsn string) (string, error) {
	switch d {
	case sqlstore.Postgres:
		i := strings.Index(dsn, "@")
		j := strings.IndexAny(dsn[i+1:], "/?")
		if i < 0 || j < 0 {
			return "", fmt.Errorf("want a postgres://user@host:port/db URL, got %q", dsn)
		}
		return dsn[i+1 : i+1+j], nil
	case sqlstore.MySQL:
		i := strings.Index(dsn, "tcp(")
		j := strings.Index(dsn, ")")
		if i < 0 || j < i {
			return "", fmt.Errorf("want a user@tcp(host:port)/db DSN, got %q", dsn)
		}
		return dsn[i+4 : j], nil
	}
	return "", fmt.Errorf("no server address for %s", d)
}

// proxiedDSN is dsn with its server address replaced by addr.
func proxiedDSN(d sqlstore.Dialect, dsn, addr string) string {
	old, _ := serverAddr(d, dsn)
	return strings.Replace(dsn, old, addr, 1)
}

// recover calls a key left claimed after the run with its request: the
// call either replays the key's outcome or takes the lapsed claim over. It
// returns how long that took.
func (r *runner) recover(ctx context.Context, ns, key string) (time.Duration, error) {
	m, err := idempotency.New[request, string](r.store, idempotency.Config{Namespace: ns, Lease: r.cfg.Lease, Wait: 3 * r.cfg.Lease})
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	_, err = m.Do(ctx, key, request{Key: key}, func(context.Context, request) (string, error) { return "recovered", nil })
	return time.Since(t0), err
}
