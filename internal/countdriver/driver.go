package countdriver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Driver is a driver.Driver that wraps another and counts, in its
// [Counter], what every connection it opens does. It is safe for concurrent
// use. Its zero value is not usable: call [Wrap].
type Driver struct {
	inner   driver.Driver
	counter *Counter
}

var (
	_ driver.Driver        = (*Driver)(nil)
	_ driver.DriverContext = (*Driver)(nil)
)

// Wrap returns a Driver that opens connections with inner and counts what
// they do.
func Wrap(inner driver.Driver) *Driver {
	return &Driver{inner: inner, counter: new(Counter)}
}

// Register wraps inner and registers the wrapper with database/sql under
// name, like sql.Register (which panics when name is taken). It returns the
// wrapper's counter.
func Register(name string, inner driver.Driver) *Counter {
	d := Wrap(inner)
	sql.Register(name, d)
	return d.counter
}

// OpenDB opens a pool on dsn through the driver registered as driverName,
// wrapped in a counting Driver, and returns the pool and its counter. Like
// sql.Open it does not connect; close the pool when done.
func OpenDB(driverName, dsn string) (*sql.DB, *Counter, error) {
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("countdriver: open %s: %w (is the driver imported?)", driverName, err)
	}
	inner := probe.Driver()
	if err := probe.Close(); err != nil {
		return nil, nil, fmt.Errorf("countdriver: close probe pool: %w", err)
	}
	d := Wrap(inner)
	connector, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, nil, err
	}
	return sql.OpenDB(connector), d.counter, nil
}

// Counter returns the counter shared by every connection the driver opens.
func (d *Driver) Counter() *Counter { return d.counter }

// Open implements driver.Driver.
func (d *Driver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return d.wrapConn(c), nil
}

// OpenConnector implements driver.DriverContext, using the wrapped
// driver's connector when it has one, as database/sql would.
func (d *Driver) OpenConnector(name string) (driver.Connector, error) {
	if dc, ok := d.inner.(driver.DriverContext); ok {
		inner, err := dc.OpenConnector(name)
		if err != nil {
			return nil, err
		}
		return &connector{inner: inner, d: d}, nil
	}
	return &connector{d: d, dsn: name}, nil
}

func (d *Driver) wrapConn(c driver.Conn) *conn {
	d.counter.add(&d.counter.c.Connects)
	return &conn{inner: c, counter: d.counter, open: make(map[string]int)}
}

// connector opens wrapped connections through the inner driver's
// connector, or through Open with dsn when the driver has none.
type connector struct {
	inner driver.Connector
	d     *Driver
	dsn   string
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.inner == nil {
		return c.d.Open(c.dsn)
	}
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return c.d.wrapConn(dc), nil
}

func (c *connector) Driver() driver.Driver { return c.d }

// Close closes the inner connector when it holds resources; sql.DB.Close
// calls it.
func (c *connector) Close() error {
	if cl, ok := c.inner.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// conn counts one connection's statements.
type conn struct {
	inner   driver.Conn
	counter *Counter
	// database/sql serialises the use of one connection already; the lock
	// only keeps the bookkeeping safe from a driver that closes statements
	// on its own goroutine.
	mu   sync.Mutex
	open map[string]int // prepared statements not yet closed, by text
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		si  driver.Stmt
		err error
	)
	if pc, ok := c.inner.(driver.ConnPrepareContext); ok {
		si, err = pc.PrepareContext(ctx, query)
	} else {
		// What database/sql does for a driver without PrepareContext.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		si, err = c.inner.Prepare(query)
	}
	c.mu.Lock()
	reprepare := c.open[query] > 0
	if err == nil {
		c.open[query]++
	}
	c.mu.Unlock()
	c.counter.prepare(query, reprepare)
	if err != nil {
		return nil, err
	}
	return &stmt{inner: si, conn: c, query: query}, nil
}

func (c *conn) Close() error { return c.inner.Close() }

