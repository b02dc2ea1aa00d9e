package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency/sqlstore"
)

// TestSQLiteDSNOpensExactlyThePath: characters that SQLite's URI filenames
// give a meaning (%XX escapes, ? and #) name the file they spell, and not
// another one.
func TestSQLiteDSNOpensExactlyThePath(t *testing.T) {
	for _, name := range []string{"a#b.db", "a%41b.db", "a?b.db", "a%b.db", "plain.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			s, err := sqlstore.New(sqlx.NewDb(db, "sqlite"), sqlstore.Config{Dialect: sqlstore.SQLite})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("%q was not created; the directory holds %q", name, names)
			}
			for _, n := range names {
				if n != name && n != name+"-wal" && n != name+"-shm" {
					t.Errorf("another file was created: %q", n)
				}
			}
		})
	}
}
