package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"text/template"
)

//go:embed schema/*.sql
var schemaFS embed.FS

var schemaTemplates = template.Must(template.ParseFS(schemaFS, "schema/*.sql"))

// Schema returns the DDL that [Store.Migrate] runs for dialect and table: for
// migration tools such as goose, golang-migrate or atlas. It is idempotent
// (IF NOT EXISTS throughout). table "" means [DefaultTable].
func Schema(dialect Dialect, table string) (string, error) {
	switch dialect {
	case Postgres, MySQL, SQLite:
	default:
		return "", fmt.Errorf("sqlstore: Schema: unknown dialect %q: want sqlstore.Postgres, sqlstore.MySQL or sqlstore.SQLite", dialect)
	}
	if table == "" {
		table = DefaultTable
	}
	if err := validTable(dialect, table); err != nil {
		return "", err
	}
	var b bytes.Buffer
	err := schemaTemplates.ExecuteTemplate(&b, string(dialect)+".sql", map[string]string{
		"Table": dialect.quote(table),
		"Index": dialect.quote(indexName(table)),
	})
	if err != nil {
		return "", fmt.Errorf("sqlstore: Schema: %w", err)
	}
	return b.String(), nil
}

// Migrate creates the store's table and index if they do not exist. It is
// idempotent and safe to run from many instances at once at start-up: on
// PostgreSQL it serialises on an advisory lock, since concurrent CREATE
// TABLE IF NOT EXISTS can fail there; MySQL and SQLite serialise DDL
// themselves. On SQLite it also switches the file to WAL mode, which lets
// readers proceed while one writer writes.
func (s *Store) Migrate(ctx context.Context) error {
	ddl, err := Schema(s.dialect, s.table)
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.wrap("migrate", err)
	}
	defer conn.Close()
	if s.dialect == SQLite {
		// Outside a transaction: SQLite cannot change the journal mode
		// inside one. The mode is stored in the file.
		if _, err := conn.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
			return s.wrap("migrate: enable WAL", err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("migrate", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it only reports ErrTxDone
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", advisoryKey(s.table)); err != nil {
			return s.wrap("migrate: advisory lock", err)
		}
	}
	for _, stmt := range splitStatements(ddl) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return s.wrap("migrate", fmt.Errorf("%w\nstatement: %s", err, stmt))
		}
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("migrate", err)
	}
	return nil
}

// splitStatements splits DDL at the semicolons that end its statements; the
// embedded schema has no semicolons inside literals.
func splitStatements(ddl string) []string {
	var out []string
	for _, part := range strings.Split(ddl, ";") {
		var lines []string
		for _, l := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			out = append(out, strings.Join(lines, "\n"))
		}
	}
	return out
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// validTable accepts identifiers only, so the name can be quoted and never
// carries SQL of its own.
func validTable(d Dialect, table string) error {
	parts := strings.Split(table, ".")
	ok := len(parts) == 1 || (len(parts) == 2 && d != SQLite)
	for _, p := range parts {
		ok = ok && identRE.MatchString(p)
	}
	if !ok {
		return fmt.Errorf("sqlstore: invalid Config.Table %q: want letters, digits and underscores, not starting with a digit, at most 63 bytes (optionally schema.table on PostgreSQL and MySQL)", table)
	}
	return nil
}

// indexName derives the expires_at index name from the table name. Index
// names are schema-wide on PostgreSQL and SQLite and cut at 63 bytes on
// PostgreSQL, so a long name is shortened with a hash of the whole name:
// two long table names never share an index.
func indexName(table string) string {
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		table = table[i+1:] // the index lives in the table's schema
	}
	name := table + "_expires_at_idx"
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(table))
	return table[:40] + "_" + hex.EncodeToString(sum[:6]) + "_exp_idx"
}

// advisoryKey is the PostgreSQL advisory lock that serialises migrations of
// one table.
func advisoryKey(table string) int64 {
	h := fnv.New64a()
	h.Write([]byte("idempotency.sqlstore.migrate:" + table))
	return int64(h.Sum64())
}
