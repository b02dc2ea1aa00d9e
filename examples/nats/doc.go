// Command nats consumes OrderPlaced messages from a NATS JetStream stream
// and places each order exactly once, although JetStream delivers a message
// again whenever a consumer does not acknowledge it within the ack wait
// (it died, or it is slow), a message is given back with a nak, or a
// publisher retries a publish after the stream's duplicate window.
//
// Run nats-server with JetStream (127.0.0.1:4222), then:
//
//	go run ./examples/nats -publish 20             # 20 sample orders, every fifth twice, one ID reused
//	go run ./examples/nats -name c1 &              # consumers, as many as you like, sharing one
//	go run ./examples/nats -name c2                # durable pull consumer; SIGINT stops one cleanly
//	go run ./examples/nats -h                      # every flag
//
// The orders and the idempotency keys go to the SQLite file orders.db by
// default, which consumers on one host can share; -db postgres://… puts them
// in PostgreSQL, for consumers on several hosts.
//
// # What it does with a message
//
// The key is the publisher's message ID (the Nats-Msg-Id header), which
// every redelivery and every retried publish carries. The consumer runs
// orders.Processor.Place under that key — with -mode tx (the default) a
// TxManager writes the order row and the recorded outcome in one commit —
// and only once Place has returned tells JetStream what became of the
// message (orders.Decide):
//
//   - placed now, or replayed (placed by an earlier delivery): an ack that
//     waits for the server's confirmation (DoubleAck).
//   - fn failed, or another consumer holds the key (ErrInProgress):
//     NakWithDelay(-retry-delay). JetStream keeps the message and delivers
//     it again after the delay, to any consumer; the redelivery runs fn
//     again or replays. Nothing is held in the consumer meanwhile.
//   - the same message ID with another body (ErrRequestMismatch): a copy
//     is published to the dead-letter stream <stream>_DEAD (subject
//     <subject>.dead, with the reason and the original ID, subject and
//     sequence in headers), then the message is terminated (Term), so it is
//     never delivered again and never processed.
//
// The durable pull consumer acknowledges explicitly; a message not
// acknowledged within -ack-wait is delivered again. While Place runs the
// consumer tells JetStream it is still working on the message (InProgress,
// every third of the ack wait), so a slow order is not handed to a second
// consumer; if it were, the second would get ErrInProgress and back off.
//
// # JetStream's own duplicate window
//
// A stream drops a publish whose Nats-Msg-Id it has stored within its
// duplicate window (-dedup-window, two minutes by default) and answers the
// publisher that it was a duplicate — whatever the body: a reused ID with
// another body inside the window is dropped silently, never dead-lettered.
// The window covers a publisher's quick retry and nothing else: a
// redelivery (a consumer died, a nak, an ack that was lost) is the same
// stored message delivered again, which no publish-side check sees, and a
// publish retried after the window is stored twice. Those are the
// duplicates this consumer meets, and the library makes them harmless.
//
// # When there is no message ID
//
// JetStream assigns none: Nats-Msg-Id is whatever the publisher set (and
// without it the stream cannot deduplicate publishes either). When it is
// missing the key is derived from the order ID in the body (orders.Key).
// Never key on the stream sequence: a retried publish is stored again
// under a new one.
//
// # What this does not cover
//
// Effectively-once processing is at-least-once delivery plus the library:
// the stream must keep the message until it is acknowledged (file storage;
// -publish waits for each publish's acknowledgement), and the outcome is
// kept for -ttl, so a redelivery or republish later than that runs fn
// again. With -mode do, a consumer killed between the order's commit and
// the outcome's leaves a row the redelivery cannot see: it places the order
// again once the claim's -lease has run out.
package main
