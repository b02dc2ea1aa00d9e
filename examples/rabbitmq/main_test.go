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

// envAMQP is the RabbitMQ the tests run against.
const envAMQP = "IDEMPOTENCY_TEST_AMQP_URL"

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
// IDs reused with another body), runs three consumer processes, kills one
// with SIGKILL mid-batch so that RabbitMQ redelivers what it held to the
// others, and checks that every order was placed once and nothing is left
// in the queue: with TxManager (one row per order) and with Manager (one
// run per order, but for the runs whose outcome the kill kept from being
// recorded, counted).
func TestKilledConsumer(t *testing.T) {
	url := killtest.BrokerURL(t, envAMQP)
	for _, mode := range []orders.Mode{orders.Tx, orders.Do} {
		t.Run(string(mode), func(t *testing.T) {
			rep := killtest.Run(t, newRabbit(t, url), killtest.Standard(mode))
			t.Logf("RabbitMQ: %s", rep)
		})
	}
}
