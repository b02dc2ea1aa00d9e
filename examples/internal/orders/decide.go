package orders

import (
	"errors"

	"github.com/idemkit/idempotency"
)

// Action is what a consumer tells the broker about a delivery once
// [Processor.Place] has returned.
type Action int

const (
	// Ack: the message is done, placed by this delivery or by an earlier
	// one (a replay), or settled for good.
	Ack Action = iota
	// Retry: give the message back for a later redelivery, after a delay
	// (a RabbitMQ nack with requeue, a JetStream NakWithDelay). Nothing was
	// recorded, so the redelivery runs fn again or replays what another
	// consumer recorded in the meantime.
	Retry
	// DeadLetter: never process this message; park it where a person will
	// look (a dead-letter queue or subject).
	DeadLetter
)

// String returns the action's name, as the examples log it.
func (a Action) String() string {
	switch a {
	case Ack:
		return "ack"
	case Retry:
		return "retry"
	case DeadLetter:
		return "dead-letter"
	}
	return "unknown"
}

// Decide maps Place's error to an Action, with a word for the logs:
//
//   - nil: Ack ("placed", or "replayed" when Result.Replayed).
//   - [idempotency.ErrRequestMismatch]: DeadLetter. The publisher reused a
//     message ID for another body; processing it would either drop an order
//     or place one twice, and only a person can tell which.
//   - [idempotency.ErrInvalidKey]: DeadLetter. The message ID is over 255
//     bytes or holds a NUL: it cannot key anything.
//   - [idempotency.ErrInProgress]: Retry. Another consumer holds the key
//     (it is placing this very order, or it died and its claim has not run
//     out): the redelivery, after a delay, replays its outcome or takes the
//     key over.
//   - [idempotency.ErrNotRecorded]: Ack. fn ran (the order is placed) but
//     its outcome could not be written: a redelivery would run fn again
//     once the claim's lease runs out, so the message must not come back.
//   - A permanent failure ([idempotency.IsPermanent]: an invalid order,
//     recorded and replayed as a [*idempotency.StoredError]): Ack. The
//     failure is the order's outcome; redelivering cannot change it.
//   - Anything else (fn's own error, a lost lease, the database or the
//     commit failed): Retry. The key was released or its transaction
//     rolled back, so the redelivery runs fn again or replays.
func Decide(err error, replayed bool) (Action, string) {
	switch {
	case err == nil && replayed:
		return Ack, "replayed"
	case err == nil:
		return Ack, "placed"
	case errors.Is(err, idempotency.ErrRequestMismatch):
		return DeadLetter, "request-mismatch"
	case errors.Is(err, idempotency.ErrInvalidKey):
		return DeadLetter, "invalid-key"
	case errors.Is(err, idempotency.ErrInProgress):
		return Retry, "in-progress"
	case errors.Is(err, idempotency.ErrNotRecorded):
		return Ack, "not-recorded"
	case idempotency.IsPermanent(err):
		return Ack, "failed-permanently"
	}
	return Retry, "failed"
}
