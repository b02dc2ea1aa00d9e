// Package orders is what the two queue-consumer examples share: the
// OrderPlaced message, the orders table it becomes, its processing through
// the idempotency library, and the decision of what to tell the broker once
// that processing has returned.
//
// Each example (../../rabbitmq, ../../nats) is the broker's half: it
// receives a delivery, takes the key from the publisher's message ID, calls
// [Processor.Place], and acknowledges, redelivers or dead-letters the
// message as [Decide] says.
package orders
