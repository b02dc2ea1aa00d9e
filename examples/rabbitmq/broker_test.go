package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/idemkit/idempotency/examples/internal/killtest"
	"github.com/idemkit/idempotency/examples/internal/orders"
)

// rabbit is a queue of its own on a RabbitMQ, for one test.
type rabbit struct {
	t     *testing.T
	url   string
	queue string
	conn  *amqp.Connection
}

// newRabbit declares a queue named for this test, and its dead-letter
// queue, and deletes both when t ends.
func newRabbit(t *testing.T, url string) *rabbit {
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("RabbitMQ at %s: %v", url, err)
	}
	var b [5]byte
	_, _ = rand.Read(b[:])
	r := &rabbit{t: t, url: url, queue: "idempotency-test-" + hex.EncodeToString(b[:]), conn: conn}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := declare(ch, r.queue); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Errorf("delete the test's queues: %v", err)
			return
		}
		defer ch.Close()
		for _, q := range []string{r.queue, deadLetters(r.queue)} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("delete queue %s: %v", q, err)
			}
		}
	})
	return r
}

func (r *rabbit) Args() []string { return []string{"-amqp", r.url, "-queue", r.queue} }

// Publish publishes pubs in a random order, so that a copy may arrive
// right after its original and reach two consumers at once, or much later.
func (r *rabbit) Publish(ctx context.Context, pubs []killtest.Publication) ([]bool, error) {
	seed := uint64(time.Now().UnixNano())
	r.t.Logf("publishing in the order of seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0))
	msgs := make([]orders.Outgoing, len(pubs))
	for i, j := range rng.Perm(len(pubs)) {
		msgs[i] = pubs[j].Outgoing
	}
	ch, err := r.conn.Channel()
	if err != nil {
		return nil, err
	}
	defer ch.Close()
	if err := publish(ctx, ch, r.queue, msgs); err != nil {
		return nil, err
	}
	stored := make([]bool, len(pubs))
	for i := range stored {
		stored[i] = true // RabbitMQ does not deduplicate
	}
	return stored, nil
}

// Quiet waits until the queue has consumers consumers and no message
// ready. RabbitMQ counts a dead consumer until it has noticed its
// connection close and requeued what it held, so the count says that the
// killed consumer's messages are back. Messages the survivors hold
// unacknowledged do not show here: by now they hold at most the
// redelivery of an answer the killed consumer logged but never sent, and
// SIGTERM lets them finish it.
func (r *rabbit) Quiet(ctx context.Context, consumers int) error {
	ch, err := r.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		q, err := ch.QueueDeclarePassive(r.queue, true, false, false, false, nil)
		if err != nil {
			return err
		}
		if q.Consumers == consumers && q.Messages == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%d consumers and %d messages ready: %w", q.Consumers, q.Messages, ctx.Err())
		}
	}
}

// Leftover counts the queue's messages; with no consumer attached, every
// unacknowledged message is back among them.
func (r *rabbit) Leftover(ctx context.Context) (int, error) {
	ch, err := r.conn.Channel()
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(r.queue, true, false, false, false, nil)
	if err != nil {
		return 0, err
	}
	if q.Consumers != 0 {
		return 0, fmt.Errorf("%d consumers still attached", q.Consumers)
	}
	return q.Messages, nil
}

// DeadLetters takes every message from the dead-letter queue.
func (r *rabbit) DeadLetters(ctx context.Context) ([]orders.Outgoing, error) {
	ch, err := r.conn.Channel()
	if err != nil {
		return nil, err
	}
	defer ch.Close()
	var out []orders.Outgoing
	for {
		d, ok, err := ch.Get(deadLetters(r.queue), true)
		if err != nil || !ok {
			return out, err
		}
		m := orders.Outgoing{MessageID: d.MessageId}
		if err := json.Unmarshal(d.Body, &m.Order); err != nil {
			return nil, fmt.Errorf("dead letter %s: %w", d.MessageId, err)
		}
		out = append(out, m)
	}
}
