package orders

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/idemkit/idempotency"
)

// Settings are the command-line settings both examples share.
type Settings struct {
	DB          string        // a postgres:// URL, or an SQLite file
	OrdersTable string        // the orders table
	KeysTable   string        // the idempotency table
	Mode        Mode          // tx or do
	Name        string        // this consumer's name, in its rows and logs
	Namespace   string        // idempotency.Config.Namespace
	TTL         time.Duration // how long an outcome is replayed
	Lease       time.Duration // idempotency.Config.Lease
	Wait        time.Duration // idempotency.Config.Wait
	RetryDelay  time.Duration // how long a message waits before its redelivery
	Workers     int           // messages processed at once
	FailEvery   int           // fail the first delivery of every Nth order (0: never)
	LogJSON     bool          // log JSON lines instead of text
}

// Register defines the settings' flags on fs, with their defaults.
func (s *Settings) Register(fs *flag.FlagSet) {
	host, _ := os.Hostname()
	fs.StringVar(&s.DB, "db", "orders.db", "database: a postgres:// URL, or an SQLite file that several consumers on one host can share")
	fs.StringVar(&s.OrdersTable, "orders-table", "orders", "the orders table")
	fs.StringVar(&s.KeysTable, "keys-table", "idempotency_keys", "the idempotency table")
	fs.StringVar((*string)(&s.Mode), "mode", string(Tx), "tx: TxManager commits the order row and the outcome together; do: Manager, two commits")
	fs.StringVar(&s.Name, "name", fmt.Sprintf("%s-%d", host, os.Getpid()), "this consumer's name")
	fs.StringVar(&s.Namespace, "namespace", "order-placed", "idempotency namespace: one per consuming operation")
	fs.DurationVar(&s.TTL, "ttl", 7*24*time.Hour, "how long outcomes are replayed: longer than a message can be redelivered or republished")
	fs.DurationVar(&s.Lease, "lease", 30*time.Second, "claim lease (tx: the longest a transaction stays open)")
	fs.DurationVar(&s.Wait, "wait", 0, "how long a duplicate waits for the consumer that holds its key before it is given back for redelivery")
	fs.DurationVar(&s.RetryDelay, "retry-delay", time.Second, "delay before a message that failed or was in progress is redelivered")
	fs.IntVar(&s.Workers, "workers", 4, "messages processed at once")
	fs.IntVar(&s.FailEvery, "fail-every", 0, "for demos and tests: fail the first delivery of every Nth order, as if a dependency were down")
	fs.BoolVar(&s.LogJSON, "log-json", false, "log JSON lines")
}

// Check reports settings that cannot work.
func (s *Settings) Check() error {
	var errs []error
	if s.Mode != Tx && s.Mode != Do {
		errs = append(errs, fmt.Errorf("-mode %q: want tx or do", s.Mode))
	}
	if s.Workers < 1 {
		errs = append(errs, fmt.Errorf("-workers %d: want at least 1", s.Workers))
	}
	if s.RetryDelay < 0 || s.FailEvery < 0 {
		errs = append(errs, errors.New("-retry-delay and -fail-every must not be negative"))
	}
	return errors.Join(errs...)
}

// Logger returns the logger the consumer reports each delivery to.
func (s *Settings) Logger(w io.Writer) *slog.Logger {
	if s.LogJSON {
		return slog.New(slog.NewJSONHandler(w, nil)).With("consumer", s.Name)
	}
	return slog.New(slog.NewTextHandler(w, nil)).With("consumer", s.Name)
}

// Open opens the database and returns it with the Processor that places
// orders in it.
func (s *Settings) Open(ctx context.Context) (*DB, *Processor, error) {
	db, err := Open(ctx, s.DB, s.OrdersTable, s.KeysTable)
	if err != nil {
		return nil, nil, err
	}
	p, err := NewProcessor(db, s.Mode, s.Name, idempotency.Config{
		Namespace: s.Namespace, TTL: s.TTL, Lease: s.Lease, Wait: s.Wait,
	})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, p, nil
}

// errInjected is the failure -fail-every injects.
var errInjected = errors.New("inventory service unavailable (injected by -fail-every)")

// Fault returns the failure to inject into placing o (see
// [Processor.Place]): with -fail-every N, the first delivery of every Nth
// order (by a hash of its ID, so that every consumer picks the same ones)
// fails; redeliveries succeed.
func (s *Settings) Fault(o OrderPlaced, firstDelivery bool) error {
	if s.FailEvery <= 0 || !firstDelivery {
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(o.OrderID))
	if h.Sum32()%uint32(s.FailEvery) != 0 {
		return nil
	}
	return errInjected
}
