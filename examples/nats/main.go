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

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
		fmt.Fprintln(os.Stderr, "nats:", err)
		os.Exit(1)
	}
}

// run is the command: it consumes until ctx is done, or publishes sample
// orders with -publish.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s orders.Settings
	s.Register(fs)
	var t topology
	url := fs.String("nats", envOr("NATS_URL", nats.DefaultURL), "NATS URL (or $NATS_URL)")
	fs.StringVar(&t.stream, "stream", "ORDERS", "the stream; dead letters go to the stream <stream>_DEAD")
	fs.StringVar(&t.subject, "subject", "orders.placed", "the stream's subject; dead letters go to <subject>.dead")
	fs.StringVar(&t.durable, "durable", "order-placer", "the durable pull consumer that every consumer process shares")
	fs.DurationVar(&t.ackWait, "ack-wait", 30*time.Second, "how long JetStream waits for an ack before it delivers a message again")
	fs.DurationVar(&t.dedupWindow, "dedup-window", 2*time.Minute, "the stream's duplicate window for Nats-Msg-Id, when this command creates the stream")
	prefetch := fs.Int("prefetch", 16, "messages a consumer pulls ahead")
	publishN := fs.Int("publish", 0, "publish N sample orders (every fifth twice, the first ID once more with another amount) and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./examples/nats [flags]\n\nConsumes OrderPlaced messages from a NATS JetStream stream and places each order once.\n\n")
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

	nc, err := nats.Connect(*url, nats.Name(s.Name))
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	if err := t.declareStreams(ctx, js); err != nil {
		return err
	}
	if *publishN > 0 {
		msgs := orders.Sample(strconv.FormatInt(time.Now().Unix(), 36), *publishN)
		dropped, err := publish(ctx, js, t.subject, msgs)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published %d messages to %s; JetStream dropped %d as duplicates inside its window\n", len(msgs), t.subject, count(dropped))
		return nil
	}

	db, proc, err := s.Open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	cons, err := t.declareConsumer(ctx, js)
	if err != nil {
		return err
	}
	c := &consumer{js: js, t: &t, proc: proc, settings: &s, log: s.Logger(stdout)}
	return c.run(ctx, cons, *prefetch)
}

func count(bs []bool) (n int) {
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
