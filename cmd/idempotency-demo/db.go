package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/benchdb"
	"github.com/idemkit/idempotency/internal/rediskeys"
	"github.com/idemkit/idempotency/redisstore"
	"github.com/idemkit/idempotency/sqlstore"
)

// database is where the demo keeps its records: the DSN and table (on
// Redis, the addresses and key prefix) are shared with the worker process
// that crashes, as two instances of a service share one database.
type database struct {
	dialect string // sqlite, postgres, mysql, redis or redis-cluster
	driver  string
	dsn     string // on Redis, comma-separated addresses
	table   string // on Redis, the key prefix
	cleanup func()
}

func isRedis(dialect string) bool { return dialect == "redis" || dialect == "redis-cluster" }

// newDatabase prepares a fresh table: in a temporary SQLite file by default,
// or on the given server; on Redis, a fresh key prefix.
func newDatabase(dialect, dsn string) (*database, error) {
	if isRedis(dialect) {
		d := &database{dialect: dialect, dsn: dsn, table: "idempotency-demo-" + benchdb.RandomHex(4)}
		d.cleanup = d.deleteRedisKeys
		return d, nil
	}
	t, err := benchdb.Resolve(dialect, "", dsn, "idempotency-demo")
	if err != nil {
		return nil, err
	}
	d := &database{dialect: string(t.Dialect), driver: t.Driver, dsn: t.DSN, table: "idempotency_demo_" + benchdb.RandomHex(4)}
	d.cleanup = func() {
		if t.Dialect != sqlstore.SQLite {
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

// open connects a new pool (or Redis client) and returns a store on it.
func (d *database) open(ctx context.Context) (idempotency.Store, func(), error) {
	if !isRedis(d.dialect) {
		return d.openSQL(ctx)
	}
	rdb := d.redisClient()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("%s does not answer at %s: %w", d.dialect, d.dsn, err)
	}
	store, err := redisstore.New(rdb, redisstore.Config{Prefix: d.table})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return store, func() { rdb.Close() }, nil
}

func (d *database) redisClient() redis.UniversalClient {
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:         strings.Split(d.dsn, ","),
		IsClusterMode: d.dialect == "redis-cluster",
	})
}

// deleteRedisKeys deletes the demo's keys, on every primary of a cluster.
func (d *database) deleteRedisKeys() {
	rdb := d.redisClient()
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = rediskeys.DeletePrefix(ctx, rdb, d.table)
}

// openSQL connects a new pool and returns a migrated SQL store.
func (d *database) openSQL(ctx context.Context) (*sqlstore.Store, func(), error) {
	db, err := sqlx.Open(d.driver, d.dsn)
	if err != nil {
		return nil, nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%s does not answer: %w", d.dialect, err)
	}
	store, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Dialect(d.dialect), Table: d.table})
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
