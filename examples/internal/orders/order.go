package orders

import (
	"errors"
	"fmt"
)

// OrderPlaced is the message body: an order a shop has taken, to be placed
// once in the orders table however often the broker delivers it.
type OrderPlaced struct {
	OrderID     string `json:"order_id"`
	Customer    string `json:"customer"`
	AmountCents int64  `json:"amount_cents"`
}

// Placed is the recorded outcome of placing an order: replayed to every
// later delivery of the same message.
type Placed struct {
	Row      int64  `json:"row"`      // the orders row written
	Consumer string `json:"consumer"` // the consumer that wrote it
}

// Outgoing is one message as a publisher sends it: the message ID it sets
// (the AMQP message-id property, the Nats-Msg-Id header) and the body. A
// publisher that retries a publish sends the same ID and body again.
type Outgoing struct {
	MessageID string      `json:"message_id"`
	Order     OrderPlaced `json:"order"`
}

// Key returns the idempotency key of a delivery: the message ID the
// publisher set, which every redelivery and every retried publish carries.
//
// When the publisher set none, the key is derived from the business ID in
// the body ("order:" + OrderID): a retried publish carries the same order.
// Never derive it from what the broker assigns to a delivery or a
// publication (an AMQP delivery tag counts deliveries on one channel, a
// JetStream sequence numbers each publication, so a retried publish gets a
// new one), nor from a hash of the whole body: a reused ID with another body
// would then get a key of its own and be processed, where the library
// refuses it. Keep to one rule per queue: a publisher that sets IDs on some
// messages and not on others gives one order two keys.
func Key(messageID string, o OrderPlaced) (string, error) {
	if messageID != "" {
		return messageID, nil
	}
	if o.OrderID == "" {
		return "", errors.New("orders: the message has no ID and its body no order_id: nothing to key it on")
	}
	return "order:" + o.OrderID, nil
}

// Sample returns n orders as a publisher would send them for a demo: every
// fifth published twice (a publisher that retried), and a last message that
// reuses the first message's ID with another amount (a publisher bug, to be
// dead-lettered). run keeps the IDs of one demo apart from another's.
func Sample(run string, n int) []Outgoing {
	var out []Outgoing
	for i := 1; i <= n; i++ {
		m := Outgoing{
			MessageID: fmt.Sprintf("msg-%s-%d", run, i),
			Order:     OrderPlaced{OrderID: fmt.Sprintf("ord-%s-%d", run, i), Customer: fmt.Sprintf("cus_%d", i%7), AmountCents: int64(100 * i)},
		}
		out = append(out, m)
		if i%5 == 0 {
			out = append(out, m)
		}
	}
	if n > 0 {
		reused := out[0]
		reused.Order.AmountCents++
		out = append(out, reused)
	}
	return out
}
