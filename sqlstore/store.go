package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
)

// DefaultTable is the table name used when Config.Table is empty.
const DefaultTable = "idempotency_keys"

// Column limits, validated before any statement so that MySQL's INSERT IGNORE
// can never truncate a value into a warning.
const (
	maxFingerprintLen = 128
	maxTokenLen       = 64
)

// Config selects a [Store]'s dialect and table. Its zero value is not valid:
// Dialect is required.
type Config struct {
	// Dialect is the SQL dialect of db. Required.
	Dialect Dialect
	// Table is the table name: letters, digits and underscores, not
	// starting with a digit, at most 63 bytes, optionally qualified with a
	// schema (Postgres) or database (MySQL) name as "schema.table". It is
	// quoted in every statement. Defaults to "idempotency_keys".
	Table string
	// ClaimOrder chooses whether a claim writes or reads first; the zero
	// value, AdaptiveOrder, chooses by the traffic it sees. See
	// [ClaimOrder].
	ClaimOrder ClaimOrder
}

// Store is an [idempotency.Store] on a SQL database, shared by every process
// that uses the same table. Every statement on the hot path is autocommit;
// the package documentation lists them. Leases and expiry are
// compared with the database clock, so application hosts with skewed clocks
// agree.
//
// A Store is safe for concurrent use. It prepares each statement once per
// connection, lazily; [Store.Close] releases them. Its zero value is not
// usable: call [New].
type Store struct {
	db      *sqlx.DB
	dialect Dialect
	table   string // validated, unquoted
	q       queries
	tq      txQueries
	iq      inspectQueries
	stmts   stmtCache
	unit    int64 // microseconds per duration argument unit

	// plan chooses whether a claim writes or reads first.
	plan claimPlanner

	// txPrepared is set once the statements of a claim in a transaction
	// are prepared on the pool (see Store.prepareTx).
	txPrepared atomic.Bool

	// savepoints numbers JoinTx's savepoints, so that nested claims in one
	// transaction never share a name.
	savepoints atomic.Uint64

	// noReadCommitted is set once MySQL refused a READ COMMITTED cleanup
	// batch (binlog_format=STATEMENT).
	noReadCommitted atomic.Bool
}

var _ idempotency.Store = (*Store)(nil)

// New returns a Store for db. It validates cfg but does not touch the
// database: call [Store.Migrate] (or apply [Schema] with your migration tool)
// before use.
func New(db *sqlx.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: New: db is nil")
	}
	switch cfg.Dialect {
	case Postgres, MySQL, SQLite:
	case "":
		return nil, errors.New("sqlstore: New: Config.Dialect is required: sqlstore.Postgres, sqlstore.MySQL or sqlstore.SQLite")
	default:
		return nil, fmt.Errorf("sqlstore: New: unknown Config.Dialect %q: want sqlstore.Postgres, sqlstore.MySQL or sqlstore.SQLite", cfg.Dialect)
	}
	table := cfg.Table
	if table == "" {
		table = DefaultTable
	}
	if err := validTable(cfg.Dialect, table); err != nil {
		return nil, err
	}
	if cfg.ClaimOrder < AdaptiveOrder || cfg.ClaimOrder > ReadFirst {
		return nil, fmt.Errorf("sqlstore: New: unknown Config.ClaimOrder %v: want AdaptiveOrder, WriteFirst or ReadFirst", cfg.ClaimOrder)
	}
	s := &Store{
		db:      db,
		dialect: cfg.Dialect,
		table:   table,
		q:       buildQueries(cfg.Dialect, cfg.Dialect.quote(table)),
		tq:      buildTxQueries(cfg.Dialect, cfg.Dialect.quote(table)),
		iq:      buildInspectQueries(cfg.Dialect, cfg.Dialect.quote(table)),
		unit:    cfg.Dialect.durationUnitMicros(),
	}
	s.plan.order = cfg.ClaimOrder
	s.stmts.db = db.DB
	return s, nil
}

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Table returns the store's table name, unquoted.
func (s *Store) Table() string { return s.table }

// Close closes the store's prepared statements. It does not close the
// database handle. Call it after the last use: a call running concurrently
// with Close may fail with "statement is closed". Calls after Close prepare
// statements again.
func (s *Store) Close() error {
	s.txPrepared.Store(false)
	return s.stmts.close()
}

// dur converts d to the dialect's duration unit, rounding up so that a
// positive duration never becomes zero (without overflowing near MaxInt64).
func (s *Store) dur(d time.Duration) int64 {
	u := time.Duration(s.unit) * time.Microsecond
	q := d / u
	if d%u > 0 {
		q++
	}
	return int64(q)
}

