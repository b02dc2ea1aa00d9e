// Package testdb opens the databases the tests run on: SQLite always, and
// PostgreSQL (through lib/pq and pgx) and MySQL when their DSNs are set in
// IDEMPOTENCY_TEST_POSTGRES_DSN and IDEMPOTENCY_TEST_MYSQL_DSN. With
// IDEMPOTENCY_TEST_REQUIRE_DB=1 (CI sets it) a missing DSN or a database that
// does not answer fails the test instead of skipping it.
//
// Every store gets its own table with a random suffix, dropped in t.Cleanup,
// so tests can run in parallel.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // registers "postgres"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/idemkit/idempotency/sqlstore"
)

// Environment variables read by this package.
const (
	EnvPostgres = "IDEMPOTENCY_TEST_POSTGRES_DSN"
	EnvMySQL    = "IDEMPOTENCY_TEST_MYSQL_DSN"
	EnvRequire  = "IDEMPOTENCY_TEST_REQUIRE_DB"
)

// Backend is one database and driver the tests run against.
type Backend struct {
	Name    string // subtest name: sqlite, postgres-pq, postgres-pgx, mysql
	Dialect sqlstore.Dialect
	Driver  string // database/sql driver name
	DSN     string // "" for SQLite: each store gets a new file
}

// Backends lists every backend: SQLite, then the server databases whose DSN
// is set.
func Backends() []Backend {
	bs := []Backend{{Name: "sqlite", Dialect: sqlstore.SQLite, Driver: "sqlite"}}
	if dsn := os.Getenv(EnvPostgres); dsn != "" {
		bs = append(bs,
			Backend{Name: "postgres-pq", Dialect: sqlstore.Postgres, Driver: "postgres", DSN: dsn},
			Backend{Name: "postgres-pgx", Dialect: sqlstore.Postgres, Driver: "pgx", DSN: dsn})
	}
	if dsn := os.Getenv(EnvMySQL); dsn != "" {
		bs = append(bs, Backend{Name: "mysql", Dialect: sqlstore.MySQL, Driver: "mysql", DSN: dsn})
	}
	return bs
}

// RequireAll fails t when IDEMPOTENCY_TEST_REQUIRE_DB=1 and a server
// database's DSN is missing; otherwise it logs which backends are skipped.
func RequireAll(t testing.TB) {
	t.Helper()
	for _, env := range []string{EnvPostgres, EnvMySQL} {
		if os.Getenv(env) != "" {
			continue
		}
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set but %s=1: set it to a reachable database", env, EnvRequire)
		}
		t.Logf("%s not set: skipping that backend", env)
	}
}

// ForEach runs fn as a subtest for every backend.
func ForEach(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	RequireAll(t)
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// Fixture is a database and a fresh table for one test.
type Fixture struct {
	Backend Backend
	Table   string
	DSN     string // the DSN to open more pools on the same database
}

// NewFixture prepares a fresh table name (and, for SQLite, a new file) and
// drops the table when t ends.
func NewFixture(t testing.TB, b Backend) *Fixture {
	t.Helper()
	f := &Fixture{Backend: b, Table: "idem_test_" + randomSuffix(), DSN: b.DSN}
	if b.Dialect == sqlstore.SQLite {
		f.DSN = sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "idem.db"))
		return f
	}
	t.Cleanup(func() {
		db, err := sql.Open(b.Driver, b.DSN)
		if err != nil {
			t.Errorf("drop test table: %v", err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+f.Table); err != nil {
			t.Errorf("drop test table %s: %v", f.Table, err)
		}
	})
	return f
}

// Open opens a new pool on the fixture's database, closed when t ends, and
// fails t when the database does not answer.
func (f *Fixture) Open(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open(f.Backend.Driver, f.DSN)
	if err != nil {
		t.Fatalf("open %s: %v", f.Backend.Name, err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("%s does not answer at %s: %v", f.Backend.Name, f.DSN, err)
	}
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	return db
}

// Store opens a new pool and returns a migrated store on the fixture's table.
func (f *Fixture) Store(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(f.Open(t), sqlstore.Config{Dialect: f.Backend.Dialect, Table: f.Table})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewStore returns a migrated store on a fresh table of b.
func NewStore(t testing.TB, b Backend) *sqlstore.Store {
	t.Helper()
	return NewFixture(t, b).Store(t)
}

var randMu sync.Mutex

func randomSuffix() string {
	randMu.Lock()
	defer randMu.Unlock()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
