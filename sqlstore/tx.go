package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
)

var _ idempotency.TxStore[*sqlx.Tx] = (*Store)(nil)

// BeginTx implements [idempotency.TxStore.BeginTx]: [idempotency.TxManager]
// calls it to open a transaction holding req's key. The transaction is
// opened with the database's default isolation level, and on PostgreSQL
// with idle_in_transaction_session_timeout set to req.Lease for the
// transaction, so that the server ends a transaction whose client hung. See
// [txQueries] for how each dialect keeps duplicates from waiting on a claim
// in flight.
//
// While most claims are retries it reads first, as [Store.Claim] does,
// outside any transaction: a replay is one plain read by primary key.
func (s *Store) BeginTx(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	return s.claimTx(ctx, nil, req)
}

// JoinTx implements [idempotency.TxStore.JoinTx] for
// [idempotency.TxManager.DoIn]: a plain read in tx answers a finished key;
// otherwise it claims the key in tx behind a savepoint. It uses no other
// connection of the pool. On MySQL the key's named lock is released when
// the claim ends, and InnoDB keeps the new row locked until tx ends: a
// duplicate arriving between the end of DoIn and the caller's commit waits
// for that commit.
func (s *Store) JoinTx(ctx context.Context, tx *sqlx.Tx, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	if tx == nil {
		return nil, idempotency.ClaimResult{}, errors.New("sqlstore: JoinTx: tx is nil; use TxManager.Do to have the store open a transaction")
	}
	return s.claimTx(ctx, tx, req)
}

// RetryableTx implements [idempotency.TxStore.RetryableTx]: serialization
// failures and deadlocks (PostgreSQL 40001 and 40P01, MySQL 1213), and
// SQLite's SQLITE_BUSY inside a transaction (a reader that could not become
// a writer). A MySQL lock wait timeout is not among them: it ends the
// statement, not the transaction; nor is a claim that waited out SQLite's
// busy timeout.
func (s *Store) RetryableTx(err error) bool {
	var busy *busyError
	if errors.As(err, &busy) {
		return false
	}
	switch errorCode(err) {
	case "40001", "40P01", "mysql:1213", "sqlite:5", "sqlite:6":
		return true
	}
	return false
}

// claimTx claims req's key in a new transaction (outer nil) or behind a
// savepoint in outer.
func (s *Store) claimTx(ctx context.Context, outer *sqlx.Tx, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	if err := checkClaim(req); err != nil {
		return nil, idempotency.ClaimResult{}, err
	}
	if outer != nil {
		return s.joinTx(ctx, outer, req)
	}
	observed := false
	if s.plan.readFirst() {
		// Outside the transaction: a finished record is final, and reading
		// it this way writes nothing and locks nothing.
		st, err := s.read(ctx, req)
		if err != nil {
			return nil, idempotency.ClaimResult{}, s.wrap("claim", err)
		}
		s.plan.observe(st.found)
		observed = true
		if st.found && !st.claimable {
			return nil, idempotency.ClaimResult{Record: st.Record}, nil
		}
	}
	if err := s.prepareTx(ctx); err != nil {
		return nil, idempotency.ClaimResult{}, s.wrap("claim: prepare", err)
	}
	c := s.newClaim(ctx, req)
	if err := c.begin(ctx); err != nil {
		c.cancel()
		return nil, idempotency.ClaimResult{}, s.wrap("claim: begin", err)
	}
	return c.finishClaim(ctx, req, !observed)
}

