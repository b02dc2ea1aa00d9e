package sqlstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// txQueries are the statements a claim inside a transaction adds to
// [queries]; the rest (takeover, complete, selectRecord) are shared, and
// written so that they also work inside a transaction. Arguments as in
// queries: in the order of each comment, "+now" for SQLite's clock.
//
// A claim in flight is an uncommitted row, and a rival's insert of the same
// key would wait on it for as long as fn runs. Each dialect keeps rivals
// from waiting in its own way:
//
//   - PostgreSQL: the insert takes a transaction-level advisory lock on the
//     key first, with pg_try_advisory_xact_lock, which answers at once; a
//     rival that does not get it inserts nothing and waits for nothing. The
//     lock ends with the transaction, or with the savepoint it was taken
//     under when that is rolled back.
//   - MySQL/MariaDB: the same with a named lock, GET_LOCK(name, 0). A named
//     lock belongs to the connection, not the transaction, so the store
//     releases it: after the commit on the connection it pinned (BeginTx),
//     or when the claim ends (JoinTx; a rival's insert then waits for the
//     caller's commit, not for fn). The read that follows an insert that
//     found the key locks the row with NOWAIT, so that it sees the latest
//     committed version even inside an older REPEATABLE READ snapshot and
//     fails at once on a row in flight.
//   - SQLite: one writer at a time. The insert waits for the writer, up to
//     the busy timeout, and then finds whatever it committed.
type txQueries struct {
	// insert(ns, key, fp, token, lease, expiry, lock +now) claims an absent
	// key when the lock is free; insertBegin adds the server-side bound on
	// an idle transaction (PostgreSQL: idle_in_transaction_session_timeout,
	// in milliseconds, as the 8th argument) for transactions the store
	// opened. Elsewhere insertBegin is insert.
	insert, insertBegin string
	// inspect(lock, ns, key) -> state, fingerprint, payload, expired,
	// lapsed, held, microseconds left: the record (all NULL on PostgreSQL
	// when there is none) and whether this transaction holds the key's
	// lock. SQLite returns selectRecord's columns and holds no lock.
	inspect string
	// held(lock) -> whether this connection holds the named lock. MySQL
	// only: inspect returns no row when the record is absent.
	held string
	// complete(state, payload, ttl, lock, ns, key, token +now) records the
	// outcome. On MySQL it also releases the named lock, which saves the
	// round trip of a statement of its own after the commit: a duplicate
	// arriving between this statement and the commit waits on the row for
	// the commit, no longer. Elsewhere it is queries.complete, and takes no
	// lock argument.
	complete string
}

func buildTxQueries(d Dialect, t string) txQueries {
	cols := ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at, created_at)`
	switch d {
	case Postgres:
		const (
			now   = `statement_timestamp()`
			micro = `::bigint * interval '1 microsecond'`
		)
		insert := `INSERT INTO ` + t + cols +
			` SELECT $1::text, $2::text, $3::text, 0, $4::text, ` + now + ` + $5` + micro + `, ` + now + ` + $6` + micro + `, ` + now +
			` WHERE pg_try_advisory_xact_lock($7::bigint)`
		const conflict = ` ON CONFLICT (namespace, idem_key) DO NOTHING`
		return txQueries{
			complete:    postgresQueries(t).complete,
			insert:      insert + conflict,
			insertBegin: insert + ` AND set_config('idle_in_transaction_session_timeout', $8::text, true) IS NOT NULL` + conflict,
			inspect: `SELECT r.state, r.fingerprint, r.payload, r.expires_at <= ` + now + `, r.locked_until <= ` + now +
				`, pg_try_advisory_xact_lock($1::bigint), ` + postgresLeft("r.expires_at") +
				` FROM (SELECT 1) AS one LEFT JOIN ` + t +
				` AS r ON r.namespace = $2 AND r.idem_key = $3`,
		}
	case MySQL:
		const now = `UTC_TIMESTAMP(6)`
		const plus = ` + INTERVAL ? MICROSECOND`
		const held = `COALESCE(IS_USED_LOCK(?) = CONNECTION_ID(), 0)`
		insert := `INSERT IGNORE INTO ` + t + cols +
			` SELECT ?, ?, ?, 0, ?, ` + now + plus + `, ` + now + plus + `, ` + now + ` FROM DUAL WHERE GET_LOCK(?, 0) = 1`
		return txQueries{
			insert:      insert,
			insertBegin: insert,
			inspect: `SELECT state, fingerprint, payload, expires_at <= ` + now + `, locked_until <= ` + now + `, ` + held +
				`, TIMESTAMPDIFF(MICROSECOND, ` + now + `, expires_at)` +
				` FROM ` + t + ` WHERE namespace = ? AND idem_key = ? FOR UPDATE NOWAIT`,
			held: `SELECT ` + held,
			// The release rides in the SET list, evaluated once for the
			// one row the primary key finds, and only when the WHERE
			// matched; the assignment itself changes nothing.
			complete: `UPDATE ` + t + ` SET state = ?, payload = ?, locked_until = ` + now + `, expires_at = ` + now + plus +
				`, token = IF(RELEASE_LOCK(?) = 1, token, token)` +
				` WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
		}
	default:
		q := sqliteQueries(t)
		return txQueries{insert: q.insert, insertBegin: q.insert, inspect: q.selectRecord, complete: q.complete}
	}
}

// lockDigest names a key's lock: a digest of the table, namespace and key,
// so that tables and namespaces never share a lock.
func lockDigest(table, namespace, key string) [sha256.Size]byte {
	return sha256.Sum256([]byte(table + "\x00" + namespace + "\x00" + key))
}

// pgLockKey is a key's advisory lock on PostgreSQL: 64 bits of its digest.
func pgLockKey(table, namespace, key string) int64 {
	d := lockDigest(table, namespace, key)
	return int64(binary.BigEndian.Uint64(d[:8]))
}

// mysqlLockName is a key's named lock on MySQL: a prefix and 192 bits of
// its digest in hex, within the 64 characters a lock name may have. Hex
// only, so it can be written into a statement as a literal.
func mysqlLockName(table, namespace, key string) string {
	d := lockDigest(table, namespace, key)
	return "idempotency:" + hex.EncodeToString(d[:24])
}

// releaseLocks releases the named lock n times: GET_LOCK counts, and the
// claim may have taken it more than once. No placeholders, so
// go-sql-driver/mysql sends it in one round trip without preparing it.
func releaseLocks(name string, n int) string {
	calls := make([]string, n)
	for i := range calls {
		calls[i] = `RELEASE_LOCK('` + name + `')`
	}
	return `DO ` + strings.Join(calls, ", ")
}
