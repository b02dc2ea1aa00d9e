package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/idemkit/idempotency"
)

var (
	_ idempotency.Inspector   = (*Store)(nil)
	_ idempotency.StatsReader = (*Store)(nil)
)

// Inspect implements [idempotency.Inspector]: one plain read by primary key,
// which takes no lock; times and the lease are read with the database
// clock. A record that has expired but is not yet deleted is reported as
// [idempotency.ErrNotFound]. The claim of a TxManager call in flight is
// not committed, so it is not seen either.
func (s *Store) Inspect(ctx context.Context, namespace, key string) (idempotency.RecordInfo, error) {
	if err := checkIdentity("inspect", namespace, key); err != nil {
		return idempotency.RecordInfo{}, err
	}
	info := idempotency.RecordInfo{Namespace: namespace, Key: key}
	var (
		created, expires, lockedUntil, now int64
		payloadLen                         sql.NullInt64
		expired                            bool
	)
	err := s.queryRow(ctx, s.iq.inspect, s.clock(namespace, key),
		&info.State, &info.Fingerprint, &created, &expires, &lockedUntil, &now, &payloadLen, &expired)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && expired:
		return idempotency.RecordInfo{}, fmt.Errorf("sqlstore: inspect key %q in namespace %q: %w", key, namespace, idempotency.ErrNotFound)
	case err != nil:
		return idempotency.RecordInfo{}, s.wrap("inspect", err)
	}
	info.Created, info.Expires, info.Now = s.time(created), s.time(expires), s.time(now)
	if info.State == idempotency.StateProcessing {
		info.LeaseUntil = s.time(lockedUntil)
		info.LeaseHeld = lockedUntil > now
	}
	info.PayloadBytes = int(payloadLen.Int64)
	return info, nil
}

// Forget implements [idempotency.Inspector]: one DELETE by primary key of
// the live record, whatever its state. An expired record is left to the
// Cleaner and reported as not there: its key is free already. On MySQL and
// SQLite it waits for a TxManager call in flight on the key to commit (its
// row lock, SQLite's write lock); on PostgreSQL it does not see that call's
// uncommitted claim.
func (s *Store) Forget(ctx context.Context, namespace, key string) (bool, error) {
	if err := checkIdentity("forget", namespace, key); err != nil {
		return false, err
	}
	n, err := s.exec(ctx, s.iq.forget, s.clock(namespace, key)...)
	if err != nil {
		return false, s.wrap("forget", err)
	}
	return n == 1, nil
}

// Stats implements [idempotency.StatsReader] with one grouped query over
// the whole table: its cost grows with the table, so run it from an
// operator's tool and bound it with ctx. Expired and OldestExpired count the
// records a Cleaner has yet to delete.
func (s *Store) Stats(ctx context.Context) (idempotency.Stats, error) {
	rows, err := s.db.QueryContext(ctx, s.iq.stats, s.clock()...)
	if err != nil {
		return idempotency.Stats{}, s.wrap("stats", err)
	}
	defer rows.Close()
	var (
		st     idempotency.Stats
		now    int64
		oldest int64
	)
	for rows.Next() {
		var (
			g       idempotency.StatsGroup
			expired bool
			first   int64
		)
		if err := rows.Scan(&g.Namespace, &g.State, &expired, &g.Records, &g.Lapsed, &first, &now); err != nil {
			return idempotency.Stats{}, s.wrap("stats", err)
		}
		if !expired {
			st.Groups = append(st.Groups, g)
			continue
		}
		if st.Expired == 0 || first < oldest {
			oldest = first
		}
		st.Expired += g.Records
	}
	if err := rows.Err(); err != nil {
		return idempotency.Stats{}, s.wrap("stats", err)
	}
	if st.Expired > 0 {
		st.OldestExpired = s.time(oldest)
	}
	if len(st.Groups) == 0 && st.Expired == 0 { // an empty table: no row carried the clock
		if err := s.db.QueryRowContext(ctx, s.iq.now, s.clock()...).Scan(&now); err != nil {
			return idempotency.Stats{}, s.wrap("stats", err)
		}
	}
	st.Now = s.time(now)
	sort.Slice(st.Groups, func(i, j int) bool {
		a, b := st.Groups[i], st.Groups[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.State < b.State
	})
	return st, nil
}

// time converts a time in the dialect's unit since the Unix epoch.
func (s *Store) time(v int64) time.Time {
	return time.UnixMicro(v * s.unit).UTC()
}

// checkIdentity validates a namespace and key given to an operator's
// method, so that a typo is told apart from a record that is not there.
func checkIdentity(op, namespace, key string) error {
	if err := idempotency.CheckKey(key); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if namespace != "" {
		if err := idempotency.CheckKey(namespace); err != nil {
			return fmt.Errorf("sqlstore: %s: namespace: %w", op, err)
		}
	}
	return nil
}
