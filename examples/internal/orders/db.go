package orders

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/idemkit/idempotency/sqlstore"
)

// DB is the consumers' database: the orders table and the idempotency
// store's table, in one database so that a TxManager can commit an order
// and its outcome together.
type DB struct {
	X       *sqlx.DB
	Dialect sqlstore.Dialect
	Store   *sqlstore.Store
	Orders  string // the orders table
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Open opens dsn (a postgres:// URL, or else the path of an SQLite file,
// created if missing, which several consumer processes can share), creates
// the orders table and the idempotency table (keys) if they do not exist,
// and returns both.
func Open(ctx context.Context, dsn, orders, keys string) (*DB, error) {
	if !identifier.MatchString(orders) {
		return nil, fmt.Errorf("orders: table name %q: want a plain SQL identifier", orders)
	}
	d := &DB{Orders: orders}
	driver := "sqlite"
	d.Dialect = sqlstore.SQLite
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		driver, d.Dialect = "pgx", sqlstore.Postgres
	} else {
		dsn = sqlstore.SQLiteDSN(dsn)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("orders: open database: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	d.X = sqlx.NewDb(db, driver)
	if err := d.init(ctx, keys); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

func (d *DB) init(ctx context.Context, keys string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.X.PingContext(ctx); err != nil {
		return fmt.Errorf("orders: database does not answer: %w", err)
	}
	store, err := sqlstore.New(d.X, sqlstore.Config{Dialect: d.Dialect, Table: keys})
	if err != nil {
		return fmt.Errorf("orders: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return fmt.Errorf("orders: create the idempotency table: %w", err)
	}
	d.Store = store
	// No UNIQUE on order_id, on purpose: one row per order is what the
	// idempotency key has to achieve, and the tests count rows to check
	// it. A real schema would add the constraint as well.
	id := "BIGSERIAL PRIMARY KEY"
	if d.Dialect == sqlstore.SQLite {
		id = "INTEGER PRIMARY KEY"
	}
	_, err = d.X.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+d.Orders+` (
		id           `+id+`,
		order_id     TEXT NOT NULL,
		customer     TEXT NOT NULL,
		amount_cents BIGINT NOT NULL,
		consumer     TEXT NOT NULL
	)`)
	if err != nil {
		store.Close()
		return fmt.Errorf("orders: create table %s: %w", d.Orders, err)
	}
	return nil
}

// Close closes the store and the pool.
func (d *DB) Close() error {
	d.Store.Close()
	return d.X.Close()
}

// insert writes o's row through q (a transaction, or the pool) and returns
// its id.
func (d *DB) insert(ctx context.Context, q sqlx.QueryerContext, o OrderPlaced, consumer string) (int64, error) {
	query := `INSERT INTO ` + d.Orders + ` (order_id, customer, amount_cents, consumer) VALUES ($1, $2, $3, $4) RETURNING id`
	if d.Dialect == sqlstore.SQLite {
		query = `INSERT INTO ` + d.Orders + ` (order_id, customer, amount_cents, consumer) VALUES (?, ?, ?, ?) RETURNING id`
	}
	var id int64
	if err := q.QueryRowxContext(ctx, query, o.OrderID, o.Customer, o.AmountCents, consumer).Scan(&id); err != nil {
		return 0, fmt.Errorf("orders: insert order %s: %w", o.OrderID, err)
	}
	return id, nil
}