// joinTx claims req's key in the caller's transaction. It never uses the
// pool: the caller holds a connection already, perhaps the pool's last. A
// plain read in the transaction answers a replay without taking a lock; only
// a key it does not find finished is claimed behind a savepoint.
func (s *Store) joinTx(ctx context.Context, outer *sqlx.Tx, req idempotency.ClaimRequest) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	c := s.newClaim(ctx, req)
	c.tx = outer
	c.unprepared = !s.txPrepared.Load()
	st, err := s.readRecord(c.ctx, req, c.queryRow)
	if err != nil {
		c.cancel()
		return nil, idempotency.ClaimResult{}, s.wrap("claim", err)
	}
	// Only a finished record is final: a processing one may have finished
	// since the caller's snapshot was taken, which the locking read of the
	// claim sees. (On SQLite the read makes a transaction that had not
	// written yet a reader, and a reader that must then write while
	// another connection writes fails at once with SQLITE_BUSY: a failure
	// of tx as a whole, returned for the caller to retry.)
	if st.found && !st.claimable && st.State != idempotency.StateProcessing {
		c.cancel()
		return nil, idempotency.ClaimResult{Record: st.Record}, nil
	}
	c.savepoint = "idempotency_" + strconv.FormatUint(s.savepoints.Add(1), 10)
	if _, err := outer.ExecContext(c.ctx, "SAVEPOINT "+c.savepoint); err != nil {
		c.cancel()
		return nil, idempotency.ClaimResult{}, s.wrap("claim: savepoint", err)
	}
	return c.finishClaim(ctx, req, false)
}

