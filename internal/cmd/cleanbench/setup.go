package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/benchdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// bench holds one run's pool, store and Manager.
type bench struct {
	dialect sqlstore.Dialect
	driver  string
	db      *sqlx.DB
	table   string // quoted
	target  *benchdb.Target
	store   *sqlstore.Store
	mgr     *idempotency.Manager[string, string] // new keys
	oldMgr  *idempotency.Manager[string, string] // the filled rows' namespace
	runID   string
	fills   int
	ordered bool   // keys in expiry order rather than random
	prefix  string // of the keys of the last fill
	filled  int    // rows in the last fill
	batches *timedStore
}

func setup(ctx context.Context, o options) (*bench, error) {
	t, err := benchdb.Resolve(o.dialect, o.driver, o.dsn, "cleanbench")
	if err != nil {
		return nil, err
	}
	b := &bench{dialect: t.Dialect, driver: t.Driver, target: t, runID: benchdb.RandomHex(4), ordered: o.ordered}
	db, err := sqlx.Open(b.driver, t.DSN)
	if err != nil {
		b.target.Cleanup()
		return nil, fmt.Errorf("open %s: %w", b.driver, err)
	}
	b.db = db
	// The Do callers, the cleaner and the fill each get a connection.
	db.SetMaxOpenConns(o.conc + 4)
	db.SetMaxIdleConns(o.conc + 4)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		b.target.Cleanup()
		return nil, fmt.Errorf("%s does not answer: %w", b.dialect, err)
	}
	name := "cleanbench_" + b.runID
	b.table = benchdb.Quote(b.dialect, name)
	b.store, err = sqlstore.New(db, sqlstore.Config{Dialect: b.dialect, Table: name})
	if err == nil {
		err = b.store.Migrate(ctx)
	}
	if err == nil {
		b.mgr, err = idempotency.New[string, string](b.store, idempotency.Config{Namespace: "live"})
	}
	if err == nil {
		b.oldMgr, err = idempotency.New[string, string](b.store, idempotency.Config{Namespace: fillNamespace})
	}
	if err != nil {
		b.close(context.WithoutCancel(ctx)) //nolint:errcheck // reporting the first error
		return nil, err
	}
	b.batches = &timedStore{Store: b.store}
	return b, nil
}

func (b *bench) cleaner(size int, pause time.Duration) *idempotency.Cleaner {
	return idempotency.NewCleaner(b.batches, idempotency.CleanerConfig{BatchSize: size, BatchPause: pause})
}

func (b *bench) close(ctx context.Context) error {
	var first error
	if b.store != nil {
		b.store.Close()
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := b.db.ExecContext(dctx, "DROP TABLE IF EXISTS "+b.table); err != nil {
		first = fmt.Errorf("drop table %s: %w", b.table, err)
	}
	if err := b.db.Close(); err != nil && first == nil {
		first = err
	}
	b.target.Cleanup()
	return first
}

// fillNamespace is the namespace of the filled rows.
const fillNamespace = "bench"

// fillChunk is how many rows one INSERT … SELECT adds: big enough that
// statement overhead does not matter, small enough for modest undo logs.
const fillChunk = 100_000

// fill inserts n completed records that expired an hour ago: random keys
// (as UUIDv4s would be) or time-ordered ones, expiry increasing with
// insertion order (as a constant TTL makes it) and a 100-byte payload. The
// keys can be computed again (filledKey), for Do calls that re-claim them. It then lets the database settle
// (VACUUM ANALYZE on PostgreSQL, ANALYZE elsewhere) so every measurement
// starts from the same state.
func (b *bench) fill(ctx context.Context, n int) error {
	b.fills++
	prefix := fmt.Sprintf("%s-%d-", b.runID, b.fills)
	b.prefix, b.filled = prefix, n
	payload := []byte(`{"id":"ch_3N4c5D6e7F8g9H0i","status":"succeeded","amount":12999,"currency":"eur","created":1718000000}`)
	t0 := time.Now()
	q := b.fillSQL()
	for lo := 0; lo < n; lo += fillChunk {
		hi := min(lo+fillChunk, n)
		if _, err := b.db.ExecContext(ctx, q, prefix, payload, n, lo, hi); err != nil {
			return fmt.Errorf("fill rows %d to %d: %w", lo, hi, err)
		}
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "filled %d expired rows in %v\n", n, time.Since(t0).Round(time.Millisecond))
	return nil
}

// settle lets the database finish the background work a fill or a big
// delete leaves behind, so that it does not land in the next measurement:
// on PostgreSQL VACUUM ANALYZE and a CHECKPOINT; on MySQL ANALYZE TABLE
// and waiting for purge to catch up; on SQLite ANALYZE and a WAL checkpoint.
func (b *bench) settle(ctx context.Context) error {
	stmts := map[sqlstore.Dialect][]string{
		sqlstore.Postgres: {"VACUUM ANALYZE " + b.table, "CHECKPOINT"},
		sqlstore.MySQL:    {"ANALYZE TABLE " + b.table},
		sqlstore.SQLite:   {"ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"},
	}[b.dialect]
	for _, q := range stmts {
		if _, err := b.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("settle: %s: %w", q, err)
		}
	}
	if b.dialect != sqlstore.MySQL {
		return nil
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var history int64
		err := b.db.QueryRowContext(ctx, "SELECT `COUNT` FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'").Scan(&history)
		if err != nil {
			return fmt.Errorf("settle: read the purge backlog: %w", err)
		}
		if history < 1000 || time.Now().After(deadline) {
			return nil
		}
		time.Sleep(time.Second)
	}
}

