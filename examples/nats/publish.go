package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

// publish sends msgs to subject, in order, each with its Nats-Msg-Id, and
// waits for the stream's acknowledgement of each: a publisher that gets
// none publishes again, with the same ID. It reports for each message
// whether the stream dropped it as a duplicate (an ID it stored within its
// duplicate window).
func publish(ctx context.Context, js jetstream.JetStream, subject string, msgs []orders.Outgoing) ([]bool, error) {
	dropped := make([]bool, len(msgs))
	for i, m := range msgs {
		body, err := json.Marshal(m.Order)
		if err != nil {
			return nil, err
		}
		msg := nats.NewMsg(subject)
		msg.Data = body
		msg.Header.Set("Content-Type", "application/json")
		var opts []jetstream.PublishOpt
		if m.MessageID != "" {
			opts = append(opts, jetstream.WithMsgID(m.MessageID))
		}
		ack, err := js.PublishMsg(ctx, msg, opts...)
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", m.MessageID, err)
		}
		dropped[i] = ack.Duplicate
	}
	return dropped, nil
}
