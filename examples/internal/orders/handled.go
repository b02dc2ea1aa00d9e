package orders

import (
	"context"
	"log/slog"
)

// Handled is what a consumer did with one delivery. Both examples log one
// per delivery, after telling the broker (for Retry: when the delay
// starts), with the same attributes, so that a person or a test can follow
// every message.
type Handled struct {
	MessageID   string      // the publisher's message ID
	Order       OrderPlaced // the body
	Redelivered bool        // the broker delivered it before
	Action      Action      // what the broker was told
	Why         string      // Decide's word, or why the message could not be read
	Placed      Placed      // the outcome, on Ack
	Err         error       // Place's error, or why the message could not be read
	BrokerErr   error       // the broker refused the answer, or never got it
}

// Log writes h as one record with message "handled".
func (h Handled) Log(log *slog.Logger) {
	attrs := []any{
		"message_id", h.MessageID,
		"order_id", h.Order.OrderID,
		"amount_cents", h.Order.AmountCents,
		"redelivered", h.Redelivered,
		"action", h.Action.String(),
		"why", h.Why,
	}
	if h.Placed.Consumer != "" {
		attrs = append(attrs, "row", h.Placed.Row, "placed_by", h.Placed.Consumer)
	}
	level := slog.LevelInfo
	if h.Err != nil {
		attrs = append(attrs, "err", h.Err.Error())
		if h.Action == DeadLetter || h.Why == "failed" {
			level = slog.LevelWarn
		}
	}
	if h.BrokerErr != nil {
		attrs = append(attrs, "broker_err", h.BrokerErr.Error())
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "handled", attrs...)
}