// finishClaim claims the key in the claim's open transaction, and ends the
// claim again when it cannot.
func (c *txClaim) finishClaim(ctx context.Context, req idempotency.ClaimRequest, observe bool) (idempotency.ClaimedTx[*sqlx.Tx], idempotency.ClaimResult, error) {
	claimed, rec, err := c.claim(c.ctx, req, observe)
	if err != nil || !claimed {
		if rerr := c.Rollback(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		if err != nil {
			return nil, idempotency.ClaimResult{}, c.s.wrap("claim", err)
		}
		return nil, idempotency.ClaimResult{Record: rec}, nil
	}
	return c, idempotency.ClaimResult{Claimed: true}, nil
}

// prepareTx prepares the statements of a claim in a transaction on the pool
// before the claim holds a connection: preparing needs a connection of its
// own, and a claim holding the last one of a full pool would wait for
// itself until its lease ran out. JoinTx cannot do this (its caller holds a
// connection already): until a BeginTx has prepared them, it sends its
// statements unprepared.
func (s *Store) prepareTx(ctx context.Context) error {
	if s.txPrepared.Load() {
		return nil
	}
	for _, q := range []string{s.tq.insert, s.tq.insertBegin, s.tq.inspect, s.tq.held, s.tq.complete, s.q.takeover, s.q.selectRecord} {
		if q == "" {
			continue
		}
		if _, err := s.stmts.get(ctx, q); err != nil {
			return err
		}
	}
	s.txPrepared.Store(true)
	return nil
}

// newClaim returns a claim of req whose context ends when the lease runs
// out.
func (s *Store) newClaim(ctx context.Context, req idempotency.ClaimRequest) *txClaim {
	c := &txClaim{
		s:    s,
		lock: idempotency.Lock{Namespace: req.Namespace, Key: req.Key, Token: req.Token},
	}
	c.leaseEnd = time.Now().Add(req.Lease)
	c.ctx, c.cancel = context.WithDeadlineCause(ctx, c.leaseEnd, idempotency.ErrLeaseLost)
	switch s.dialect {
	case Postgres:
		c.pgLock = pgLockKey(s.table, req.Namespace, req.Key)
	case MySQL:
		c.lockName = mysqlLockName(s.table, req.Namespace, req.Key)
	}
	c.idleTimeout = strconv.FormatInt(req.Lease.Milliseconds(), 10)
	return c
}

// commitGrace bounds a COMMIT or ROLLBACK past the lease: long enough for
// any healthy server, short enough that a hung one does not hold the
// connection for good.
const commitGrace = 5 * time.Second

// begin opens the claim's own transaction, on a connection pinned for the
// claim, so that MySQL's named lock, which outlives the transaction, can be
// released there after it.
//
// The transaction's context does not end with ctx or the lease:
// database/sql would then roll it back from a goroutine of its own, which
// pgx cannot do with the ended context (it drops the connection instead,
// and the server frees the key whenever it notices). The claim rolls it back
// itself when its context ends, and an end of the claim waits for that
// rollback. The transaction's context still ends commitGrace after the
// lease, so that a COMMIT or ROLLBACK that hangs cannot hold it forever.
func (c *txClaim) begin(ctx context.Context) error {
	conn, err := c.s.db.Connx(c.ctx)
	if err != nil {
		return err
	}
	tctx, tcancel := context.WithDeadline(context.WithoutCancel(ctx), c.leaseEnd.Add(commitGrace))
	tx, err := conn.BeginTxx(tctx, nil)
	if err != nil {
		tcancel()
		conn.Close()
		return err
	}
	c.conn, c.tx, c.txCancel = conn, tx, tcancel
	c.stopWatch = context.AfterFunc(c.ctx, func() { c.end(false) }) //nolint:errcheck // the claim's own end reports it
	return nil
}

// end commits or rolls back the transaction BeginTx opened, once: the first
// caller (the claim's end, or the watch on its context) does it, and a
// second waits for the first and reports whether its transaction committed.
func (c *txClaim) end(commit bool) error {
	c.endOnce.Do(func() {
		if commit {
			c.endErr = c.tx.Commit()
		} else {
			c.endErr = c.tx.Rollback()
		}
		c.committed = commit && c.endErr == nil
		c.unpin()
		c.txCancel()
	})
	if commit && !c.committed && c.endErr == nil {
		return fmt.Errorf("transaction rolled back when its context ended: %w", context.Cause(c.ctx))
	}
	return c.endErr
}

// txClaim is a claim held inside a transaction: the store's half of
// [idempotency.TxManager]. It implements [idempotency.ClaimedTx].
type txClaim struct {
	s      *Store
	tx     *sqlx.Tx
	lock   idempotency.Lock
	ctx    context.Context // ends when the lease runs out or the claim ends
	cancel context.CancelFunc

	savepoint   string // JoinTx: the savepoint before the claim; "" when the store opened tx
	leaseEnd    time.Time
	conn        *sqlx.Conn  // BeginTx: the pinned connection of the transaction
	txCancel    func()      // BeginTx: ends the transaction's own context
	stopWatch   func() bool // BeginTx: stops the rollback when ctx ends
	endOnce     sync.Once   // BeginTx: the transaction ends once
	endErr      error
	committed   bool
	idleTimeout string // PostgreSQL, BeginTx: the lease in milliseconds

	pgLock   int64  // PostgreSQL: the key's advisory lock
	lockName string // MySQL: the key's named lock
	// locks counts how many times this claim took MySQL's named lock. mu
	// guards it: a rollback when the claim's context ends runs on a
	// goroutine of its own.
	mu    sync.Mutex
	locks int

	unprepared bool // the transaction is another pool's: send statements unprepared
	ended      bool
}

// Tx returns the transaction holding the claim.
func (c *txClaim) Tx() *sqlx.Tx { return c.tx }

// Context returns the claim's context: done when the lease runs out, with
// cause ErrLeaseLost.
func (c *txClaim) Context() context.Context { return c.ctx }

// inProgress is the answer for a claim in flight in another transaction.
func inProgress(key string) error {
	return fmt.Errorf("key %q is claimed by a transaction in flight: %w", key, idempotency.ErrInProgress)
}

// claim inserts the claim, or takes over an expired record or a lapsed lease
// of the same request, inside the transaction. It returns the record that
// holds the key when it cannot claim it, and an error wrapping
// ErrInProgress for a claim in flight in another transaction. observe
// teaches the store's claim planner what the first insert found.
func (c *txClaim) claim(ctx context.Context, req idempotency.ClaimRequest, observe bool) (bool, idempotency.Record, error) {
	s := c.s
	lease, expiry := s.dur(req.Lease), s.dur(req.Lease+req.TTL)
	for range claimAttempts {
		n, err := c.exec(ctx, c.insertQuery(), c.insertArgs(req, lease, expiry)...)
		// MySQL's GET_LOCK in the insert may have taken the named lock
		// whatever the statement then did: count it each time, since
		// releasing a lock not held is a no-op and leaking one would make
		// the key look in flight for as long as the connection lives.
		c.tookLock()
		if err != nil {
			switch {
			case errorCode(err) == "mysql:1205":
				// The insert waited as long as InnoDB lets it for
				// another transaction's row of this key: that
				// transaction holds the key (a DoIn whose caller has
				// not committed yet).
				return false, idempotency.Record{}, fmt.Errorf("%w: %w", inProgress(req.Key), err)
			case s.dialect == SQLite && c.savepoint == "" && isLockWait(err):
				// The insert is the transaction's first statement, so it
				// waited for the writer: another connection wrote for the
				// whole busy timeout, on any key. The database is busy,
				// and running the transaction again would wait as long
				// again. (In a caller's transaction a SQLITE_BUSY comes at
				// once, from a reader that could not become a writer:
				// that one the caller retries.)
				return false, idempotency.Record{}, &busyError{err}
			}
			return false, idempotency.Record{}, err
		}
		if observe {
			s.plan.observe(n == 0)
			observe = false
		}
		if n == 1 {
			return true, idempotency.Record{}, nil
		}
		st, held, err := c.inspect(ctx, req)
		if err != nil {
			return false, idempotency.Record{}, err
		}
		switch {
		case !st.found && held:
			continue // deleted between the insert and the read: insert again
		case !st.found:
			return false, idempotency.Record{}, inProgress(req.Key)
		case !st.claimable:
			return false, st.Record, nil
		case !held:
			return false, idempotency.Record{}, inProgress(req.Key) // a rival is taking it over
		}
		n, err = c.exec(ctx, s.q.takeover, s.clock(req.Fingerprint, req.Token, lease, expiry, req.Namespace, req.Key, req.Fingerprint)...)
		if err != nil {
			return false, idempotency.Record{}, err
		}
		if n == 1 {
			return true, idempotency.Record{}, nil
		}
	}
	return false, idempotency.Record{}, fmt.Errorf("key %q did not settle after %d attempts under contention; retry", req.Key, claimAttempts)
}

// isLockWait reports an SQLite statement that waited for the writer as
// long as the busy timeout allows. SQLITE_BUSY_SNAPSHOT is not one: a
// transaction whose snapshot is too old to write must run again, like a
// serialization failure.
func isLockWait(err error) bool {
	switch errorCode(err) {
	case "sqlite:5", "sqlite:6":
		return sqliteExtendedCode(err) != sqliteBusySnapshot
	}
	return false
}

// busyError is a claim that waited out SQLite's busy timeout. It is not a
// transaction to run again: that would wait as long again.
type busyError struct{ err error }

func (e *busyError) Error() string {
	return "the database stayed busy (another connection was writing) for the whole busy timeout: " + e.err.Error()
}

func (e *busyError) Unwrap() error { return e.err }

// sqliteBusySnapshot is SQLITE_BUSY_SNAPSHOT.
const sqliteBusySnapshot = 5 | 2<<8

// sqliteExtendedCode returns modernc.org/sqlite's full result code in err,
// or -1.
func sqliteExtendedCode(err error) int {
	for _, e := range chain(err) {
		if c, ok := e.(interface{ Code() int }); ok {
			return c.Code()
		}
	}
	return -1
}

func (c *txClaim) insertQuery() string {
	if c.savepoint == "" {
		return c.s.tq.insertBegin
	}
	return c.s.tq.insert
}

func (c *txClaim) insertArgs(req idempotency.ClaimRequest, lease, expiry int64) []any {
	args := []any{req.Namespace, req.Key, req.Fingerprint, req.Token, lease, expiry}
	switch c.s.dialect {
	case Postgres:
		args = append(args, c.pgLock)
		if c.savepoint == "" {
			args = append(args, c.idleTimeout)
		}
	case MySQL:
		args = append(args, c.lockName)
	default:
		args = c.s.clock(args...)
	}
	return args
}

// inspect reads the record after an insert that claimed nothing, and
// whether this transaction holds the key's lock.
func (c *txClaim) inspect(ctx context.Context, req idempotency.ClaimRequest) (claimStep, bool, error) {
	s := c.s
	var st claimStep
	switch s.dialect {
	case Postgres:
		var (
			state           sql.NullInt16
			fp              sql.NullString
			expired, lapsed sql.NullBool
			held            bool
			left            sql.NullInt64
		)
		err := c.queryRow(ctx, s.tq.inspect, []any{c.pgLock, req.Namespace, req.Key}, &state, &fp, &st.Payload, &expired, &lapsed, &held, &left)
		if err != nil || !state.Valid {
			return claimStep{}, held, err
		}
		st.found, st.State, st.Fingerprint = true, idempotency.State(state.Int16), fp.String
		st.claimable = isClaimable(st.Record, req, expired.Bool, lapsed.Bool)
		st.setExpiresIn(expired.Bool, left.Int64)
		return st, held, nil
	case MySQL:
		var expired, lapsed, held bool
		var left int64
		err := c.queryRow(ctx, s.tq.inspect, []any{c.lockName, req.Namespace, req.Key}, &st.State, &st.Fingerprint, &st.Payload, &expired, &lapsed, &held, &left)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = c.queryRow(ctx, s.tq.held, []any{c.lockName}, &held)
			return claimStep{}, held, err
		case isNowait(err):
			return c.readFinished(ctx, req)
		case err != nil:
			return claimStep{}, false, err
		}
		st.found = true
		st.claimable = isClaimable(st.Record, req, expired, lapsed)
		st.setExpiresIn(expired, left)
		return st, held, nil
	default:
		// This transaction's insert holds SQLite's write lock: nobody else
		// writes until it ends, and the read sees the latest commit.
		var expiresAt, lockedUntil int64
		err := c.queryRow(ctx, s.tq.inspect, []any{req.Namespace, req.Key}, &st.State, &st.Fingerprint, &st.Payload, &expiresAt, &lockedUntil)
		if errors.Is(err, sql.ErrNoRows) {
			return claimStep{}, true, nil
		}
		if err != nil {
			return claimStep{}, true, err
		}
		now := time.Now()
		ms := now.UnixMilli()
		st.found = true
		st.claimable = isClaimable(st.Record, req, expiresAt <= ms, lockedUntil <= ms)
		st.setExpiresIn(expiresAt <= ms, expiresAt*1000-now.UnixMicro())
		return st, true, nil
	}
}

