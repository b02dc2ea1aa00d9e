package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
)

type PlaceOrder struct {
	Customer string `json:"customer"`
	Item     string `json:"item"`
}

type Order struct {
	ID int64 `json:"id"`
}

// The order row, the outbox message and the recorded outcome commit in one
// transaction: a crash anywhere leaves all three or none, and a retry after
// a crash runs at once, with no lease to wait out.
func ExampleTxManager() {
	db, store, closeAll := openDBAndStore()
	defer closeAll()
	db.MustExec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, item TEXT)`)
	db.MustExec(`CREATE TABLE outbox (topic TEXT, body TEXT)`)

	orders, err := idempotency.NewTx[PlaceOrder, Order](store, idempotency.Config{Namespace: "orders"})
	if err != nil {
		log.Fatal(err)
	}
	placeOrder := func(ctx context.Context, tx *sqlx.Tx, req PlaceOrder) (Order, error) {
		// Reach the database only through tx: a transaction that fails
		// as a whole (deadlock, serialization failure) runs fn again.
		res, err := tx.ExecContext(ctx, `INSERT INTO orders (customer, item) VALUES (?, ?)`, req.Customer, req.Item)
		if err != nil {
			return Order{}, err
		}
		id, _ := res.LastInsertId()
		_, err = tx.ExecContext(ctx, `INSERT INTO outbox (topic, body) VALUES ('order.placed', ?)`, fmt.Sprint(id))
		return Order{ID: id}, err
	}

	ctx := context.Background()
	req := PlaceOrder{Customer: "cus_42", Item: "book"}
	for range 3 { // the client retries
		res, err := orders.DoResult(ctx, "order-7f3a", req, placeOrder)
		fmt.Println(res.Value.ID, res.Replayed, err)
	}
	var rows, messages int
	_ = db.Get(&rows, `SELECT COUNT(*) FROM orders`)
	_ = db.Get(&messages, `SELECT COUNT(*) FROM outbox`)
	fmt.Println("orders:", rows, "outbox:", messages)
	// Output:
	// 1 false <nil>
	// 1 true <nil>
	// 1 true <nil>
	// orders: 1 outbox: 1
}

// DoIn joins a transaction the caller already has, for a request whose
// other writes are in it; the caller commits or rolls back.
func ExampleTxManager_DoIn() {
	db, store, closeAll := openDBAndStore()
	defer closeAll()
	db.MustExec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, item TEXT)`)

	orders, _ := idempotency.NewTx[PlaceOrder, Order](store, idempotency.Config{Namespace: "orders"})
	placeOrder := func(ctx context.Context, tx *sqlx.Tx, req PlaceOrder) (Order, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO orders (customer, item) VALUES (?, ?)`, req.Customer, req.Item)
		if err != nil {
			return Order{}, err
		}
		id, _ := res.LastInsertId()
		return Order{ID: id}, nil
	}

	ctx := context.Background()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	order, err := orders.DoIn(ctx, tx, "order-7f3a", PlaceOrder{Customer: "cus_42", Item: "book"}, placeOrder)
	if err != nil {
		_ = tx.Rollback() // nothing happened: the key is free
		log.Fatal(err)
	}
	// ... more of the caller's own writes in tx ...
	if err := tx.Commit(); err != nil { // the order and the outcome become visible together
		log.Fatal(err)
	}

	_, err = orders.Do(ctx, "order-7f3a", PlaceOrder{Customer: "cus_42", Item: "lamp"}, placeOrder)
	fmt.Println(order.ID, errors.Is(err, idempotency.ErrRequestMismatch))
	// Output:
	// 1 true
}