// checkDurations rejects a lease or TTL whose sum would overflow into a
// negative duration, which would write the record already expired.
func checkDurations(op string, lease, ttl time.Duration) error {
	if lease <= 0 || ttl <= 0 {
		return fmt.Errorf("sqlstore: %s: lease (%v) and TTL (%v) must be positive", op, lease, ttl)
	}
	if ttl > math.MaxInt64-lease {
		return fmt.Errorf("sqlstore: %s: lease %v plus TTL %v overflows a time.Duration", op, lease, ttl)
	}
	return nil
}

// clock returns args for a statement marked "+now" in [queries]: on SQLite,
// with the current time in Unix milliseconds appended; elsewhere unchanged,
// since the server's clock is used in SQL.
func (s *Store) clock(args ...any) []any {
	if s.dialect != SQLite {
		return args
	}
	return append(args, time.Now().UnixMilli())
}

// claimAttempts bounds the claim loop; each round is lost only to a rival
// that changed the row in between, which cannot go on for long.
const claimAttempts = 16

// Claim implements [idempotency.Store.Claim]. Writing first, a new key is
// one statement, the insert; reading first, a replay is one plain read that
// never writes or locks. Config.ClaimOrder chooses; see [ClaimOrder].
func (s *Store) Claim(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	if err := checkClaim(req); err != nil {
		return idempotency.ClaimResult{}, err
	}
	lease, expiry := s.dur(req.Lease), s.dur(req.Lease+req.TTL)
	writeFirst := !s.plan.readFirst()
	observed := false // the first step of the first round teaches the planner
	var lastErr error
	for range claimAttempts {
		var (
			step claimStep
			err  error
		)
		if writeFirst {
			step, err = s.writeFirst(ctx, req, lease, expiry)
		} else {
			step, err = s.read(ctx, req)
		}
		// A lost race leaves a row behind (or removed one): look first.
		writeFirst = false
		if err == nil && !observed {
			observed = true
			s.plan.observe(step.found) // false when the insert claimed it
		}
		if err == nil && !step.claimed {
			switch {
			case step.found && !step.claimable:
				return idempotency.ClaimResult{Record: step.Record}, nil
			case step.found:
				step.claimed, err = s.takeOver(ctx, req, lease, expiry)
				step.tookOver = step.claimed && step.lapsed
			default:
				step.claimed, err = s.insert(ctx, req, lease, expiry)
			}
		}
		if err != nil {
			if isRetryable(err) {
				lastErr = err
				continue
			}
			return idempotency.ClaimResult{}, s.wrap("claim", err)
		}
		if step.claimed {
			return idempotency.ClaimResult{Claimed: true, TookOver: step.tookOver}, nil
		}
		// A rival inserted or took over the row in between: read again.
	}
	if lastErr == nil {
		lastErr = errors.New("a rival changed the row every time")
	}
	return idempotency.ClaimResult{}, s.wrap("claim", fmt.Errorf("key %q did not settle after %d attempts under contention; retry: %w", req.Key, claimAttempts, lastErr))
}

// claimStep is what the first statements of a claim found.
type claimStep struct {
	idempotency.Record      // the existing record, when found
	claimed            bool // the key is ours
	found              bool // a record exists
	claimable          bool // found, and expired or a lapsed lease of the same request
	lapsed             bool // claimable as a lapsed lease, not expired
	tookOver           bool // claimed by taking over a lapsed lease
}

// writeFirst claims an absent key with the insert, and reads the record
// when the key exists.
func (s *Store) writeFirst(ctx context.Context, req idempotency.ClaimRequest, lease, expiry int64) (claimStep, error) {
	claimed, err := s.insert(ctx, req, lease, expiry)
	if err != nil || claimed {
		return claimStep{claimed: claimed}, err
	}
	return s.read(ctx, req)
}

// read looks the key up with a plain read by primary key.
func (s *Store) read(ctx context.Context, req idempotency.ClaimRequest) (claimStep, error) {
	return s.readRecord(ctx, req, s.queryRow)
}

// rowQuerier runs a query that returns one row, on the pool or in a
// transaction.
type rowQuerier func(ctx context.Context, query string, args []any, dest ...any) error

