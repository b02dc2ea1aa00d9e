package main

import (
	"context"
	"encoding/json"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

// publish sends msgs to queue, in order, as persistent messages carrying
// their message ID, and returns once RabbitMQ has confirmed every one: a
// publisher that gets no confirmation publishes again, with the same ID.
// It puts ch in confirm mode.
func publish(ctx context.Context, ch *amqp.Channel, queue string, msgs []orders.Outgoing) error {
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	confirms := make([]*amqp.DeferredConfirmation, 0, len(msgs))
	for _, m := range msgs {
		body, err := json.Marshal(m.Order)
		if err != nil {
			return err
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, amqp.Publishing{
			MessageId:    m.MessageID,
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			Body:         body,
		})
		if err != nil {
			return fmt.Errorf("publish %s: %w", m.MessageID, err)
		}
		confirms = append(confirms, dc)
	}
	for i, dc := range confirms {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("confirmation of %s: %w", msgs[i].MessageID, err)
		}
		if !ok {
			return fmt.Errorf("RabbitMQ refused %s", msgs[i].MessageID)
		}
	}
	return nil
}
