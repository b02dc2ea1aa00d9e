package main

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency/internal/benchdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// database is where the demo keeps its records: the DSN and table are shared
// with the worker process that crashes, as two instances of a service share
// one database.
type database struct {
	dialect sqlstore.Dialect
	driver  string
	dsn     string
	table   string
	cleanup func()
}

// newDatabase prepares a fresh table: in a temporary SQLite file by default,
// or on the given server.
func newDatabase(dialect, dsn string) (*database, error) {
	t, err := benchdb.Resolve(dialect, "", dsn, "idempotency-demo")
	if err != nil {
		return nil, err
	}
	d := &database{dialect: t.Dialect, driver: t.Driver, dsn: t.DSN, table: "idempotency_demo_" + benchdb.RandomHex(4)}
	d.cleanup = func() {
		if d.dialect != sqlstore.SQLite {
			if db, err := sql.Open(d.driver, d.dsn); err == nil {
				_, _ = db.Exec("DROP TABLE IF EXISTS " + d.table)
				_, _ = db.Exec("DROP TABLE IF EXISTS " + d.ledgerTable())
				db.Close()
			}
		}
		t.Cleanup()
	}
	return d, nil
}

// open connects a new pool and returns a migrated store.
func (d *database) open(ctx context.Context) (*sqlstore.Store, func(), error) {
	db, err := sqlx.Open(d.driver, d.dsn)
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