// readFinished answers for a MySQL row that another transaction holds
// locked: a plain read finds it finished when the lock is a rival's replay
// of a committed outcome; otherwise the key is in flight.
func (c *txClaim) readFinished(ctx context.Context, req idempotency.ClaimRequest) (claimStep, bool, error) {
	st, err := c.s.readRecord(ctx, req, c.queryRow)
	if err != nil {
		return claimStep{}, false, err
	}
	if st.found && !st.claimable && st.State != idempotency.StateProcessing {
		return st, false, nil
	}
	return claimStep{}, false, inProgress(req.Key)
}

// isNowait reports a locking read with NOWAIT that met a row another
// transaction holds: MySQL 8 answers 3572, MariaDB 1205.
func isNowait(err error) bool {
	code := errorCode(err)
	return code == "mysql:3572" || code == "mysql:1205"
}

// Complete records the outcome in the claim's transaction.
func (c *txClaim) Complete(ctx context.Context, state idempotency.State, payload []byte, ttl time.Duration) error {
	payload, err := checkComplete(state, payload, ttl)
	if err != nil {
		return err
	}
	s := c.s
	args := []any{uint8(state), payload, s.dur(ttl), c.lock.Namespace, c.lock.Key, c.lock.Token}
	if c.lockName != "" { // MySQL: the statement releases the named lock once
		args = slices.Insert(args, 3, any(c.lockName))
	}
	// The lock may be released whether or not the statement succeeds: a
	// release of a lock not held is a no-op, so the claim's end releases
	// the full count again unless the statement reported success.
	n, err := c.exec(ctx, s.tq.complete, s.clock(args...)...)
	if err != nil {
		return s.wrap("complete", err)
	}
	if n == 1 && c.lockName != "" {
		c.mu.Lock()
		c.locks = max(c.locks-1, 0)
		c.mu.Unlock()
	}
	if n != 1 {
		// The claim was made in this very transaction; only a bug or a
		// statement of fn's that changed the row can get here.
		return fmt.Errorf("sqlstore: complete key %q: the claim's row changed inside its transaction: %w", c.lock.Key, idempotency.ErrLeaseLost)
	}
	return nil
}

