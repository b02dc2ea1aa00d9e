package sqlstore

import "strings"

// Dialect selects the SQL a [Store] speaks. The zero value "" is not a
// dialect: [New] rejects it.
type Dialect string

// The supported dialects.
const (
	// Postgres is PostgreSQL 12 or newer, through lib/pq or pgx's
	// database/sql driver.
	Postgres Dialect = "postgres"
	// MySQL is MySQL 8 or MariaDB 10.6 or newer, through
	// go-sql-driver/mysql. DSN options parseTime and time_zone do not
	// matter: the store reads no timestamps and compares with
	// UTC_TIMESTAMP(6).
	MySQL Dialect = "mysql"
	// SQLite is SQLite 3.42 or newer, for example modernc.org/sqlite (pure
	// Go). See [SQLiteDSN] for the connection settings several pools and
	// processes need.
	SQLite Dialect = "sqlite"
)

// queries holds one dialect's statements. Every statement takes its
// arguments in the order given in its comment; placeholders are the
// dialect's own and never reused, so the argument lists are the same for all
// dialects. On SQLite, the statements marked "+now" take one more argument
// at the end: the current time in Unix milliseconds (see [Store.clock]).
type queries struct {
	// selectRecord(ns, key) -> state, fingerprint, payload, expired, lapsed,
	// microseconds left before expiry;
	// on SQLite expires_at and locked_until instead of expired and lapsed.
	selectRecord string
	// insert(ns, key, fp, token, lease, expiry +now): claims an absent key;
	// affects no row when the key exists.
	insert string
	// takeover(fp, token, lease, expiry, ns, key, fp +now): claims an expired
	// record, or a lapsed lease of the same request.
	takeover string
	// renew(lease, expiry, ns, key, token +now)
	renew string
	// complete(state, payload, ttl, ns, key, token +now)
	complete string
	// owner(ns, key, token) -> state: the state of the record if token
	// holds it, to recognise a write that took effect but whose answer was
	// lost or that changed no column.
	owner string
	// release(ns, key, token)
	release string
	// deleteExpired(limit); on MySQL deleteExpired(oldest, limit), where
	// oldest is the smallest expires_at, read first (see
	// Store.deleteExpired).
	deleteExpired string
	// oldestExpiry() -> the smallest expires_at as text, NULL when the table
	// is empty. MySQL only: where a cleanup batch starts its range.
	oldestExpiry string
}

// durationUnit is the unit lease, expiry and TTL arguments are given in.
func (d Dialect) durationUnitMicros() int64 {
	if d == SQLite {
		return 1000 // SQLite stores integer milliseconds
	}
	return 1
}

// quote quotes an identifier already validated by validTable.
func (d Dialect) quote(ident string) string {
	q := `"`
	if d == MySQL {
		q = "`"
	}
	parts := strings.Split(ident, ".")
	for i, p := range parts {
		parts[i] = q + p + q
	}
	return strings.Join(parts, ".")
}

// buildQueries returns dialect d's statements for the quoted table name t.
func buildQueries(d Dialect, t string) queries {
	switch d {
	case Postgres:
		return postgresQueries(t)
	case MySQL:
		return mysqlQueries(t)
	default:
		return sqliteQueries(t)
	}
}

// postgresLeft is the microseconds col has left before it expires, by the
// statement's clock; NULL for an infinite timestamp, which only a hand-made
// row holds and whose subtraction PostgreSQL refuses.
func postgresLeft(col string) string {
	return `CASE WHEN isfinite(` + col + `) THEN floor(extract(epoch FROM ` + col + ` - statement_timestamp()) * 1000000)::bigint END`
}

