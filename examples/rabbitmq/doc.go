// Command rabbitmq consumes OrderPlaced messages from a RabbitMQ queue and
// places each order exactly once, although RabbitMQ delivers a message
// again whenever a consumer dies before its ack, a message is given back,
// or a publisher retries a publish.
//
// Run RabbitMQ (127.0.0.1:5672, guest/guest), then:
//
//	go run ./examples/rabbitmq -publish 20           # 20 sample orders, every fifth twice, one ID reused
//	go run ./examples/rabbitmq -name c1 &            # consumers, as many as you like;
//	go run ./examples/rabbitmq -name c2              # SIGINT or SIGTERM stops one cleanly
//	go run ./examples/rabbitmq -h                    # every flag
//
// The orders and the idempotency keys go to the SQLite file orders.db by
// default, which consumers on one host can share; -db postgres://… puts them
// in PostgreSQL, for consumers on several hosts.
//
// # What it does with a delivery
//
// The key is the publisher's message ID (the AMQP message-id property),
// which every redelivery and every retried publish carries. The consumer
// runs orders.Processor.Place under that key — with -mode tx (the default)
// a TxManager writes the order row and the recorded outcome in one commit —
// and only once Place has returned tells RabbitMQ what became of the
// message (orders.Decide):
//
//   - placed now, or replayed (placed by an earlier delivery): basic.ack.
//   - fn failed, or another consumer holds the key (ErrInProgress): the
//     delivery is held for -retry-delay, then nacked with requeue, so
//     RabbitMQ delivers it again; the redelivery runs fn again or replays.
//   - the same message ID with another body (ErrRequestMismatch): nacked
//     without requeue, and the queue's dead-letter settings route it to the
//     queue <queue>.dead. It is never processed.
//
// Acknowledgements are manual and the prefetch count bounds how many
// unacknowledged messages a consumer holds; when a consumer dies, RabbitMQ
// delivers everything it held to the others, flagged redelivered.
//
// Why hold and then nack, rather than nack at once or use a delay queue:
// RabbitMQ puts a requeued message back near the head of the queue, so an
// immediate nack of a message whose key another consumer holds comes
// straight back, as fast as the network allows, until that consumer
// finishes. Holding it costs a prefetch slot and nothing else: the message
// stays this consumer's, and if the consumer dies RabbitMQ redelivers it as
// it would any other. A delay queue (a per-message TTL and a dead-letter
// route back) frees the slot but needs a publish and an ack for each retry.
//
// # When there is no message ID
//
// RabbitMQ assigns none: message-id is whatever the publisher set. When it
// is empty the key is derived from the order ID in the body (orders.Key).
// Never key on the delivery tag: it numbers deliveries on one channel, and
// a redelivery gets a new one.
//
// # What this does not cover
//
// Effectively-once processing is at-least-once delivery plus the library:
// RabbitMQ must not lose the message (a durable queue, persistent messages,
// publisher confirms: -publish uses all three), and the outcome is kept for
// -ttl, so a redelivery or a republish later than that runs fn again. With
// -mode do, a consumer killed between the order's commit and the outcome's
// leaves a row the redelivery cannot see: it places the order again once
// the claim's -lease has run out. The example exits when its connection
// drops; run it under a supervisor that restarts it.
package main
