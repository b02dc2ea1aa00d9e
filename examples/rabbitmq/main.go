package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rabbitmq:", err)
		os.Exit(1)
	}
}

// run is the command: it consumes until ctx is done, or publishes sample
// orders with -publish.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rabbitmq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s orders.Settings
	s.Register(fs)
	url := fs.String("amqp", envOr("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL (or $AMQP_URL)")
	queue := fs.String("queue", "orders.placed", "the queue; dead letters go to <queue>.dead")
	prefetch := fs.Int("prefetch", 16, "unacknowledged messages a consumer holds at most")
	publishN := fs.Int("publish", 0, "publish N sample orders (every fifth twice, the first ID once more with another amount) and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./examples/rabbitmq [flags]\n\nConsumes OrderPlaced messages from a RabbitMQ queue and places each order once.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := s.Check(); err != nil {
		return err
	}
	if *prefetch < s.Workers {
		return fmt.Errorf("-prefetch %d is below -workers %d", *prefetch, s.Workers)
	}

	conn, err := amqp.DialConfig(*url, amqp.Config{Properties: amqp.Table{"connection_name": s.Name}})
	if err != nil {
		return fmt.Errorf("connect to RabbitMQ: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open a channel: %w", err)
	}
	if err := declare(ch, *queue); err != nil {
		return err
	}
	if *publishN > 0 {
		msgs := orders.Sample(strconv.FormatInt(time.Now().Unix(), 36), *publishN)
		if err := publish(ctx, ch, *queue, msgs); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published %d messages to %s\n", len(msgs), *queue)
		return nil
	}

	db, proc, err := s.Open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	c := &consumer{ch: ch, proc: proc, settings: &s, log: s.Logger(stdout)}
	return c.run(ctx, *queue, *prefetch)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
