package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers "sqlite": pure Go, no cgo

	"github.com/idemkit/idempotency/sqlstore"
)

// database is where the demo keeps its records: the DSN and table are shared
// with the worker process that crashes, as two instances of a service share
// one database.
type database struct {
	dialect sqlstore.Dialect
	dsn     string
	table   string
	cleanup func()
}

// newDatabase prepares a fresh table: in a temporary SQLite file by default,
// or on the given server.
func newDatabase(dialect, dsn string) (*database, error) {
	d := &database{dialect: sqlstore.Dialect(dialect), table: "idempotency_demo_" + randomHex(4), cleanup: func() {}}
	switch d.dialect {
	case sqlstore.SQLite:
		dir, err := os.MkdirTemp("", "idempotency-demo")
		if err != nil {
			return nil, err
		}
		d.dsn = sqlstore.SQLiteDSN(filepath.Join(dir, "demo.db"))
		d.cleanup = func() { os.RemoveAll(dir) }
	case sqlstore.Postgres, sqlstore.MySQL:
		if dsn == "" {
			return nil, fmt.Errorf("-dialect %s needs -dsn", dialect)
		}
		d.dsn = dsn
		d.cleanup = func() {
			if db, err := sql.Open(driverName(d.dialect), d.dsn); err == nil {
				_, _ = db.Exec("DROP TABLE IF EXISTS " + d.table)
				db.Close()
			}
		}
	default:
		return nil, fmt.Errorf("unknown -dialect %q: want sqlite, postgres or mysql", dialect)
	}
	return d, nil
}

func driverName(d sqlstore.Dialect) string {
	if d == sqlstore.Postgres {
		return "pgx"
	}
	return string(d)
}

// open connects a new pool and returns a migrated store.
func (d *database) open(ctx context.Context) (*sqlstore.Store, func(), error) {
	db, err := sqlx.Open(driverName(d.dialect), d.dsn)
	if err != nil {
		return nil, nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%s does not answer: %w", d.dialect, err)
	}
	store, err := sqlstore.New(db, sqlstore.Config{Dialect: d.dialect, Table: d.table})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return store, func() { store.Close(); db.Close() }, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
