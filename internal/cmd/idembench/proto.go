package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/sqlstore"
)

// protoStore is a prototype of the claim the measurements in BENCHMARKS.md
// propose for sqlstore, run through the same Manager code so that only the
// SQL differs:
//
//   - postgres, -proto-pg read-first: read first (the store's SELECT, then
//     its INSERT … ON CONFLICT DO NOTHING) instead of the claim-or-select
//     CTE;
//   - postgres, -proto-pg cte-select-first: the claim-or-select CTE
//     rewritten to read the row first and insert only when the read found
//     nothing (INSERT … SELECT … WHERE NOT EXISTS), so that a replay runs
//     no insert at all;
//   - sqlite: the same read-first flow with timestamps passed from this
//     process's clock and compared in Go, instead of
//     CAST(unixepoch('subsec') * 1000 AS INTEGER) in every statement;
//   - mysql: the store's own statements (an A/A control for the noise).
//
// It implements Claim and Complete for new and completed keys only (no
// takeover of lapsed leases); the rest is the real store's.
type protoStore struct {
	*sqlstore.Store
	goClock          bool
	cte              bool      // sel is a claim-or-select statement; ins is nil
	sel, ins, finish *sql.Stmt // finish is nil where the real Complete is used
}

func newProtoStore(ctx context.Context, d sqlstore.Dialect, db *sqlx.DB, real *sqlstore.Store, t, pgMode string) (*protoStore, error) {
	p := &protoStore{Store: real}
	var sel, ins, finish string
	switch {
	case d == sqlstore.Postgres && pgMode == "cte-select-first":
		const micro = `::bigint * interval '1 microsecond'`
		p.cte = true
		sel = `WITH sel AS (SELECT state, fingerprint, payload, expires_at <= now() AS expired, locked_until <= now() AS lapsed FROM ` + t +
			` WHERE namespace = $7 AND idem_key = $8),` +
			` ins AS (INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at)` +
			` SELECT $1, $2, $3, 0, $4, now() + $5` + micro + `, now() + $6` + micro +
			` WHERE NOT EXISTS (SELECT 1 FROM sel) ON CONFLICT (namespace, idem_key) DO NOTHING RETURNING 1)` +
			` SELECT true, 0::smallint, '', NULL::bytea, false, false FROM ins` +
			` UNION ALL SELECT false, state, fingerprint, payload, expired, lapsed FROM sel`
	case d == sqlstore.Postgres && pgMode == "read-first":
		const micro = `::bigint * interval '1 microsecond'`
		sel = `SELECT state, fingerprint, payload, expires_at <= now(), locked_until <= now() FROM ` + t + ` WHERE namespace = $1 AND idem_key = $2`
		ins = `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at)` +
			` VALUES ($1, $2, $3, 0, $4, now() + $5` + micro + `, now() + $6` + micro + `) ON CONFLICT (namespace, idem_key) DO NOTHING`
	case d == sqlstore.Postgres:
		return nil, fmt.Errorf("-proto-pg %q: want read-first or cte-select-first", pgMode)
	case d == sqlstore.MySQL:
		const now, plus = `UTC_TIMESTAMP(6)`, ` + INTERVAL ? MICROSECOND`
		sel = `SELECT state, fingerprint, payload, expires_at <= ` + now + `, locked_until <= ` + now + ` FROM ` + t + ` WHERE namespace = ? AND idem_key = ?`
		ins = `INSERT IGNORE INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at, created_at)` +
			` VALUES (?, ?, ?, 0, ?, ` + now + plus + `, ` + now + plus + `, ` + now + `)`
	default:
		// The statements of the proposed sqliteQueries: the store's
		// arguments in the store's order, then this process's clock.
		p.goClock = true
		sel = `SELECT state, fingerprint, payload, expires_at <= ?3, locked_until <= ?3 FROM ` + t + ` WHERE namespace = ?1 AND idem_key = ?2`
		ins = `INSERT INTO ` + t + ` (namespace, idem_key, fingerprint, state, token, locked_until, expires_at, created_at)` +
			` VALUES (?1, ?2, ?3, 0, ?4, ?7 + ?5, ?7 + ?6, ?7) ON CONFLICT (namespace, idem_key) DO NOTHING`
		finish = `UPDATE ` + t + ` SET state = ?1, payload = ?2, locked_until = ?7, expires_at = ?7 + ?3` +
			` WHERE namespace = ?4 AND idem_key = ?5 AND token = ?6 AND state = 0`
	}
	var err error
	if p.sel, err = db.PrepareContext(ctx, sel); err != nil {
		return nil, err
	}
	if ins != "" {
		if p.ins, err = db.PrepareContext(ctx, ins); err != nil {
			return nil, err
		}
	}
	if finish != "" {
		if p.finish, err = db.PrepareContext(ctx, finish); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *protoStore) close() {
	for _, st := range []*sql.Stmt{p.sel, p.ins, p.finish} {
		if st != nil {
			st.Close()
		}
	}
}

// Claim reads first and inserts only when no row exists.
func (p *protoStore) Claim(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	for range 16 {
		var (
			rec             idempotency.Record
			expired, lapsed bool
			err             error
		)
		if p.cte {
			var claimed bool
			err = p.sel.QueryRowContext(ctx, req.Namespace, req.Key, req.Fingerprint, req.Token, req.Lease.Microseconds(),
				(req.Lease+req.TTL).Microseconds(), req.Namespace, req.Key).Scan(&claimed, &rec.State, &rec.Fingerprint, &rec.Payload, &expired, &lapsed)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				continue // a rival's insert committed after the snapshot
			case err != nil:
				return idempotency.ClaimResult{}, err
			case claimed:
				return idempotency.ClaimResult{Claimed: true}, nil
			}
		} else if p.goClock {
			err = p.sel.QueryRowContext(ctx, req.Namespace, req.Key, time.Now().UnixMilli()).Scan(&rec.State, &rec.Fingerprint, &rec.Payload, &expired, &lapsed)
		} else {
			err = p.sel.QueryRowContext(ctx, req.Namespace, req.Key).Scan(&rec.State, &rec.Fingerprint, &rec.Payload, &expired, &lapsed)
		}
		switch {
		case err == nil:
			if expired || (rec.State == idempotency.StateProcessing && lapsed && rec.Fingerprint == req.Fingerprint) {
				return idempotency.ClaimResult{}, errors.New("proto: taking over a record is not prototyped")
			}
			return idempotency.ClaimResult{Record: rec}, nil
		case !errors.Is(err, sql.ErrNoRows):
			return idempotency.ClaimResult{}, err
		}
		var res sql.Result
		if p.goClock {
			res, err = p.ins.ExecContext(ctx, req.Namespace, req.Key, req.Fingerprint, req.Token,
				req.Lease.Milliseconds(), (req.Lease + req.TTL).Milliseconds(), time.Now().UnixMilli())
		} else {
			res, err = p.ins.ExecContext(ctx, req.Namespace, req.Key, req.Fingerprint, req.Token,
				req.Lease.Microseconds(), (req.Lease + req.TTL).Microseconds())
		}
		if err != nil {
			return idempotency.ClaimResult{}, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return idempotency.ClaimResult{Claimed: err == nil}, err
		}
	}
	return idempotency.ClaimResult{}, errors.New("proto: claim did not settle")
}

// Complete uses the real store's statement except on SQLite.
func (p *protoStore) Complete(ctx context.Context, lock idempotency.Lock, state idempotency.State, payload []byte, ttl time.Duration) error {
	if p.finish == nil {
		return p.Store.Complete(ctx, lock, state, payload, ttl)
	}
	res, err := p.finish.ExecContext(ctx, uint8(state), payload, ttl.Milliseconds(), lock.Namespace, lock.Key, lock.Token, time.Now().UnixMilli())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("proto: complete changed %d rows (%v): %w", n, err, idempotency.ErrLeaseLost)
	}
	return nil
}
