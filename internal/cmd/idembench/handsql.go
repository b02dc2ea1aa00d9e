package main

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency/sqlstore"
)

// handSQL is what a careful hand-written program sends, on the store's own
// table, with the same lease (30s) and TTL (24h) as the Manager's defaults.
// Durations are literals: a program with fixed settings need not pass them.
type handSQL struct {
	// claim(ns, key, fp, token): an atomic insert that does nothing on a
	// conflict.
	claim string
	// insert(ns, key, fp, token): a plain INSERT, as the naive flow
	// writes it after checking that the key is absent.
	insert string
	// complete(payload, ns, key, token): records the outcome.
	complete string
	// read(ns, key) -> state, fingerprint, payload: a replay.
	read string
	// prefill(...) inserts completed rows, values listed by prefillRow.
	prefillHead, prefillRow string
	// goClock: timestamps are arguments taken from this process's clock
	// (SQLite), appended to the argument lists above: claim(...,
	// lockedUntil, expiresAt, createdAt), complete(payload, lockedUntil,
	// expiresAt, ...), read(..., now).
	goClock bool
}

// Lease and TTL of the hand-written flows: the Manager's defaults.
const (
	leaseMillis = 30_000
	ttlMillis   = 86_400_000
)

func (h handSQL) claimArgs(key, fp, token string) []any {
	if !h.goClock {
		return []any{namespace, key, fp, token}
	}
	now := time.Now().UnixMilli()
	return []any{namespace, key, fp, token, now + leaseMillis, now + leaseMillis + ttlMillis, now}
}

func (h handSQL) completeArgs(payload []byte, key, token string) []any {
	if !h.goClock {
		return []any{payload, namespace, key, token}
	}
	now := time.Now().UnixMilli()
	return []any{payload, now, now + ttlMillis, namespace, key, token}
}

func (h handSQL) readArgs(key string) []any {
	if !h.goClock {
		return []any{namespace, key}
	}
	return []any{namespace, key, time.Now().UnixMilli()}
}

func handWritten(d sqlstore.Dialect, t string) handSQL {
	cols := ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at, created_at)`
	switch d {
	case sqlstore.Postgres:
		values := ` VALUES ($1, $2, $3, 0, $4, now() + interval '30 seconds', now() + interval '24 hours 30 seconds', now())`
		return handSQL{
			claim:       `INSERT INTO ` + t + cols + values + ` ON CONFLICT (namespace, idem_key) DO NOTHING`,
			insert:      `INSERT INTO ` + t + cols + values,
			complete:    `UPDATE ` + t + ` SET state = 1, payload = $1, locked_until = now(), expires_at = now() + interval '24 hours' WHERE namespace = $2 AND idem_key = $3 AND token = $4 AND state = 0`,
			read:        `SELECT state, fingerprint, payload FROM ` + t + ` WHERE namespace = $1 AND idem_key = $2 AND expires_at > now()`,
			prefillHead: `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, payload, locked_until, expires_at, created_at) VALUES `,
			prefillRow:  `(?, ?, ?, 1, ?, ?, now(), now() + interval '24 hours', now())`,
		}
	case sqlstore.MySQL:
		const now = `UTC_TIMESTAMP(6)`
		values := ` VALUES (?, ?, ?, 0, ?, ` + now + ` + INTERVAL 30 SECOND, ` + now + ` + INTERVAL 86430 SECOND, ` + now + `)`
		return handSQL{
			claim:       `INSERT IGNORE INTO ` + t + cols + values,
			insert:      `INSERT INTO ` + t + cols + values,
			complete:    `UPDATE ` + t + ` SET state = 1, payload = ?, locked_until = ` + now + `, expires_at = ` + now + ` + INTERVAL 86400 SECOND WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
			read:        `SELECT state, fingerprint, payload FROM ` + t + ` WHERE namespace = ? AND idem_key = ? AND expires_at > ` + now,
			prefillHead: `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, payload, locked_until, expires_at, created_at) VALUES `,
			prefillRow:  `(?, ?, ?, 1, ?, ?, ` + now + `, ` + now + ` + INTERVAL 86400 SECOND, ` + now + `)`,
		}
	default:
		// SQLite runs in the calling process, and WAL (which several
		// processes on one file need) only works on one host: its clock
		// is this process's clock. Passing it as an argument spares the
		// statement unixepoch('subsec'), which modernc.org/sqlite parses
		// again on every execution.
		values := ` VALUES (?, ?, ?, 0, ?, ?, ?, ?)`
		return handSQL{
			claim:       `INSERT INTO ` + t + cols + values + ` ON CONFLICT (namespace, idem_key) DO NOTHING`,
			insert:      `INSERT INTO ` + t + cols + values,
			complete:    `UPDATE ` + t + ` SET state = 1, payload = ?, locked_until = ?, expires_at = ? WHERE namespace = ? AND idem_key = ? AND token = ? AND state = 0`,
			read:        `SELECT state, fingerprint, payload FROM ` + t + ` WHERE namespace = ? AND idem_key = ? AND expires_at > ?`,
			prefillHead: `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, payload, locked_until, expires_at, created_at) VALUES `,
			prefillRow:  `(?, ?, ?, 1, ?, ?, CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER) + 86400000, CAST(unixepoch('subsec') * 1000 AS INTEGER))`,
			goClock:     true,
		}
	}
}

// floorStmts are the floor's statements, prepared once on the pool as a
// careful program would (go-sql-driver/mysql would otherwise prepare and
// close each one per call).
type floorStmts struct {
	claim, complete, read *sql.Stmt
}

func (h handSQL) prepare(ctx context.Context, db *sqlx.DB) (floorStmts, error) {
	var f floorStmts
	var err error
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&f.claim, h.claim}, {&f.complete, h.complete}, {&f.read, h.read}} {
		if *p.dst, err = db.PrepareContext(ctx, p.q); err != nil {
			f.close()
			return floorStmts{}, err
		}
	}
	return f, nil
}

func (f floorStmts) close() {
	for _, st := range []*sql.Stmt{f.claim, f.complete, f.read} {
		if st != nil {
			st.Close()
		}
	}
}

// rebind turns ? placeholders into $n for PostgreSQL.
func rebind(d sqlstore.Dialect, q string) string {
	if d != sqlstore.Postgres {
		return q
	}
	return sqlx.Rebind(sqlx.DOLLAR, q)
}

var errNotOne = errors.New("statement did not affect exactly one row")

func one(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return errNotOne
	}
	return nil
}

func rowsPlaceholders(row string, n int) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}