// fillSQL inserts rows lo ≤ i < hi of n; arguments (prefix, payload, n, lo, hi).
func (b *bench) fillSQL() string {
	const cols = ` (namespace, idem_key, fingerprint, state, token, payload, locked_until, expires_at, created_at) `
	switch b.dialect {
	case sqlstore.Postgres:
		key := `md5(i::text)`
		if b.ordered {
			key = `lpad(i::text, 9, '0')`
		}
		return `INSERT INTO ` + b.table + cols +
			`SELECT '` + fillNamespace + `', $1 || ` + key + `, 'v1:' || md5(i::text) || md5((-i)::text), 1, md5((i + 1)::text), $2::bytea,` +
			` now() - interval '25 hours', now() - interval '1 hour' - ($3 - i) * interval '1 microsecond', now() - interval '25 hours'` +
			` FROM generate_series($4::bigint, $5::bigint - 1) i`
	case sqlstore.MySQL:
		const now = `UTC_TIMESTAMP(6)`
		key := `MD5(i)`
		if b.ordered {
			key = `LPAD(i, 9, '0')`
		}
		return `INSERT INTO ` + b.table + cols +
			`SELECT '` + fillNamespace + `', CONCAT(?, ` + key + `), CONCAT('v1:', MD5(i), MD5(-i)), 1, MD5(i + 1), ?,` +
			` ` + now + ` - INTERVAL 25 HOUR, ` + now + ` - INTERVAL 1 HOUR - INTERVAL (? - i) MICROSECOND, ` + now + ` - INTERVAL 25 HOUR` +
			` FROM (SELECT ? + ` + digitsSum() + ` AS i FROM ` + digitsFrom() + `) s WHERE i < ?`
	default:
		const now = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`
		// SQLite has no md5(): a multiplicative hash scatters the keys.
		key := `printf('%08x', (i * 2654435761) % 4294967296)`
		if b.ordered {
			key = `printf('%09d', i)`
		}
		return `INSERT INTO ` + b.table + cols +
			`SELECT '` + fillNamespace + `', ?1 || ` + key + `, 'v1:' || lower(hex(randomblob(32))), 1, lower(hex(randomblob(16))), ?2,` +
			` ` + now + ` - 90000000, ` + now + ` - 3600000 - (?3 - i) / 1000, ` + now + ` - 90000000` +
			` FROM (SELECT ?4 + ` + digitsSum() + ` AS i FROM ` + digitsFrom() + `) WHERE i < ?5`
	}
}

// digitsFrom and digitsSum number 0 to 99,999 (fillChunk) without
// generate_series or a recursive CTE, which MySQL caps at 1000 rows.
func digitsFrom() string {
	const digits = `(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4` +
		` UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)`
	var parts []string
	for i := range 5 {
		parts = append(parts, fmt.Sprintf("%s d%d", digits, i))
	}
	return strings.Join(parts, " CROSS JOIN ")
}

func digitsSum() string {
	return `d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d`
}

// rawDelete deletes every expired row with one statement, as a program
// without a cleaner would.
func (b *bench) rawDelete(ctx context.Context) (int64, time.Duration, error) {
	q := map[sqlstore.Dialect]string{
		sqlstore.Postgres: `DELETE FROM ` + b.table + ` WHERE expires_at <= now()`,
		sqlstore.MySQL:    `DELETE FROM ` + b.table + ` WHERE expires_at <= UTC_TIMESTAMP(6)`,
		sqlstore.SQLite:   `DELETE FROM ` + b.table + ` WHERE expires_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
	}[b.dialect]
	t0 := time.Now()
	res, err := b.db.ExecContext(ctx, q)
	if err != nil {
		return 0, 0, fmt.Errorf("raw DELETE: %w", err)
	}
	d := time.Since(t0)
	n, err := res.RowsAffected()
	return n, d, err
}
