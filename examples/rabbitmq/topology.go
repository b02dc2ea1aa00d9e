package main

import (
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// deadLetters names the queue that receives queue's dead letters.
func deadLetters(queue string) string { return queue + ".dead" }

// declare declares queue and its dead-letter queue, both durable. A
// message that a consumer rejects without requeue is routed by RabbitMQ
// through the default exchange to deadLetters(queue), with an x-death
// header saying where it came from. Every consumer and publisher declares
// the same, which RabbitMQ accepts as long as the arguments agree.
func declare(ch *amqp.Channel, queue string) error {
	if _, err := ch.QueueDeclare(deadLetters(queue), true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", deadLetters(queue), err)
	}
	_, err := ch.QueueDeclare(queue, true, false, false, false, amqp.Table{
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": deadLetters(queue),
	})
	if err != nil {
		return fmt.Errorf("declare queue %s: %w", queue, err)
	}
	return nil
}
