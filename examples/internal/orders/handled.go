package orders

import (
	"context"
	"log/slog"
)

// Handled is what a consumer decided for one delivery. Both examples log
// one per delivery, with the same attributes, so that a person or a test
// can follow every message, and log it before they tell the broker: a
// consumer killed in between has logged an answer the broker never got,
// and the broker delivers the message again, so the log may say too much
// but never too little. A broker that refuses the answer is logged after
// it ([LogAnswerFailed]).
type Handled struct {
	MessageID   string      // the publisher's message ID
	Order       OrderPlaced // the body
	Redelivered bool        // the broker delivered it before
	Action      Action      // what the broker was told
	Why         string      // Decide's word, or why the message could not be read
	Placed      Placed      // the outcome, on Ack
	Err         error       // Place's error, or why the message could not be read
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
	log.Log(context.Background(), level, "handled", attrs...)
}

// LogAnswerFailed logs that the broker refused, or never got, the answer
// for the delivery of messageID: the broker delivers the message again,
// and the redelivery replays its outcome (or runs fn, if none was
// recorded).
func LogAnswerFailed(log *slog.Logger, messageID string, a Action, err error) {
	log.Warn("answer failed", "message_id", messageID, "action", a.String(), "err", err.Error())
}
