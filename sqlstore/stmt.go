package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache prepares each statement once on the pool; database/sql then
// prepares it on each connection as needed. Without it go-sql-driver/mysql
// prepares, executes and closes every parameterised query: two round trips
// instead of one.
//
// A statement is prepared outside the cache's lock, so that a slow prepare
// (a round trip, at cold start, perhaps to a busy server) holds up only the
// calls that need the same statement.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*stmtEntry
}

// stmtEntry is one statement, prepared or being prepared.
type stmtEntry struct {
	done chan struct{} // closed once st or err is set
	st   *sql.Stmt
	err  error
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	for {
		st, waited, err := c.getOnce(ctx, query)
		// Another caller's prepare ended with that caller's context: this
		// one's may still be live, so it prepares for itself. (Only after
		// waiting on another's: a caller's own error is its answer.)
		if waited && err != nil && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			continue
		}
		return st, err
	}
}

// getOnce returns query's statement, preparing it unless another caller
// is; waited reports that another caller prepared it.
func (c *stmtCache) getOnce(ctx context.Context, query string) (st *sql.Stmt, waited bool, err error) {
	c.mu.RLock()
	e := c.m[query]
	c.mu.RUnlock()
	if e == nil {
		c.mu.Lock()
		if e = c.m[query]; e == nil {
			e = &stmtEntry{done: make(chan struct{})}
			if c.m == nil {
				c.m = make(map[string]*stmtEntry)
			}
			c.m[query] = e
			c.mu.Unlock()
			st, err := c.prepare(ctx, query, e)
			return st, false, err
		}
		c.mu.Unlock()
	}
	select {
	case <-e.done:
		return e.st, true, e.err
	case <-ctx.Done():
		return nil, true, context.Cause(ctx)
	}
}

// prepare prepares query for entry e, which the caller added. Preparing
// fails while the table does not exist yet; the entry is then removed, so
// the next call tries again.
func (c *stmtCache) prepare(ctx context.Context, query string, e *stmtEntry) (*sql.Stmt, error) {
	e.st, e.err = c.db.PrepareContext(ctx, query)
	c.mu.Lock()
	switch {
	case e.err != nil && c.m[query] == e:
		delete(c.m, query)
	case e.err == nil && c.m[query] != e:
		// The cache was closed meanwhile: nobody else will close it.
		_ = e.st.Close()
		e.st, e.err = nil, errors.New("sqlstore: store closed while a statement was prepared")
	}
	c.mu.Unlock()
	close(e.done)
	return e.st, e.err
}

// close closes the prepared statements. A statement still being prepared
// is dropped from the cache; its preparer closes it.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, e := range c.m {
		select {
		case <-e.done:
			if e.st != nil {
				errs = append(errs, e.st.Close())
			}
		default:
		}
		delete(c.m, q)
	}
	return errors.Join(errs...)
}
