package killtest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/examples/internal/orders"
)

// row is one row of the orders table.
type row struct {
	ID       int64  `db:"id"`
	OrderID  string `db:"order_id"`
	Amount   int64  `db:"amount_cents"`
	Consumer string `db:"consumer"`
}

var errCheckRan = errors.New("killtest: fn ran while the test read a recorded outcome")

// checkOutcomes checks the orders table, the recorded outcomes and the
// dead letters against what the broker stored:
//
//   - each key (a message ID, or an order ID for a message without one)
//     has exactly one row, of one of the bodies published under it — or,
//     in orders.Do mode, two rows of one body, one written by the killed
//     consumer, which never logged an ack for it, and the recorded outcome
//     naming the other: a run whose outcome the kill kept from being
//     recorded, counted in rep.LostRuns;
//   - the outcome recorded for the key names that row, and reading it runs
//     nothing;
//   - the dead letters are exactly the stored publications of the bodies
//     that were not placed.
func checkOutcomes(ctx context.Context, t *testing.T, db *orders.DB, tl *tally, dead []orders.Outgoing, rep *Report) {
	t.Helper()
	var rows []row
	if err := db.X.SelectContext(ctx, &rows, "SELECT id, order_id, amount_cents, consumer FROM "+db.Orders); err != nil {
		t.Fatal(err)
	}
	rep.Rows = len(rows)
	byOrder := map[string][]row{}
	for _, r := range rows {
		byOrder[r.OrderID] = append(byOrder[r.OrderID], r)
	}

	// The bodies the broker stored under each key.
	type published struct {
		order  string
		bodies map[int64]orders.OrderPlaced
		n      map[int64]int // stored publications per amount
	}
	keys := map[string]*published{}
	var order []string
	for i, p := range tl.pubs {
		k := p.Key()
		if keys[k] == nil {
			keys[k] = &published{order: p.Order.OrderID, bodies: map[int64]orders.OrderPlaced{}, n: map[int64]int{}}
			order = append(order, k)
		}
		if tl.stored[i] {
			keys[k].bodies[p.Order.AmountCents] = p.Order
			keys[k].n[p.Order.AmountCents]++
		}
	}
	rep.Orders = len(keys)

	replay, err := idempotency.New[orders.OrderPlaced, orders.Placed](db.Store, idempotency.Config{Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	wantDead := map[body]int{}
	for _, k := range order {
		p := keys[k]
		rs := byOrder[p.order]
		delete(byOrder, p.order)
		placed, err := checkKey(ctx, replay, tl, k, p.bodies, rs)
		if err != nil {
			t.Errorf("key %s: %v", k, err)
			continue
		}
		if len(rs) == 2 {
			rep.LostRuns++
		}
		for amount, n := range p.n {
			if amount != placed.Amount {
				wantDead[body{k, amount}] += n
			}
		}
	}
	for o, rs := range byOrder {
		t.Errorf("order %s was never published but has %d rows", o, len(rs))
	}

	gotDead := map[body]int{}
	for _, d := range dead {
		gotDead[body{Publication{Outgoing: d}.Key(), d.Order.AmountCents}]++
	}
	for b, n := range wantDead {
		if gotDead[b] != n {
			t.Errorf("dead letters of %s/%d: %d, want %d", b.Key, b.Amount, gotDead[b], n)
		}
	}
	for b, n := range gotDead {
		if wantDead[b] == 0 {
			t.Errorf("dead letters of %s/%d: %d, want none", b.Key, b.Amount, n)
		}
	}
}

// checkKey checks one key's rows and recorded outcome and returns the row
// that stands for its order.
func checkKey(ctx context.Context, replay *idempotency.Manager[orders.OrderPlaced, orders.Placed], tl *tally, key string, bodies map[int64]orders.OrderPlaced, rs []row) (row, error) {
	if len(rs) == 0 || len(rs) > 2 {
		return row{}, fmt.Errorf("%d rows, want 1", len(rs))
	}
	o, ok := bodies[rs[0].Amount]
	if !ok {
		return row{}, fmt.Errorf("row %d holds %d cents, a body nobody published", rs[0].ID, rs[0].Amount)
	}
	res, err := replay.DoResult(ctx, key, o, func(context.Context, orders.OrderPlaced) (orders.Placed, error) {
		return orders.Placed{}, errCheckRan
	})
	if err != nil || !res.Replayed {
		return row{}, fmt.Errorf("reading its recorded outcome: %v (replayed %v)", err, res.Replayed)
	}
	var placed *row
	for i := range rs {
		if rs[i].ID == res.Value.Row && rs[i].Consumer == res.Value.Consumer {
			placed = &rs[i]
		}
	}
	if placed == nil {
		return row{}, fmt.Errorf("the recorded outcome names row %d by %s, which is not among its rows %v", res.Value.Row, res.Value.Consumer, rs)
	}
	if len(rs) == 1 {
		return *placed, nil
	}
	// Two rows: acceptable only as a run the kill kept from recording
	// its outcome, with Manager, whose row and outcome are two commits.
	other := rs[0]
	if other == *placed {
		other = rs[1]
	}
	switch {
	case tl.mode != orders.Do:
		return row{}, fmt.Errorf("2 rows %v with %s, which commits the row and the outcome together", rs, tl.mode)
	case other.Consumer != tl.victim:
		return row{}, fmt.Errorf("2 rows %v, and the unrecorded one is not the killed consumer's", rs)
	case tl.victimAcked[key]:
		return row{}, fmt.Errorf("2 rows %v, but the killed consumer acked the message: its outcome was recorded", rs)
	case other.Amount != placed.Amount:
		return row{}, fmt.Errorf("2 rows %v of different bodies", rs)
	}
	return *placed, nil
}
