// Package killtest is the queue-consumer examples' test against a real
// broker. It publishes a batch of OrderPlaced messages — some published
// twice, as by a publisher that retried, some without a message ID, and a
// few reusing a message ID with another body — starts consumer processes
// that share one database, kills one with SIGKILL in the middle of the
// batch so that the broker redelivers what it held to the others, and then
// checks that every order was placed exactly once, that each reused ID's
// other body was dead-lettered and never placed, and that the broker holds
// nothing unacknowledged.
//
// Each example's test implements [Broker] for its broker and calls [Run];
// its TestMain calls [ConsumerArgs] first, so that the test binary can play
// the consumer processes.
package killtest