// Commit commits the transaction BeginTx opened, or releases JoinTx's
// savepoint, and releases the key's lock where the store must (MySQL).
func (c *txClaim) Commit(ctx context.Context) error {
	if c.ended {
		return errors.New("sqlstore: claim already ended")
	}
	c.ended = true
	defer c.cancel()
	if c.savepoint == "" {
		c.stopWatch()
		if err := c.end(true); err != nil {
			return c.s.wrap("commit", err)
		}
		return nil
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	if _, err := c.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+c.savepoint); err != nil {
		c.ended = false // the caller's Rollback rolls back to the savepoint
		return c.s.wrap("release savepoint", err)
	}
	return c.unlock(ctx)
}

// cleanupContext is the context of the statements that end a claim in the
// caller's transaction: they must run even when ctx has ended (the lease
// ran out, the caller gave up), or the caller's transaction would keep the
// claim, fn's writes or the key's lock. They are bounded by commitGrace.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), commitGrace)
}

// Rollback rolls back the transaction BeginTx opened, or rolls back to
// JoinTx's savepoint, and releases the key's lock where the store must.
// Ending a claim that has ended does nothing.
func (c *txClaim) Rollback(ctx context.Context) error {
	if c.ended {
		return nil
	}
	c.ended = true
	defer c.cancel()
	if c.savepoint == "" {
		c.stopWatch()
		if err := c.end(false); err != nil {
			return c.s.wrap("rollback", err)
		}
		return nil
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	_, err := c.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+c.savepoint)
	if err == nil {
		_, err = c.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+c.savepoint)
	}
	if err != nil {
		err = c.s.wrap("rollback to savepoint", err)
	}
	return errors.Join(err, c.unlock(ctx))
}

