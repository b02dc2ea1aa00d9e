package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idemkit/idempotency/examples/internal/killtest"
	"github.com/idemkit/idempotency/examples/internal/orders"
)

// jetStream is a stream of its own on a NATS server, for one test.
type jetStream struct {
	t   *testing.T
	url string
	top topology
	nc  *nats.Conn
	js  jetstream.JetStream
}

// newJetStream creates a stream named for this test, its dead-letter
// stream and the durable consumer, and deletes the streams when t ends.
// The ack wait is short, so that the killed consumer's messages come back
// within the test, and the duplicate window is JetStream's minimum.
func newJetStream(t *testing.T, url string) *jetStream {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("NATS at %s: %v", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var b [5]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	j := &jetStream{t: t, url: url, nc: nc, js: js, top: topology{
		stream:      "IDEMPOTENCY_TEST_" + strings.ToUpper(suffix),
		subject:     "idempotency-test." + suffix + ".placed",
		durable:     "placer",
		ackWait:     2 * time.Second,
		dedupWindow: 100 * time.Millisecond,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Cleanup(func() {
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, s := range []string{j.top.stream, j.top.deadStream()} {
			if err := js.DeleteStream(ctx, s); err != nil {
				t.Errorf("delete stream %s: %v", s, err)
			}
		}
	})
	if err := j.top.declareStreams(ctx, js); err != nil {
		t.Fatal(err)
	}
	if _, err := j.top.declareConsumer(ctx, js); err != nil {
		t.Fatal(err)
	}
	return j
}

func (j *jetStream) Args() []string {
	return []string{"-nats", j.url, "-stream", j.top.stream, "-subject", j.top.subject, "-durable", j.top.durable,
		"-ack-wait", j.top.ackWait.String(), "-dedup-window", j.top.dedupWindow.String()}
}

// Publish publishes in two waves. The first holds the originals, each
// followed at once by the copies of every fifth copied order (inside the
// duplicate window: JetStream drops them) and by the copy of each order
// without an ID (which JetStream cannot recognise). The second, after
// the window, holds the other copies and the reused IDs, in a random
// order: JetStream stores them, and the consumers must tell.
func (j *jetStream) Publish(ctx context.Context, pubs []killtest.Publication) ([]bool, error) {
	copies := map[string][]int{} // an original's key → the copies published right after it
	copied := 0
	var first, second []int
	for i, p := range pubs {
		switch {
		case p.Kind == killtest.Copy && (p.MessageID == "" || copied%5 == 0):
			copies[p.Key()] = append(copies[p.Key()], i)
		case p.Kind == killtest.Copy || p.Kind == killtest.Impostor:
			second = append(second, i)
		}
		if p.Kind == killtest.Copy && p.MessageID != "" {
			copied++
		}
	}
	for i, p := range pubs {
		if p.Kind == killtest.Original {
			first = append(first, i)
			first = append(first, copies[p.Key()]...)
		}
	}
	seed := uint64(time.Now().UnixNano())
	j.t.Logf("publishing the second wave in the order of seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0))
	rng.Shuffle(len(second), func(a, b int) { second[a], second[b] = second[b], second[a] })

	stored := make([]bool, len(pubs))
	send := func(idx []int) error {
		msgs := make([]orders.Outgoing, len(idx))
		for k, i := range idx {
			msgs[k] = pubs[i].Outgoing
		}
		dropped, err := publish(ctx, j.js, j.top.subject, msgs)
		for k, i := range idx {
			stored[i] = err == nil && !dropped[k]
		}
		return err
	}
	if err := send(first); err != nil {
		return nil, err
	}
	// The stream forgets an ID once the window has passed since its
	// publish, on a timer that fires at least every 50ms: three windows
	// are past it. A broker's clock rule, so a timer, not a signal.
	t := time.NewTimer(3 * j.top.dedupWindow)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := send(second); err != nil {
		return nil, err
	}
	if len(first)+len(second) != len(pubs) {
		return nil, fmt.Errorf("published %d of %d", len(first)+len(second), len(pubs))
	}
	return stored, nil
}

// Quiet waits until the durable consumer has nothing pending: nothing left
// to deliver, nothing delivered and unacknowledged. Acks here are
// confirmed by the server (DoubleAck), so a killed consumer's acks count
// and its other messages are redelivered after the ack wait.
func (j *jetStream) Quiet(ctx context.Context, _ int) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := j.Leftover(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%d messages pending: %w", n, ctx.Err())
		}
	}
}

// Leftover counts the durable consumer's messages not yet delivered, and
// those delivered but neither acknowledged nor terminated.
func (j *jetStream) Leftover(ctx context.Context) (int, error) {
	c, err := j.js.Consumer(ctx, j.top.stream, j.top.durable)
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.NumPending) + info.NumAckPending, nil
}

// DeadLetters reads every message of the dead-letter stream.
func (j *jetStream) DeadLetters(ctx context.Context) ([]orders.Outgoing, error) {
	s, err := j.js.Stream(ctx, j.top.deadStream())
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []orders.Outgoing
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("dead letter %d: %w", seq, err)
		}
		d := orders.Outgoing{MessageID: m.Header.Get("Original-Msg-Id")}
		if err := json.Unmarshal(m.Data, &d.Order); err != nil {
			return nil, fmt.Errorf("dead letter %d: %w", seq, err)
		}
		out = append(out, d)
	}
	return out, nil
}
