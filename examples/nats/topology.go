package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// topology names the stream, its dead-letter stream and the consumer.
type topology struct {
	stream, subject, durable string
	ackWait, dedupWindow     time.Duration
}

func (t *topology) deadStream() string  { return t.stream + "_DEAD" }
func (t *topology) deadSubject() string { return t.subject + ".dead" }

// declareStreams creates the stream and its dead-letter stream, or updates
// them to this configuration. Both keep messages in files.
func (t *topology) declareStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range []jetstream.StreamConfig{
		{Name: t.stream, Subjects: []string{t.subject}, Storage: jetstream.FileStorage, Duplicates: t.dedupWindow},
		{Name: t.deadStream(), Subjects: []string{t.deadSubject()}, Storage: jetstream.FileStorage},
	} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("declare stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// declareConsumer creates or updates the durable pull consumer that every
// consumer process shares: explicit acks, redelivery after the ack wait,
// and no limit on deliveries (a message that keeps failing keeps coming
// back, every -retry-delay: watch the consumer's redelivered count).
func (t *topology) declareConsumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, t.stream, jetstream.ConsumerConfig{
		Durable:       t.durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.ackWait,
		MaxDeliver:    -1,
		MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("declare consumer %s on %s: %w", t.durable, t.stream, err)
	}
	return cons, nil
}