// readRecord looks the key up with a plain read by primary key through q.
func (s *Store) readRecord(ctx context.Context, req idempotency.ClaimRequest, q rowQuerier) (claimStep, error) {
	var (
		st              claimStep
		expired, lapsed bool
		left            sql.NullInt64 // microseconds before expiry
	)
	var err error
	if s.dialect == SQLite {
		var expiresAt, lockedUntil int64
		err = q(ctx, s.q.selectRecord, []any{req.Namespace, req.Key},
			&st.State, &st.Fingerprint, &st.Payload, &expiresAt, &lockedUntil)
		// Read after the row, so that a record that expired while the
		// statement waited for a connection is not replayed. A lease
		// seen lapsed a little early is harmless: the takeover re-checks
		// it with its own clock.
		now := time.Now()
		ms := now.UnixMilli()
		expired, lapsed = expiresAt <= ms, lockedUntil <= ms
		// The record expires at the start of millisecond expiresAt:
		// count the time left in microseconds, not from a floored now.
		left = sql.NullInt64{Int64: expiresAt*1000 - now.UnixMicro(), Valid: true}
	} else {
		err = q(ctx, s.q.selectRecord, []any{req.Namespace, req.Key},
			&st.State, &st.Fingerprint, &st.Payload, &expired, &lapsed, &left)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return claimStep{}, nil
	}
	if err != nil {
		return claimStep{}, err
	}
	st.found = true
	st.claimable = isClaimable(st.Record, req, expired, lapsed)
	st.lapsed = st.claimable && !expired
	st.setExpiresIn(expired, left.Int64) // 0 when NULL: not told
	return st, nil
}

// setExpiresIn tells how long a finished record has left: left
// microseconds, read with the expiry check.
func (st *claimStep) setExpiresIn(expired bool, left int64) {
	if st.State != idempotency.StateProcessing && !expired && left > 0 {
		st.ExpiresIn = time.Duration(left) * time.Microsecond
	}
}

// isClaimable reports whether an existing record may be taken over: it has
// expired, or it is the lapsed lease of a claim of the same request.
func isClaimable(r idempotency.Record, req idempotency.ClaimRequest, expired, lapsed bool) bool {
	return expired || (r.State == idempotency.StateProcessing && lapsed && r.Fingerprint == req.Fingerprint)
}

// insert claims an absent key; it claims nothing when the key exists.
func (s *Store) insert(ctx context.Context, req idempotency.ClaimRequest, lease, expiry int64) (bool, error) {
	n, err := s.exec(ctx, s.q.insert, s.clock(req.Namespace, req.Key, req.Fingerprint, req.Token, lease, expiry)...)
	return n == 1, err
}

// takeOver claims an expired record or a lapsed lease of the same request;
// it claims nothing when a rival changed the row since it was read.
func (s *Store) takeOver(ctx context.Context, req idempotency.ClaimRequest, lease, expiry int64) (bool, error) {
	n, err := s.exec(ctx, s.q.takeover, s.clock(req.Fingerprint, req.Token, lease, expiry, req.Namespace, req.Key, req.Fingerprint)...)
	return n == 1, err
}

// Renew implements [idempotency.Store.Renew].
func (s *Store) Renew(ctx context.Context, lock idempotency.Lock, lease, ttl time.Duration) error {
	if err := checkDurations("renew lease", lease, ttl); err != nil {
		return err
	}
	n, err := s.exec(ctx, s.q.renew, s.clock(s.dur(lease), s.dur(lease+ttl), lock.Namespace, lock.Key, lock.Token)...)
	if err != nil {
		return s.wrap("renew lease", err)
	}
	if n == 1 {
		return nil
	}
	// MySQL counts changed rows, not matched ones: a renewal within the
	// same microsecond changes nothing. Ask whether the claim is still ours.
	return s.confirmOwner(ctx, "renew lease", lock, idempotency.StateProcessing)
}

// Complete implements [idempotency.Store.Complete].
func (s *Store) Complete(ctx context.Context, lock idempotency.Lock, state idempotency.State, payload []byte, ttl time.Duration) error {
	payload, err := checkComplete(state, payload, ttl)
	if err != nil {
		return err
	}
	n, err := s.exec(ctx, s.q.complete, s.clock(uint8(state), payload, s.dur(ttl), lock.Namespace, lock.Key, lock.Token)...)
	if err != nil {
		return s.wrap("complete", err)
	}
	if n == 1 {
		return nil
	}
	// A retry of a completion whose answer was lost finds its own outcome.
	return s.confirmOwner(ctx, "complete", lock, state)
}

// checkComplete validates an outcome to record, and returns the payload to
// write: never NULL, which means "no outcome yet".
func checkComplete(state idempotency.State, payload []byte, ttl time.Duration) ([]byte, error) {
	if state != idempotency.StateCompleted && state != idempotency.StateFailed {
		return nil, fmt.Errorf("sqlstore: complete: state %v is not a final state", state)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("sqlstore: complete: TTL %v must be positive", ttl)
	}
	if payload == nil {
		payload = []byte{}
	}
	return payload, nil
}

