package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"

	"github.com/idemkit/idempotency/sqlstore"
)

func ExampleNew() {
	dir, _ := os.MkdirTemp("", "sqlstore-example")
	defer os.RemoveAll(dir)

	// SQLiteDSN sets the busy timeout and WAL mode that several pools and
	// processes on one file need.
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "idem.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(sqlx.NewDb(db, "sqlite"), sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.Dialect(), store.Table())
	// Output:
	// sqlite idempotency_keys
}

func ExampleSchema() {
	// For migration tools: the same DDL Migrate runs.
	ddl, err := sqlstore.Schema(sqlstore.Postgres, "idempotency_keys")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(ddl)
	// Output:
	// CREATE TABLE IF NOT EXISTS "idempotency_keys" (
	//     namespace    text        COLLATE "C" NOT NULL,
	//     idem_key     text        COLLATE "C" NOT NULL,
	//     fingerprint  text        NOT NULL,
	//     state        smallint    NOT NULL,
	//     token        text        NOT NULL,
	//     payload      bytea,
	//     locked_until timestamptz NOT NULL,
	//     expires_at   timestamptz NOT NULL,
	//     created_at   timestamptz NOT NULL DEFAULT now(),
	//     PRIMARY KEY (namespace, idem_key)
	// );
	// CREATE INDEX IF NOT EXISTS "idempotency_keys_expires_at_idx" ON "idempotency_keys" (expires_at);
}

func ExampleClaimOrder() {
	// sql.Open connects lazily and New touches no database: nothing is
	// created here.
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(os.TempDir(), "idem-example.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The default, AdaptiveOrder, inserts first while most claims are new
	// keys and reads first once most are retries. A webhook receiver whose
	// senders retry aggressively, or a deployment where no retry may ever
	// take a lock, can pin ReadFirst and pay one read per new key.
	store, err := sqlstore.New(sqlx.NewDb(db, "sqlite"), sqlstore.Config{
		Dialect:    sqlstore.SQLite,
		ClaimOrder: sqlstore.ReadFirst,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	fmt.Println(sqlstore.AdaptiveOrder, sqlstore.ReadFirst)
	// Output:
	// adaptive read-first
}
