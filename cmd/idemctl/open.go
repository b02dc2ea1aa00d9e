package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/redisstore"
	"github.com/idemkit/idempotency/sqlstore"
)

// drivers are the database/sql drivers idemctl opens each SQL dialect with.
var drivers = map[string]string{"postgres": "pgx", "mysql": "mysql", "sqlite": "sqlite"}

// open connects to the store the options name and checks that it answers.
// create allows a SQLite file that does not exist yet (migrate). The
// returned function closes the connections.
func open(ctx context.Context, o *options, create bool, stderr io.Writer) (idempotency.Store, func(), error) {
	if o.isRedis() {
		return openRedis(ctx, o, stderr)
	}
	dsn := o.dsn
	if o.dialect == "sqlite" && !strings.HasPrefix(dsn, "file:") {
		if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) && !create {
			return nil, nil, fmt.Errorf("no SQLite database at %s: check -dsn (idemctl migrate creates one)", dsn)
		}
		dsn = sqlstore.SQLiteDSN(dsn)
	}
	db, err := sqlx.Open(drivers[o.dialect], dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("open the %s database: %w", o.dialect, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("cannot reach the %s database: %w; check -dsn", o.dialect, err)
	}
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Dialect(o.dialect), Table: o.table})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return s, func() { s.Close(); db.Close() }, nil
}

func openRedis(ctx context.Context, o *options, stderr io.Writer) (idempotency.Store, func(), error) {
	rdb, err := redisClient(o)
	if err != nil {
		return nil, nil, err
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("cannot reach %s at %s: %w; check -dsn", o.dialect, redisAddrs(rdb), err)
	}
	s, err := redisstore.New(rdb, redisstore.Config{Prefix: o.prefix, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return s, func() { rdb.Close() }, nil
}

// redisClient makes the client -dialect and -dsn describe: a redis:// URL,
// or addresses.
func redisClient(o *options) (redis.UniversalClient, error) {
	cluster := o.dialect == "redis-cluster"
	if strings.Contains(o.dsn, "://") {
		if cluster {
			opts, err := redis.ParseClusterURL(o.dsn)
			if err != nil {
				return nil, usageError("-dsn: %v", err)
			}
			return redis.NewClusterClient(opts), nil
		}
		opts, err := redis.ParseURL(o.dsn)
		if err != nil {
			return nil, usageError("-dsn: %v", err)
		}
		return redis.NewClient(opts), nil
	}
	var addrs []string
	for _, a := range strings.Split(o.dsn, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, usageError("-dsn %q holds no address: %s", o.dsn, dsnHelp(o.dialect))
	}
	if len(addrs) > 1 && !cluster {
		return nil, usageError("-dialect redis takes one address, got %d: use -dialect redis-cluster for a cluster", len(addrs))
	}
	return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, IsClusterMode: cluster}), nil
}

func redisAddrs(rdb redis.UniversalClient) string {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		return strings.Join(c.Options().Addrs, ",")
	}
	return "the given address"
}