// tookLock counts a named lock the insert took (MySQL), to be released as
// many times when the claim ends. Other dialects' locks end with the
// transaction or savepoint.
func (c *txClaim) tookLock() {
	if c.lockName != "" {
		c.mu.Lock()
		c.locks++
		c.mu.Unlock()
	}
}

// takeLocks returns how many times the named lock is to be released, and
// forgets them.
func (c *txClaim) takeLocks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.locks
	c.locks = 0
	return n
}

// unlock releases MySQL's named lock inside the caller's transaction.
func (c *txClaim) unlock(ctx context.Context) error {
	n := c.takeLocks()
	if n == 0 {
		return nil
	}
	_, err := c.tx.ExecContext(ctx, releaseLocks(c.lockName, n))
	if err != nil {
		return c.s.wrap("release lock", err)
	}
	return nil
}

// unlockTimeout bounds releasing MySQL's named lock after a commit.
const unlockTimeout = 5 * time.Second

// unpin returns the pinned connection to the pool once the transaction has
// ended, after releasing MySQL's named lock there. A connection that may still hold the
// lock is closed instead: the key would look in flight for as long as it
// lived.
func (c *txClaim) unpin() {
	if c.conn == nil {
		return
	}
	defer c.conn.Close()
	n := c.takeLocks()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	if _, err := c.conn.ExecContext(ctx, releaseLocks(c.lockName, n)); err != nil {
		_ = c.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

func (c *txClaim) exec(ctx context.Context, query string, args ...any) (int64, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	var res sql.Result
	if st != nil {
		res, err = st.ExecContext(ctx, args...)
		if c.foreign(err) {
			return c.exec(ctx, query, args...)
		}
	} else {
		res, err = c.tx.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c *txClaim) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return err
	}
	if st == nil {
		return c.tx.QueryRowContext(ctx, query, args...).Scan(dest...)
	}
	err = st.QueryRowContext(ctx, args...).Scan(dest...)
	if c.foreign(err) {
		return c.queryRow(ctx, query, args, dest...)
	}
	return err
}

// stmt returns the store's prepared statement for query, bound to the
// claim's transaction, or nil when the transaction belongs to another pool
// (a caller's transaction opened on a *sql.DB of its own): database/sql
// cannot use one pool's statement there, so the query is sent unprepared.
func (c *txClaim) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if c.unprepared {
		return nil, nil
	}
	st, err := c.s.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return c.tx.StmtContext(ctx, st), nil
}

// foreign reports database/sql's refusal of a statement prepared on another
// pool, and remembers to send this claim's statements unprepared. The error
// has no value or type to match, only its text; it is returned before
// anything reaches the database.
func (c *txClaim) foreign(err error) bool {
	if err == nil || err.Error() != "sql: Tx.Stmt: statement from different database used" {
		return false
	}
	c.unprepared = true
	return true
}
