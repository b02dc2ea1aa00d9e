package orders

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/idemkit/idempotency"
)

// TestPlace places orders through each mode on SQLite: a new key writes a
// row, the same key and order replay it, the same key with another order is
// refused, a failure writes nothing and leaves the key free, an invalid
// order is recorded as a permanent failure.
func TestPlace(t *testing.T) {
	for _, mode := range []Mode{Tx, Do} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, filepath.Join(t.TempDir(), "orders.db"), "orders", "keys")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			p, err := NewProcessor(db, mode, "c1", idempotency.Config{Namespace: "test"})
			if err != nil {
				t.Fatal(err)
			}
			o := OrderPlaced{OrderID: "ord-1", Customer: "cus_1", AmountCents: 500}

			first, err := p.Place(ctx, "msg-1", o, nil)
			if err != nil || first.Replayed || first.Value.Consumer != "c1" {
				t.Fatalf("first: %+v, %v", first, err)
			}
			again, err := p.Place(ctx, "msg-1", o, nil)
			if err != nil || !again.Replayed || again.Value != first.Value {
				t.Errorf("again: %+v, %v; want %+v replayed", again, err, first.Value)
			}
			other := o
			other.AmountCents++
			if _, err := p.Place(ctx, "msg-1", other, nil); !errors.Is(err, idempotency.ErrRequestMismatch) {
				t.Errorf("another body under the same ID: %v, want ErrRequestMismatch", err)
			}

			down := errors.New("down")
			if _, err := p.Place(ctx, "msg-2", OrderPlaced{OrderID: "ord-2", AmountCents: 1}, down); !errors.Is(err, down) {
				t.Errorf("with a fault: %v, want it", err)
			}
			if r, err := p.Place(ctx, "msg-2", OrderPlaced{OrderID: "ord-2", AmountCents: 1}, nil); err != nil || r.Replayed {
				t.Errorf("after the fault: %+v, %v; want placed", r, err)
			}

			if _, err := p.Place(ctx, "msg-3", OrderPlaced{OrderID: "ord-3"}, nil); !errors.Is(err, ErrInvalidOrder) || !idempotency.IsPermanent(err) {
				t.Errorf("an invalid order: %v, want a permanent ErrInvalidOrder", err)
			}
			_, err = p.Place(ctx, "msg-3", OrderPlaced{OrderID: "ord-3"}, nil)
			var stored *idempotency.StoredError
			if !errors.As(err, &stored) {
				t.Errorf("an invalid order again: %v, want its recorded failure", err)
			}

			var rows int
			if err := db.X.GetContext(ctx, &rows, "SELECT COUNT(*) FROM orders"); err != nil || rows != 2 {
				t.Errorf("%d rows (%v), want 2", rows, err)
			}
		})
	}
}
