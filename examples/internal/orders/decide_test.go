package orders

import (
	"errors"
	"fmt"
	"testing"

	"github.com/idemkit/idempotency"
)

func TestDecide(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("idempotency: key %q: %w", "k", err) }
	for _, c := range []struct {
		err      error
		replayed bool
		want     Action
		why      string
	}{
		{nil, false, Ack, "placed"},
		{nil, true, Ack, "replayed"},
		{wrap(idempotency.ErrRequestMismatch), false, DeadLetter, "request-mismatch"},
		{wrap(idempotency.ErrInvalidKey), false, DeadLetter, "invalid-key"},
		{wrap(idempotency.ErrInProgress), false, Retry, "in-progress"},
		{wrap(idempotency.ErrNotRecorded), false, Ack, "not-recorded"},
		{idempotency.Permanent(ErrInvalidOrder), false, Ack, "failed-permanently"},
		{&idempotency.StoredError{Message: "invalid order"}, true, Ack, "failed-permanently"},
		{wrap(idempotency.ErrLeaseLost), false, Retry, "failed"},
		{errors.New("connection refused"), false, Retry, "failed"},
	} {
		got, why := Decide(c.err, c.replayed)
		if got != c.want || why != c.why {
			t.Errorf("Decide(%v, %v) = %v %q, want %v %q", c.err, c.replayed, got, why, c.want, c.why)
		}
	}
}
