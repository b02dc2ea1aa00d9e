package orders

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
)

// Mode says which manager places the orders.
type Mode string

const (
	// Tx places an order with [idempotency.TxManager]: the orders row, the
	// claim of the key and the recorded outcome commit in one transaction,
	// so a consumer killed at any point leaves all of them or none, and the
	// redelivered message is placed at once by another consumer.
	Tx Mode = "tx"
	// Do places an order with [idempotency.Manager]: the row commits in a
	// transaction of its own, then the outcome. A consumer killed between
	// the two leaves the row without an outcome; the key stays claimed
	// until Config.Lease runs out, and the redelivered message then runs fn
	// again. Use Do when fn's effect is outside this database (a payment
	// provider's API); here it shows the window TxManager closes.
	Do Mode = "do"
)

// Processor places orders at most once per key.
type Processor struct {
	db       *DB
	consumer string
	tx       *idempotency.TxManager[OrderPlaced, Placed, *sqlx.Tx]
	do       *idempotency.Manager[OrderPlaced, Placed]
}

// NewProcessor returns a Processor that places orders in db in mode, under
// cfg (Namespace, TTL, Lease, Wait); consumer names the rows it writes.
func NewProcessor(db *DB, mode Mode, consumer string, cfg idempotency.Config) (*Processor, error) {
	p := &Processor{db: db, consumer: consumer}
	var err error
	switch mode {
	case Tx:
		p.tx, err = idempotency.NewTx[OrderPlaced, Placed](db.Store, cfg)
	case Do:
		p.do, err = idempotency.New[OrderPlaced, Placed](db.Store, cfg)
	default:
		err = fmt.Errorf("unknown mode %q: want %q or %q", mode, Tx, Do)
	}
	if err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	return p, nil
}

// ErrInvalidOrder is the permanent failure of an order that can never be
// placed. It is recorded, and every later delivery replays it.
var ErrInvalidOrder = errors.New("invalid order")

// Place places o under key, at most once: a later call with the same key
// and order gets the recorded outcome back (Result.Replayed), a call with
// the same key and another order gets [idempotency.ErrRequestMismatch].
// [Decide] says what to tell the broker for each of its answers.
//
// fault, when not nil, is returned by fn before it writes anything, as if a
// dependency had failed for a moment: the examples' -fail-every flag uses
// it to show a failed message redelivered and placed once. Pass nil.
func (p *Processor) Place(ctx context.Context, key string, o OrderPlaced, fault error) (idempotency.Result[Placed], error) {
	check := func() error {
		if o.OrderID == "" || o.AmountCents <= 0 {
			return idempotency.Permanent(fmt.Errorf("%w: order %q for %d cents", ErrInvalidOrder, o.OrderID, o.AmountCents))
		}
		return fault
	}
	if p.tx != nil {
		return p.tx.DoResult(ctx, key, o, func(ctx context.Context, tx *sqlx.Tx, o OrderPlaced) (Placed, error) {
			if err := check(); err != nil {
				return Placed{}, err
			}
			// Only through tx: the row commits with the outcome, or not at all.
			row, err := p.db.insert(ctx, tx, o, p.consumer)
			return Placed{Row: row, Consumer: p.consumer}, err
		})
	}
	return p.do.DoResult(ctx, key, o, func(ctx context.Context, o OrderPlaced) (Placed, error) {
		if err := check(); err != nil {
			return Placed{}, err
		}
		row, err := p.db.insert(ctx, p.db.X, o, p.consumer)
		return Placed{Row: row, Consumer: p.consumer}, err
	})
}
