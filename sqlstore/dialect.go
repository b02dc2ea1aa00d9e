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
// dialects.
type queries struct {
	// selectRecord(ns, key) -> state, fingerprint, payload, expired, lapsed
	selectRecord string
	// claimOrSelect(ns, key, fp, token, lease, expiry, ns, key) ->
	// claimed, state, fingerprint, payload, expired, lapsed.
	// Postgres only: claims a new key or returns the existing row in one
	// statement; it returns no row when a rival's insert committed after
	// the statement's snapshot.
	claimOrSelect string
	// insert(ns, key, fp, token, lease, expiry): claims an absent key;
	// affects no row when the key exists.
	insert string
	// takeover(fp, token, lease, expiry, ns, key, fp): claims an expired
	// record, or a lapsed lease of the same request.
	takeover string
	// renew(lease, expiry, ns, key, token)
	renew string
	// complete(state, payload, ttl, ns, key, token)
	complete string
	// owner(ns, key, token) -> state: the state of the record if token
	// holds it, to recognise a write that took effect but whose answer was
	// lost or that changed no column.
	owner string
	// release(ns, key, token)
	release string
	// deleteExpired(limit)
	deleteExpired string
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

func postgresQueries(t string) queries {
	const (
		now   = `now()`
		micro = `::bigint * interval '1 microsecond'`
	)
	return queries{
		selectRecord: `SELECT state, fingerprint, payload, expires_at <= now(), locked_until <= now() FROM ` + t +
			` WHERE namespace = $1 AND idem_key = $2`,
		claimOrSelect: `WITH ins AS (INSERT INTO ` + t +
			` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at)` +
			` VALUES ($1, $2, $3, 0, $4, ` + now + ` + $5` + micro + `, ` + now + ` + $6` + micro + `)` +
			` ON CONFLICT (namespace, idem_key) DO NOTHING RETURNING 1)` +
			` SELECT true, 0::smallint, '', NULL::bytea, false, false FROM ins` +
			` UNION ALL SELECT false, state, fingerprint, payload, expires_at <= now(), locked_until <= now() FROM ` + t +
			` WHERE namespace = $7 AND idem_key = $8`,
		insert: `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at)` +
			` VALUES ($1, $2, $3, 0, $4, now() + $5` + micro + `, now() + $6` + micro + `)` +
			` ON CONFLICT (namespace, idem_key) DO NOTHING`,
		takeover: `UPDATE ` + t + ` SET fingerprint = $1, state = 0, token = $2, payload = NULL,` +
			` locked_until = now() + $3` + micro + `, expires_at = now() + $4` + micro + `, created_at = now()` +
			` WHERE namespace = $5 AND idem_key = $6` +
			` AND (expires_at <= now() OR (state = 0 AND locked_until <= now() AND fingerprint = $7))`,
		renew: `UPDATE ` + t + ` SET locked_until = now() + $1` + micro + `, expires_at = now() + $2` + micro +
			` WHERE namespace = $3 AND idem_key = $4 AND token = $5 AND state = 0`,
		complete: `UPDATE ` + t + ` SET state = $1, payload = $2, locked_until = now(), expires_at = now() + $3` + micro +
			` WHERE namespace = $4 AND idem_key = $5 AND token = $6 AND state = 0`,
		owner:   `SELECT state FROM ` + t + ` WHERE namespace = $1 AND idem_key = $2 AND token = $3`,
		release: `DELETE FROM ` + t + ` WHERE namespace = $1 AND idem_key = $2 AND token = $3 AND state = 0`,
		// SKIP LOCKED lets several cleaners share the work without waiting
		// on each other; the outer condition re-checks expiry on the row
		// version being deleted, so a record re-claimed meanwhile stays.
		deleteExpired: `DELETE FROM ` + t + ` WHERE ctid = ANY(ARRAY(SELECT ctid FROM ` + t +
			` WHERE expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)) AND expires_at <= now()`,
	}
}

func mysqlQueries(t string) queries {
	// UTC_TIMESTAMP(6), not NOW(6), which follows the session time zone.
	const now = `UTC_TIMESTAMP(6)`
	const plus = ` + INTERVAL ? MICROSECOND`
	return queries{
		selectRecord: `SELECT state, fingerprint, payload, expires_at <= ` + now + `, locked_until <= ` + now + ` FROM ` + t +
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
		// A single-table DELETE re-checks its WHERE on each row it deletes;
		// ORDER BY walks the expires_at index so concurrent cleaners take
		// rows in the same order instead of deadlocking.
		deleteExpired: `DELETE FROM ` + t + ` WHERE expires_at <= ` + now + ` ORDER BY expires_at LIMIT ?`,
	}
}

func sqliteQueries(t string) queries {
	// Integer Unix milliseconds of the database clock; 'now' is fixed for
	// the duration of one statement.
	const now = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`
	return queries{
		selectRecord: `SELECT state, fingerprint, payload, expires_at <= ` + now + `, locked_until <= ` + now + ` FROM ` + t +
			` WHERE namespace = ? AND idem_key = ?`,
		insert: `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at, created_at)` +
			` VALUES (?, ?, ?, 0, ?, ` + now + ` + ?, ` + now + ` + ?, ` + now + `)` +
			` ON CONFLICT (namespace, idem_key) DO NOTHING`,
		takeover: `UPDATE ` + t + ` SET fingerprint = ?, state = 0, token = ?, payload = NULL,` +
			` locked_until = ` + now + ` + ?, expires_at = ` + now + ` + ?, created_at = ` + now +
			` WHERE namespace = ? AND idem_key = ?` +
			` AND (expires_at <= ` + now + ` OR (state = 0 AND locked_until <= ` + now + ` AND fingerprint = ?))`,
		renew: `UPDATE ` + t + ` SET locked_until = ` + now + ` + ?, expires_at = ` + now + ` + ?` +
			` WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
		complete: `UPDATE ` + t + ` SET state = ?, payload = ?, locked_until = ` + now + `, expires_at = ` + now + ` + ?` +
			` WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
		owner:   `SELECT state FROM ` + t + ` WHERE namespace = ? AND idem_key = ? AND token = ?`,
		release: `DELETE FROM ` + t + ` WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
		// SQLite runs one writer at a time, so the inner SELECT and the
		// DELETE see the same rows; the outer condition still re-checks.
		deleteExpired: `DELETE FROM ` + t + ` WHERE rowid IN (SELECT rowid FROM ` + t +
			` WHERE expires_at <= ` + now + ` ORDER BY expires_at LIMIT ?) AND expires_at <= ` + now,
	}
}