func postgresQueries(t string) queries {
	// statement_timestamp(), not now(): the same statements run inside
	// TxManager's transactions, where now() is the time the transaction
	// began (long ago in the caller's transaction, for DoIn).
	const (
		now   = `statement_timestamp()`
		micro = `::bigint * interval '1 microsecond'`
	)
	return queries{
		selectRecord: `SELECT state, fingerprint, payload, expires_at <= ` + now + `, locked_until <= ` + now +
			`, ` + postgresLeft("expires_at") + ` FROM ` + t +
			` WHERE namespace = $1 AND idem_key = $2`,
		// ON CONFLICT DO NOTHING on an existing row writes nothing, takes
		// no row lock and assigns no transaction id (CI checks), so a
		// retry that meets it while the store writes first costs a round
		// trip and no more. It is an Exec, where an insert-or-select
		// statement (a CTE) would be a query: database/sql starts a
		// goroutine per query under a cancellable context, and the CTE
		// costs more to plan and run. Measured against it, new keys went
		// from 0.74-0.90 to 0.89-1.0 of the floor.
		// created_at is set from the same clock reading as the lease,
		// not left to its default now(), the transaction's start, which
		// under load can be milliseconds earlier.
		insert: `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at, created_at)` +
			` VALUES ($1, $2, $3, 0, $4, ` + now + ` + $5` + micro + `, ` + now + ` + $6` + micro + `, ` + now + `)` +
			` ON CONFLICT (namespace, idem_key) DO NOTHING`,
		takeover: `UPDATE ` + t + ` SET fingerprint = $1, state = 0, token = $2, payload = NULL,` +
			` locked_until = ` + now + ` + $3` + micro + `, expires_at = ` + now + ` + $4` + micro + `, created_at = ` + now +
			` WHERE namespace = $5 AND idem_key = $6` +
			` AND (expires_at <= ` + now + ` OR (state = 0 AND locked_until <= ` + now + ` AND fingerprint = $7))`,
		renew: `UPDATE ` + t + ` SET locked_until = ` + now + ` + $1` + micro + `, expires_at = ` + now + ` + $2` + micro +
			` WHERE namespace = $3 AND idem_key = $4 AND token = $5 AND state = 0`,
		complete: `UPDATE ` + t + ` SET state = $1, payload = $2, locked_until = ` + now + `, expires_at = ` + now + ` + $3` + micro +
			` WHERE namespace = $4 AND idem_key = $5 AND token = $6 AND state = 0`,
		owner:   `SELECT state FROM ` + t + ` WHERE namespace = $1 AND idem_key = $2 AND token = $3`,
		release: `DELETE FROM ` + t + ` WHERE namespace = $1 AND idem_key = $2 AND token = $3 AND state = 0`,
		// deleteExpired(limit). The inner SELECT walks the expires_at index
		// oldest first and locks the rows it returns; SKIP LOCKED passes
		// over rows another cleaner or a claim holds, so cleaners share the
		// work and never wait. The DELETE reaches each locked row by its
		// ctid, which cannot change while the lock is held, instead of a
		// second primary-key lookup per row (about 12ms instead of 28ms per
		// batch of 1000 random keys here). The outer condition re-checks
		// expiry on the row version it deletes, so a record claimed again
		// in between stays.
		deleteExpired: `DELETE FROM ` + t + ` WHERE ctid = ANY(ARRAY(SELECT ctid FROM ` + t +
			` WHERE expires_at <= ` + now + ` ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)) AND expires_at <= ` + now,
	}
}

