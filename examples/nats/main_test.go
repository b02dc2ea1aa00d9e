package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/idemkit/idempotency/examples/internal/killtest"
	"github.com/idemkit/idempotency/examples/internal/orders"
)

// envNATS is the NATS server, with JetStream, the tests run against.
const envNATS = "IDEMPOTENCY_TEST_NATS_URL"

// TestMain lets the test binary play the consumer processes of the kill
// test.
func TestMain(m *testing.M) {
	if args, ok := killtest.ConsumerArgs(); ok {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, args, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "consumer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKilledConsumer publishes 1,000 orders (a tenth of them twice, five
// IDs reused with another body), runs three consumer processes on one
// durable pull consumer, kills one with SIGKILL mid-batch so that
// JetStream redelivers what it held to the others after the ack wait, and
// checks that every order was placed once and nothing is left pending:
// with TxManager (one row per order) and with Manager (one run per order,
// but for the runs whose outcome the kill kept from being recorded,
// counted).
//
// The stream's duplicate window is JetStream's minimum, 100ms. A few
// copies are published right after their originals, inside it, and
// JetStream drops them; the rest are published after it and reach the
// consumers, as a publisher's retry after the window would.
func TestKilledConsumer(t *testing.T) {
	url := killtest.BrokerURL(t, envNATS)
	for _, mode := range []orders.Mode{orders.Tx, orders.Do} {
		t.Run(string(mode), func(t *testing.T) {
			rep := killtest.Run(t, newJetStream(t, url), killtest.Standard(mode))
			t.Logf("NATS JetStream: %s", rep)
		})
	}
}
