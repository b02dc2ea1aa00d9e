package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/internal/testredis"
	"github.com/idemkit/idempotency/redisstore"
	"github.com/idemkit/idempotency/sqlstore"
)

// spec names a store as idemctl's flags do.
type spec struct {
	Dialect, DSN, Table, Prefix string
}

// args are the flags that name the store.
func (s spec) args() []string {
	a := []string{"-dialect", s.Dialect, "-dsn", s.DSN}
	if s.Table != "" {
		a = append(a, "-table", s.Table)
	}
	if s.Prefix != "" {
		a = append(a, "-prefix", s.Prefix)
	}
	return a
}

// cmd builds an idemctl command line: the command, the store's flags,
// then the rest.
func (s spec) cmd(command string, rest ...string) []string {
	return append(append([]string{command}, s.args()...), rest...)
}

func (s spec) isRedis() bool { return strings.HasPrefix(s.Dialect, "redis") }

// target is a store for one test: how idemctl names it, and how the test
// opens it on its own, once idemctl migrate has run.
type target struct {
	name  string
	spec  spec
	store func(t *testing.T) idempotency.Store
}

// forEachTarget runs fn on a fresh store of every backend: SQLite in a
// temporary directory, PostgreSQL and MySQL when their DSNs are set (a
// table of the test's own), and Redis and the Redis Cluster when their
// addresses are (a key prefix of the test's own).
func forEachTarget(t *testing.T, fn func(t *testing.T, tg target)) {
	t.Helper()
	testdb.RequireAll(t)
	testredis.RequireAll(t)
	for _, b := range testdb.Backends() {
		if b.Driver == "postgres" {
			continue // idemctl opens PostgreSQL with pgx
		}
		t.Run(string(b.Dialect), func(t *testing.T) { fn(t, sqlTarget(t, b)) })
	}
	for _, b := range testredis.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, redisTarget(t, b)) })
	}
}

func sqlTarget(t *testing.T, b testdb.Backend) target {
	f := testdb.NewFixture(t, b)
	sp := spec{Dialect: string(b.Dialect), DSN: f.DSN, Table: f.Table}
	dsn := f.DSN
	if b.Dialect == sqlstore.SQLite {
		sp = spec{Dialect: "sqlite", DSN: filepath.Join(t.TempDir(), "idem.db")} // a path, and the default table
		dsn = sqlstore.SQLiteDSN(sp.DSN)
	}
	return target{name: string(b.Dialect), spec: sp, store: func(t *testing.T) idempotency.Store {
		db, err := sqlx.Open(b.Driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := sqlstore.New(db, sqlstore.Config{Dialect: b.Dialect, Table: sp.Table})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

func redisTarget(t *testing.T, b testredis.Backend) target {
	dialect := "redis"
	if b.Cluster {
		dialect = "redis-cluster"
	}
	prefix := b.NewPrefix(t)
	return target{name: b.Name, spec: spec{Dialect: dialect, DSN: strings.Join(b.Addrs, ","), Prefix: prefix},
		store: func(t *testing.T) idempotency.Store {
			return b.Store(t, b.Client(t), redisstore.Config{Prefix: prefix})
		}}
}

// sqliteTarget is a fresh SQLite file, migrated by idemctl.
func sqliteTarget(t *testing.T) (target, idempotency.Store) {
	tg := sqlTarget(t, testdb.Backends()[0])
	must(t, exitOK, tg.spec.cmd("migrate")...)
	return tg, tg.store(t)
}