func mysqlQueries(t string) queries {
	// UTC_TIMESTAMP(6), not NOW(6), which follows the session time zone.
	const now = `UTC_TIMESTAMP(6)`
	const plus = ` + INTERVAL ? MICROSECOND`
	return queries{
		selectRecord: `SELECT state, fingerprint, payload, expires_at <= ` + now + `, locked_until <= ` + now +
			`, TIMESTAMPDIFF(MICROSECOND, ` + now + `, expires_at) FROM ` + t +
			` WHERE namespace = ? AND idem_key = ?`,
		// INSERT IGNORE only turns the duplicate key into "no row": lengths
		// are validated before the statement, so nothing else can be
		// truncated into a warning.
		insert: `INSERT IGNORE INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at, created_at)` +
			` VALUES (?, ?, ?, 0, ?, ` + now + plus + `, ` + now + plus + `, ` + now + `)`,
		takeover: `UPDATE ` + t + ` SET fingerprint = ?, state = 0, token = ?, payload = NULL,` +
			` locked_until = ` + now + plus + `, expires_at = ` + now + plus + `, created_at = ` + now +
			` WHERE namespace = ? AND idem_key = ?` +
			` AND (expires_at <= ` + now + ` OR (state = 0 AND locked_until <= ` + now + ` AND fingerprint = ?))`,
		renew: `UPDATE ` + t + ` SET locked_until = ` + now + plus + `, expires_at = ` + now + plus +
			` WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
		complete: `UPDATE ` + t + ` SET state = ?, payload = ?, locked_until = ` + now + `, expires_at = ` + now + plus +
			` WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
		owner:   `SELECT state FROM ` + t + ` WHERE namespace = ? AND idem_key = ? AND token = ?`,
		release: `DELETE FROM ` + t + ` WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
		// deleteExpired(oldest, limit), run by Store.deleteExpired after
		// reading oldest, the smallest expires_at, so that the range skips
		// the index entries of rows deleted but not yet purged. A
		// single-table DELETE locks each row and re-checks its WHERE on the
		// latest committed version, so a record claimed again in between
		// stays. ORDER BY walks the expires_at index, so concurrent cleaners
		// lock rows in the same order and wait instead of deadlocking.
		deleteExpired: `DELETE FROM ` + t + ` WHERE expires_at >= ? AND expires_at <= ` + now + ` ORDER BY expires_at LIMIT ?`,
		oldestExpiry:  `SELECT CAST(MIN(expires_at) AS CHAR) FROM ` + t,
	}
}

func sqliteQueries(t string) queries {
	// Integer Unix milliseconds. SQLite runs inside the calling process
	// and WAL mode (which SQLiteDSN and Migrate set) works only on one
	// host, so the database clock is this host's clock: the store passes
	// it as the last argument ("+now"), fixed for the statement like
	// SQLite's own 'now'. Computing it in SQL (unixepoch('subsec')) costs
	// more than the read itself, because modernc.org/sqlite parses every
	// statement again on each execution. Numbered placeholders let one
	// argument serve several comparisons.
	const now = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`
	return queries{
		// The one statement that takes no "+now": it returns expires_at
		// and locked_until as they are, and Store.read compares them with
		// the same clock in Go. The statement is parsed on every
		// execution, and the two comparisons cost more there than here.
		selectRecord: `SELECT state, fingerprint, payload, expires_at, locked_until FROM ` + t +
			` WHERE namespace = ?1 AND idem_key = ?2`,
		insert: `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at, created_at)` +
			` VALUES (?1, ?2, ?3, 0, ?4, ?7 + ?5, ?7 + ?6, ?7)` +
			` ON CONFLICT (namespace, idem_key) DO NOTHING`,
		takeover: `UPDATE ` + t + ` SET fingerprint = ?1, state = 0, token = ?2, payload = NULL,` +
			` locked_until = ?8 + ?3, expires_at = ?8 + ?4, created_at = ?8` +
			` WHERE namespace = ?5 AND idem_key = ?6` +
			` AND (expires_at <= ?8 OR (state = 0 AND locked_until <= ?8 AND fingerprint = ?7))`,
		renew: `UPDATE ` + t + ` SET locked_until = ?6 + ?1, expires_at = ?6 + ?2` +
			` WHERE namespace = ?3 AND idem_key = ?4 AND token = ?5 AND state = 0`,
		complete: `UPDATE ` + t + ` SET state = ?1, payload = ?2, locked_until = ?7, expires_at = ?7 + ?3` +
			` WHERE namespace = ?4 AND idem_key = ?5 AND token = ?6 AND state = 0`,
		owner:   `SELECT state FROM ` + t + ` WHERE namespace = ? AND idem_key = ? AND token = ?`,
		release: `DELETE FROM ` + t + ` WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
		// deleteExpired(limit). SQLite runs one writer at a time, so the
		// inner SELECT and the DELETE see the same rows; the outer
		// condition still re-checks.
		deleteExpired: `DELETE FROM ` + t + ` WHERE rowid IN (SELECT rowid FROM ` + t +
			` WHERE expires_at <= ` + now + ` ORDER BY expires_at LIMIT ?) AND expires_at <= ` + now,
	}
}