// Release implements [idempotency.Store.Release].
func (s *Store) Release(ctx context.Context, lock idempotency.Lock) error {
	n, err := s.exec(ctx, s.q.release, lock.Namespace, lock.Key, lock.Token)
	if err != nil {
		return s.wrap("release", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: release key %q: %w", lock.Key, idempotency.ErrLeaseLost)
	}
	return nil
}

// confirmOwner succeeds when lock's token holds the record in state want, and
// otherwise reports the lease lost.
func (s *Store) confirmOwner(ctx context.Context, op string, lock idempotency.Lock, want idempotency.State) error {
	var state idempotency.State
	err := s.queryRow(ctx, s.q.owner, []any{lock.Namespace, lock.Key, lock.Token}, &state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: %s of key %q: %w", op, lock.Key, idempotency.ErrLeaseLost)
	case err != nil:
		return s.wrap(op, err)
	case state != want:
		return fmt.Errorf("sqlstore: %s of key %q: %w", op, lock.Key, idempotency.ErrLeaseLost)
	}
	return nil
}

// DeleteExpired implements [idempotency.Store.DeleteExpired].
func (s *Store) DeleteExpired(ctx context.Context, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("sqlstore: delete expired: limit %d must be positive", limit)
	}
	var lastErr error
	for range claimAttempts {
		n, err := s.deleteExpired(ctx, limit)
		if err == nil {
			return n, nil
		}
		if !isRetryable(err) || ctx.Err() != nil {
			return n, s.wrap("delete expired", err)
		}
		lastErr = err
	}
	return 0, s.wrap("delete expired", lastErr)
}

// deleteExpired runs one batch. On MySQL it is a READ COMMITTED transaction
// of two statements: a plain read of the oldest expiry, then the DELETE,
// which starts its index range there. InnoDB keeps deleted rows' index
// entries until purge catches up, and a locking scan from the start of the
// index would lock and step over every entry of the batches before it (one
// primary-key lookup each): batches grew from 15ms to over 100ms here. The
// plain read skips them cheaply. The bound travels as text, which reads the
// same whatever the DSN's parseTime and loc say. It is only a hint: the
// DELETE still re-checks expiry on every row it deletes.
func (s *Store) deleteExpired(ctx context.Context, limit int) (int64, error) {
	if s.dialect != MySQL {
		return s.exec(ctx, s.q.deleteExpired, limit)
	}
	n, err := s.deleteExpiredMySQL(ctx, limit, !s.noReadCommitted.Load())
	if errorCode(err) == "mysql:1665" {
		// binlog_format=STATEMENT refuses READ COMMITTED writes; fall back
		// to the session's isolation (and its gap locks) from now on.
		s.noReadCommitted.Store(true)
		return s.deleteExpiredMySQL(ctx, limit, false)
	}
	return n, err
}

func (s *Store) deleteExpiredMySQL(ctx context.Context, limit int, readCommitted bool) (int64, error) {
	// READ COMMITTED takes no gap locks, so a batch does not block claims
	// that insert next to the rows it deletes.
	var opts *sql.TxOptions
	if readCommitted {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it only reports ErrTxDone
	var oldest sql.NullString
	err = tx.QueryRowContext(ctx, s.q.oldestExpiry).Scan(&oldest)
	if err != nil || !oldest.Valid { // no row at all: nothing to delete
		return 0, err
	}
	res, err := tx.ExecContext(ctx, s.q.deleteExpired, oldest.String, limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	st, err := s.stmts.get(ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *Store) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	st, err := s.stmts.get(ctx, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

// checkClaim validates what the database would otherwise truncate or reject
// with a less helpful message.
func checkClaim(req idempotency.ClaimRequest) error {
	if err := idempotency.CheckKey(req.Key); err != nil {
		return fmt.Errorf("sqlstore: claim: %w", err)
	}
	if req.Namespace != "" {
		if err := idempotency.CheckKey(req.Namespace); err != nil {
			return fmt.Errorf("sqlstore: claim: namespace: %w", err)
		}
	}
	switch {
	case req.Fingerprint == "" || len(req.Fingerprint) > maxFingerprintLen:
		return fmt.Errorf("sqlstore: claim: fingerprint must be 1 to %d bytes, got %d", maxFingerprintLen, len(req.Fingerprint))
	case req.Token == "" || len(req.Token) > maxTokenLen:
		return fmt.Errorf("sqlstore: claim: token must be 1 to %d bytes, got %d", maxTokenLen, len(req.Token))
	}
	return checkDurations("claim", req.Lease, req.TTL)
}
