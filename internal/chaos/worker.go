package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/sqlstore"
)

// WorkerEnv is the environment variable that carries a worker process's
// WorkerConfig, as JSON.
const WorkerEnv = "IDEM_CHAOS_WORKER"

// WorkerConfig is what one worker process runs.
type WorkerConfig struct {
	ID         int
	Dialect    sqlstore.Dialect
	Driver     string
	DSN        string // through the proxy
	Table      string
	Ledger     string
	Goroutines int
	Keys       int           // keys per namespace in one generation
	Generation time.Duration // how long one generation of keys is in use: new keys keep coming
	Until      time.Time     // when the worker stops starting calls
	Lease      time.Duration
	Seed       uint64
}

// Event is one finished call, as a worker logs it.
type Event struct {
	Worker    int    `json:"w"`
	Goroutine int    `json:"g"`
	NS        string `json:"ns"` // "do" (Manager) or "tx" (TxManager)
	Key       string `json:"k"`
	Start     int64  `json:"s"` // Unix nanoseconds
	End       int64  `json:"e"`
	Result    string `json:"r"`           // see the result constants
	Value     string `json:"v,omitempty"` // the run that produced the answer
	Err       string `json:"err,omitempty"`
}

// Results of a call.
const (
	ResultRan         = "ran"         // fn ran for this call and its outcome was recorded
	ResultReplayed    = "replayed"    // another call's recorded outcome
	ResultInProgress  = "inprogress"  // ErrInProgress
	ResultNotRecorded = "notrecorded" // fn ran, its value returned, its outcome not recorded
	ResultLeaseLost   = "leaselost"   // ErrLeaseLost
	ResultError       = "error"       // any other error: nothing is known of the outcome

	// ResultEffectUnknown is not a call's answer but fn's own note: its
	// write returned an error, so whether the write committed is unknown
	// (a commit whose reply was lost commits all the same). Value is the
	// run. Manager counts on fn's error to release the key, so a retry
	// may add a second effect: the window TxManager closes.
	ResultEffectUnknown = "effect-unknown"
)

type request struct {
	Key string `json:"key"`
}

// RunWorker runs cfg's calls until cfg.Until and writes an Event per call
// to out, one JSON object per line.
func RunWorker(ctx context.Context, cfg WorkerConfig, out io.Writer) error {
	db, err := sqlx.Open(cfg.Driver, cfg.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(cfg.Goroutines + 2)
	db.SetMaxIdleConns(cfg.Goroutines + 2)
	store, err := sqlstore.New(db, sqlstore.Config{Dialect: cfg.Dialect, Table: cfg.Table})
	if err != nil {
		return err
	}
	defer store.Close()
	mcfg := idempotency.Config{Namespace: "do", Lease: cfg.Lease}
	plain, err := idempotency.New[request, string](store, mcfg)
	if err != nil {
		return err
	}
	mcfg.Namespace = "tx"
	txm, err := idempotency.NewTx[request, string](store, mcfg)
	if err != nil {
		return err
	}
	insert := db.Rebind("INSERT INTO " + cfg.Ledger + " (ns, k, run) VALUES (?, ?, ?)")
	var runs atomic.Int64
	newRun := func() string { return fmt.Sprintf("w%d-%d", cfg.ID, runs.Add(1)) }

	w := &eventWriter{w: bufio.NewWriter(out)}
	var wg sync.WaitGroup
	for g := range cfg.Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(cfg.ID*1000+g)))
			for time.Now().Before(cfg.Until) && ctx.Err() == nil {
				gen := time.Now().UnixNano() / int64(cfg.Generation)
				key := fmt.Sprintf("g%d-k%d", gen, rng.IntN(cfg.Keys))
				ev := Event{Worker: cfg.ID, Goroutine: g, Key: key, Start: time.Now().UnixNano()}
				cctx, cancel := context.WithTimeout(ctx, 10*cfg.Lease)
				var (
					r   idempotency.Result[string]
					err error
				)
				if rng.IntN(2) == 0 {
					ev.NS = "do"
					r, err = plain.DoResult(cctx, key, request{Key: key}, func(ctx context.Context, req request) (string, error) {
						run := newRun()
						// fn's effect, in a transaction of its own: two commits.
						_, err := db.ExecContext(ctx, insert, "do", req.Key, run)
						if err != nil {
							w.write(Event{Worker: cfg.ID, Goroutine: g, NS: "do", Key: req.Key, Result: ResultEffectUnknown, Value: run, Err: err.Error()})
						}
						think(rng, cfg.Lease)
						return run, err
					})
				} else {
					ev.NS = "tx"
					r, err = txm.DoResult(cctx, key, request{Key: key}, func(ctx context.Context, tx *sqlx.Tx, req request) (string, error) {
						run := newRun()
						_, err := tx.ExecContext(ctx, insert, "tx", req.Key, run)
						think(rng, cfg.Lease)
						return run, err
					})
				}
				cancel()
				ev.End = time.Now().UnixNano()
				ev.Result, ev.Value = classify(r, err)
				if err != nil {
					ev.Err = err.Error()
				}
				w.write(ev)
				// A short pause between calls, so that replays do not
				// starve the machine the database shares.
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	return w.flush()
}

// think is fn's work after its write (a call to a payment provider,
// say): up to half a lease, so that faults also meet calls between fn's
// effect and the recorded outcome.
func think(rng *rand.Rand, lease time.Duration) {
	time.Sleep(time.Duration(rng.Int64N(int64(lease / 2))))
}

func classify(r idempotency.Result[string], err error) (result, value string) {
	switch {
	case err == nil && r.Replayed:
		return ResultReplayed, r.Value
	case err == nil:
		return ResultRan, r.Value
	case errors.Is(err, idempotency.ErrNotRecorded):
		return ResultNotRecorded, r.Value
	case errors.Is(err, idempotency.ErrInProgress):
		return ResultInProgress, ""
	case errors.Is(err, idempotency.ErrLeaseLost):
		return ResultLeaseLost, r.Value // the run, if fn returned
	}
	return ResultError, ""
}

// eventWriter writes events as JSON lines, each flushed whole, so a worker
// killed mid-call loses no finished call's line.
type eventWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (e *eventWriter) write(ev Event) {
	b, _ := json.Marshal(ev)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.Write(append(b, '\n'))
	e.w.Flush()
}

func (e *eventWriter) flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.w.Flush()
}

// WorkerMain runs the worker whose configuration is in WorkerEnv, writing
// its events to stdout, and exits. It returns false when the variable is
// not set, so a binary can call it first thing.
func WorkerMain() bool {
	raw := os.Getenv(WorkerEnv)
	if raw == "" {
		return false
	}
	var cfg WorkerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "chaos worker:", err)
		os.Exit(2)
	}
	if err := RunWorker(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chaos worker:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}