//nolint:staticcheck // driver.Conn requires Begin; database/sql calls BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var (
		tx  driver.Tx
		err error
	)
	if bt, ok := c.inner.(driver.ConnBeginTx); ok {
		tx, err = bt.BeginTx(ctx, opts)
	} else {
		// database/sql's checks for a driver without BeginTx.
		if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) {
			return nil, errors.New("sql: driver does not support non-default isolation level")
		}
		if opts.ReadOnly {
			return nil, errors.New("sql: driver does not support read-only transactions")
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		//lint:ignore SA1019 the wrapper forwards the deprecated interfaces that drivers still implement, as database/sql does
		tx, err = c.inner.Begin() //nolint:staticcheck // the fallback database/sql uses
	}
	if err != nil {
		return nil, err
	}
	c.counter.add(&c.counter.c.Begins)
	return &countedTx{inner: tx, counter: c.counter}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	var (
		res driver.Result
		err error
	)
	switch e := c.inner.(type) {
	case driver.ExecerContext:
		res, err = e.ExecContext(ctx, query, args)
	//lint:ignore SA1019 the wrapper forwards the deprecated interfaces that drivers still implement, as database/sql does
	case driver.Execer: //nolint:staticcheck // the fallback database/sql uses
		vals, verr := values(args)
		if verr != nil {
			return nil, verr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err = e.Exec(query, vals)
	default:
		return nil, driver.ErrSkip
	}
	// ErrSkip: the driver sent nothing and database/sql will prepare
	// instead, which is counted there.
	if !errors.Is(err, driver.ErrSkip) {
		c.counter.statement("exec", query, args, false)
	}
	return res, err
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	var (
		rows driver.Rows
		err  error
	)
	switch q := c.inner.(type) {
	case driver.QueryerContext:
		rows, err = q.QueryContext(ctx, query, args)
	//lint:ignore SA1019 the wrapper forwards the deprecated interfaces that drivers still implement, as database/sql does
	case driver.Queryer: //nolint:staticcheck // the fallback database/sql uses
		vals, verr := values(args)
		if verr != nil {
			return nil, verr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows, err = q.Query(query, vals)
	default:
		return nil, driver.ErrSkip
	}
	if !errors.Is(err, driver.ErrSkip) {
		c.counter.statement("query", query, args, false)
	}
	return rows, err
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// CheckNamedValue passes arguments to the driver's own conversion (pgx and
// lib/pq accept types database/sql's default converter rejects); ErrSkip
// makes database/sql use its default, as for a driver without one.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// stmt counts the executions of one prepared statement.
type stmt struct {
	inner driver.Stmt
	conn  *conn
	query string
}

var (
	_ driver.Stmt              = (*stmt)(nil)
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

func (s *stmt) Close() error {
	s.conn.mu.Lock()
	if s.conn.open[s.query]--; s.conn.open[s.query] <= 0 {
		delete(s.conn.open, s.query)
	}
	s.conn.mu.Unlock()
	return s.inner.Close()
}

func (s *stmt) NumInput() int { return s.inner.NumInput() }

//nolint:staticcheck // driver.Stmt requires Exec; database/sql calls ExecContext.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	s.conn.counter.statement("exec", s.query, named(args), true)
	//lint:ignore SA1019 the wrapper forwards the deprecated interfaces that drivers still implement, as database/sql does
	return s.inner.Exec(args) //nolint:staticcheck // forwarding the same method
}

//nolint:staticcheck // driver.Stmt requires Query; database/sql calls QueryContext.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	s.conn.counter.statement("query", s.query, named(args), true)
	//lint:ignore SA1019 the wrapper forwards the deprecated interfaces that drivers still implement, as database/sql does
	return s.inner.Query(args) //nolint:staticcheck // forwarding the same method
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := s.inner.(driver.StmtExecContext); ok {
		s.conn.counter.statement("exec", s.query, args, true)
		return e.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Exec(vals)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.inner.(driver.StmtQueryContext); ok {
		s.conn.counter.statement("query", s.query, args, true)
		return q.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Query(vals)
}

// CheckNamedValue reproduces database/sql's choice for the wrapped
// statement: its own checker, else its connection's, then its column
// converter, then (ErrSkip) the default conversion.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	var nvc driver.NamedValueChecker
	if n, ok := s.inner.(driver.NamedValueChecker); ok {
		nvc = n
	} else if n, ok := s.conn.inner.(driver.NamedValueChecker); ok {
		nvc = n
	}
	if nvc != nil {
		if err := nvc.CheckNamedValue(nv); !errors.Is(err, driver.ErrSkip) {
			return err
		}
	}
	//lint:ignore SA1019 the wrapper forwards the deprecated interfaces that drivers still implement, as database/sql does
	cc, ok := s.inner.(driver.ColumnConverter) //nolint:staticcheck // go-sql-driver/mysql still has one
	if !ok {
		return driver.ErrSkip
	}
	return convertColumn(cc, s.inner.NumInput(), nv)
}

// convertColumn is database/sql's ccChecker.
//
//lint:ignore SA1019 the wrapper forwards the deprecated interfaces that drivers still implement, as database/sql does
func convertColumn(cc driver.ColumnConverter, want int, nv *driver.NamedValue) error { //nolint:staticcheck // see above
	index := nv.Ordinal - 1
	if want >= 0 && want <= index {
		return nil
	}
	if vr, ok := nv.Value.(driver.Valuer); ok {
		sv, err := vr.Value()
		if err != nil {
			return err
		}
		if !driver.IsValue(sv) {
			return fmt.Errorf("non-subset type %T returned from Value", sv)
		}
		nv.Value = sv
	}
	arg := nv.Value
	v, err := cc.ColumnConverter(index).ConvertValue(arg)
	if err != nil {
		return err
	}
	if !driver.IsValue(v) {
		return fmt.Errorf("driver ColumnConverter error converted %T to unsupported type %T", arg, v)
	}
	nv.Value = v
	return nil
}

// countedTx counts how a transaction ends.
type countedTx struct {
	inner   driver.Tx
	counter *Counter
}

func (t *countedTx) Commit() error {
	t.counter.add(&t.counter.c.Commits)
	return t.inner.Commit()
}

func (t *countedTx) Rollback() error {
	t.counter.add(&t.counter.c.Rollbacks)
	return t.inner.Rollback()
}

// values is database/sql's namedValueToValue, for drivers without the
// context methods.
func values(named []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(named))
	for i, nv := range named {
		if nv.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		out[i] = nv.Value
	}
	return out, nil
}

func named(vals []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(vals))
	for i, v := range vals {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}
