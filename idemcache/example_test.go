package idemcache_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
	"github.com/idemkit/idempotency/sqlstore"
)

type ChargeRequest struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

type Charge struct {
	ID string `json:"id"`
}

// A Manager with a cache: the first retry of a key reads the store and
// caches the outcome, the next ones are answered from memory; Forget drops
// the key from the store and the cache.
func Example() {
	dir, err := os.MkdirTemp("", "idemcache-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "idem.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(sqlx.NewDb(db, "sqlite"), sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	cache, err := idemcache.New(idemcache.Config{MaxEntries: 10_000, MaxBytes: 16 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	var seen bool
	obs := &idempotency.Observer{CallEnd: func(_ context.Context, _ idempotency.CallInfo, end idempotency.CallEnd) {
		seen = end.Cached
	}}
	charges, err := idempotency.New[ChargeRequest, Charge](store, idempotency.Config{
		Namespace: "charges",
		Cache:     cache,
		Observer:  obs,
	})
	if err != nil {
		log.Fatal(err)
	}

	charge := func(context.Context, ChargeRequest) (Charge, error) { return Charge{ID: "ch_1"}, nil }
	req := ChargeRequest{Account: "acct_42", Amount: 500}
	for range 3 {
		res, err := charges.DoResult(ctx, "order-1", req, charge)
		fmt.Println(res.Value.ID, "replayed:", res.Replayed, "from memory:", seen, err)
	}
	forgotten, err := charges.Forget(ctx, "order-1")
	fmt.Println("forgotten:", forgotten, err)
	res, err := charges.DoResult(ctx, "order-1", req, charge)
	fmt.Println(res.Value.ID, "replayed:", res.Replayed, "from memory:", seen, err)
	// Output:
	// ch_1 replayed: false from memory: false <nil>
	// ch_1 replayed: true from memory: false <nil>
	// ch_1 replayed: true from memory: true <nil>
	// forgotten: true <nil>
	// ch_1 replayed: false from memory: false <nil>
}
