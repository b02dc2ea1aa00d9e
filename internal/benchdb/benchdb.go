// Package benchdb resolves where the repository's programs (the demo, the
// load tools) keep their records: the database/sql driver for a dialect, and
// a temporary SQLite file when no DSN is given. It registers every driver
// those programs can use.
package benchdb

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/lib/pq"              // registers "postgres"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/idemkit/idempotency/sqlstore"
)

// Target is a resolved database: a driver and a DSN. Its zero value names
// none. It is not safe for concurrent Cleanup calls.
type Target struct {
	Dialect sqlstore.Dialect
	Driver  string
	DSN     string
	tmpDir  string
}

// Resolve picks the driver for dialect (driver "" means pgx, mysql or
// sqlite) and the DSN: dsn itself, or for SQLite without one a new file in a
// temporary directory named after prefix, removed by Cleanup.
func Resolve(dialect, driver, dsn, prefix string) (*Target, error) {
	t := &Target{Dialect: sqlstore.Dialect(dialect), Driver: driver, DSN: dsn}
	defaults := map[sqlstore.Dialect]string{sqlstore.Postgres: "pgx", sqlstore.MySQL: "mysql", sqlstore.SQLite: "sqlite"}
	def, ok := defaults[t.Dialect]
	if !ok {
		return nil, fmt.Errorf("-dialect %q: want postgres, mysql or sqlite", dialect)
	}
	if t.Driver == "" {
		t.Driver = def
	}
	if t.DSN != "" {
		return t, nil
	}
	if t.Dialect != sqlstore.SQLite {
		return nil, fmt.Errorf("-dsn is required for %s", t.Dialect)
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	t.tmpDir = dir
	t.DSN = sqlstore.SQLiteDSN(filepath.Join(dir, prefix+".db"))
	return t, nil
}

// Cleanup removes the temporary SQLite directory, if Resolve made one.
func (t *Target) Cleanup() {
	if t.tmpDir != "" {
		os.RemoveAll(t.tmpDir)
		t.tmpDir = ""
	}
}

// Quote quotes a plain identifier for dialect d.
func Quote(d sqlstore.Dialect, ident string) string {
	if d == sqlstore.MySQL {
		return "`" + ident + "`"
	}
	return `"` + ident + `"`
}

// RandomHex returns n random bytes, hex encoded: table names and run IDs.
func RandomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}
