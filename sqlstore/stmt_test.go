package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// slowPrepareDriver is a driver whose Prepare of "SLOW" blocks until
// release is closed, and reports when it started.
type slowPrepareDriver struct {
	started, release chan struct{}
	once             sync.Once
}

func (d *slowPrepareDriver) Open(string) (driver.Conn, error) { return slowConn{d}, nil }

type slowConn struct{ d *slowPrepareDriver }

func (c slowConn) Prepare(query string) (driver.Stmt, error) {
	if query == "SLOW" {
		c.d.once.Do(func() { close(c.d.started) })
		<-c.d.release
	}
	return noopStmt{}, nil
}
func (slowConn) Close() error              { return nil }
func (slowConn) Begin() (driver.Tx, error) { return nil, errors.New("no transactions") }

type noopStmt struct{}

func (noopStmt) Close() error                               { return nil }
func (noopStmt) NumInput() int                              { return -1 }
func (noopStmt) Exec([]driver.Value) (driver.Result, error) { return driver.RowsAffected(0), nil }
func (noopStmt) Query([]driver.Value) (driver.Rows, error)  { return nil, errors.New("no rows") }

// TestStmtCachePreparesOutsideItsLock: while one statement's prepare waits
// on the server, other statements are prepared and served.
func TestStmtCachePreparesOutsideItsLock(t *testing.T) {
	d := &slowPrepareDriver{started: make(chan struct{}), release: make(chan struct{})}
	sql.Register("idempotency-slow-prepare", d)
	db, err := sql.Open("idempotency-slow-prepare", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &stmtCache{db: db}
	defer c.close()
	ctx := context.Background()

	slow := make(chan error, 2)
	go func() { _, err := c.get(ctx, "SLOW"); slow <- err }()
	<-d.started
	go func() { _, err := c.get(ctx, "SLOW"); slow <- err }() // waits for the first
	if _, err := c.get(ctx, "FAST"); err != nil {
		t.Fatalf("another statement while SLOW is being prepared: %v", err)
	}
	close(d.release)
	for range 2 {
		if err := <-slow; err != nil {
			t.Fatal(err)
		}
	}
	if st1, _ := c.get(ctx, "SLOW"); st1 == nil {
		t.Fatal("SLOW not cached")
	}
}

// TestStmtCacheWaiterOutlivesPreparersContext: a caller waiting on another
// caller's prepare does not fail with that caller's cancellation.
func TestStmtCacheWaiterOutlivesPreparersContext(t *testing.T) {
	d := &slowPrepareDriver{started: make(chan struct{}), release: make(chan struct{})}
	sql.Register("idempotency-slow-prepare-2", d)
	db, err := sql.Open("idempotency-slow-prepare-2", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &stmtCache{db: db}
	defer c.close()

	leaderCtx, cancel := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() { _, err := c.get(leaderCtx, "SLOW"); leader <- err }()
	<-d.started
	waiter := make(chan error, 1)
	go func() {
		st, err := c.get(context.Background(), "SLOW")
		if err == nil && st == nil {
			err = errors.New("no statement")
		}
		waiter <- err
	}()
	cancel() // the first caller gives up while its prepare is under way
	close(d.release)
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled caller: %v, want context.Canceled", err)
	}
	if err := <-waiter; err != nil {
		t.Errorf("the waiting caller, whose context is live: %v", err)
	}
}

// timeoutDriver's Prepare fails as a dial that timed out does: with an
// error that is context.DeadlineExceeded.
type timeoutDriver struct{}

func (timeoutDriver) Open(string) (driver.Conn, error) {
	return nil, fmt.Errorf("dial tcp: i/o timeout: %w", context.DeadlineExceeded)
}

// TestStmtCacheReturnsItsOwnTimeout: a caller whose own prepare timed out
// gets the error; it does not prepare again and again.
func TestStmtCacheReturnsItsOwnTimeout(t *testing.T) {
	sql.Register("idempotency-timeout", timeoutDriver{})
	db, err := sql.Open("idempotency-timeout", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &stmtCache{db: db}
	if _, err := c.get(context.Background(), "Q"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get = %v, want the driver's timeout", err)
	}
}
