package idempotency_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/sqlstore"
)

type ChargeRequest struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"` // cents
}

type Charge struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
}

// openStore opens an embedded SQLite store in a temporary directory; a real
// service opens PostgreSQL or MySQL the same way with its own driver.
func openStore() (*sqlstore.Store, func()) {
	_, store, closeAll := openDBAndStore()
	return store, closeAll
}

// openDBAndStore is openStore that also returns the pool, for examples whose
// functions write rows of their own.
func openDBAndStore() (*sqlx.DB, *sqlstore.Store, func()) {
	dir, err := os.MkdirTemp("", "idempotency-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "idem.db")))
	if err != nil {
		log.Fatal(err)
	}
	dbx := sqlx.NewDb(db, "sqlite")
	store, err := sqlstore.New(dbx, sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		log.Fatal(err)
	}
	return dbx, store, func() { store.Close(); db.Close(); os.RemoveAll(dir) }
}

func Example() {
	store, closeStore := openStore()
	defer closeStore()

	charges, err := idempotency.New[ChargeRequest, Charge](store, idempotency.Config{Namespace: "charges"})
	if err != nil {
		log.Fatal(err)
	}
	chargeCard := func(ctx context.Context, req ChargeRequest) (Charge, error) {
		fmt.Println("charging", req.Account, req.Amount)
		return Charge{ID: "ch_1", Amount: req.Amount}, nil
	}

	ctx := context.Background()
	req := ChargeRequest{Account: "acct_42", Amount: 1999}
	for range 3 { // the client retries; the card is charged once
		charge, err := charges.Do(ctx, "order-7f3a", req, chargeCard)
		fmt.Println(charge.ID, err)
	}
	// Output:
	// charging acct_42 1999
	// ch_1 <nil>
	// ch_1 <nil>
	// ch_1 <nil>
}

func ExampleManager_DoResult() {
	store, closeStore := openStore()
	defer closeStore()
	m, _ := idempotency.New[ChargeRequest, Charge](store, idempotency.Config{Namespace: "charges"})
	fn := func(ctx context.Context, req ChargeRequest) (Charge, error) {
		return Charge{ID: "ch_1", Amount: req.Amount}, nil
	}

	req := ChargeRequest{Account: "acct_42", Amount: 1999}
	for range 2 {
		res, err := m.DoResult(context.Background(), "order-7f3a", req, fn)
		if err != nil {
			log.Fatal(err)
		}
		// For example: w.Header().Set("Idempotent-Replayed", "true")
		fmt.Printf("%s replayed=%v\n", res.Value.ID, res.Replayed)
	}
	// Output:
	// ch_1 replayed=false
	// ch_1 replayed=true
}

func ExampleManager_Do_mismatch() {
	store, closeStore := openStore()
	defer closeStore()
	m, _ := idempotency.New[ChargeRequest, Charge](store, idempotency.Config{Namespace: "charges"})
	fn := func(ctx context.Context, req ChargeRequest) (Charge, error) {
		return Charge{ID: "ch_1", Amount: req.Amount}, nil
	}

	ctx := context.Background()
	_, _ = m.Do(ctx, "order-7f3a", ChargeRequest{Account: "acct_42", Amount: 1999}, fn)
	// The same key with another amount is a client bug, not a retry.
	_, err := m.Do(ctx, "order-7f3a", ChargeRequest{Account: "acct_42", Amount: 5000}, fn)
	fmt.Println(errors.Is(err, idempotency.ErrRequestMismatch))
	// Output:
	// true
}

func ExamplePermanent() {
	store, closeStore := openStore()
	defer closeStore()
	m, _ := idempotency.New[ChargeRequest, Charge](store, idempotency.Config{Namespace: "charges"})
	errDeclined := errors.New("card declined")
	fn := func(ctx context.Context, req ChargeRequest) (Charge, error) {
		// A retry cannot make a declined card work: record the failure.
		return Charge{}, idempotency.Permanent(errDeclined)
	}

	ctx := context.Background()
	req := ChargeRequest{Account: "acct_42", Amount: 1999}
	_, err := m.Do(ctx, "order-7f3a", req, fn)
	fmt.Println("first:", err, errors.Is(err, errDeclined))

	_, err = m.Do(ctx, "order-7f3a", req, fn)
	var stored *idempotency.StoredError
	fmt.Println("retry:", err, errors.As(err, &stored))
	// Output:
	// first: card declined true
	// retry: card declined true
}

func ExampleCleaner() {
	store, closeStore := openStore()
	defer closeStore()

	cleaner := idempotency.NewCleaner(store, idempotency.CleanerConfig{BatchSize: 500})
	cleaner.Start()      // a pass now, then one every 5 minutes
	defer cleaner.Stop() // returns once the background goroutine has exited

	// Or one pass on demand, for a cron job:
	deleted, err := cleaner.RunOnce(context.Background())
	fmt.Println(deleted, err)
	// Output:
	// 0 <nil>
}

func ExampleFingerprint() {
	// A map and a struct with the same JSON are the same request.
	a, _ := idempotency.Fingerprint(map[string]any{"amount": 1999, "account": "acct_42"})
	b, _ := idempotency.Fingerprint(ChargeRequest{Account: "acct_42", Amount: 1999})
	fmt.Println(a == b, len(a))

	canon, _ := idempotency.Canonical(map[string]any{"b": 1e21, "a": "<é>"})
	fmt.Println(string(canon))
	// Output:
	// true 64
	// {"a":"<é>","b":1e+21}
}
