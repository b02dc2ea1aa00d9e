package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

// consumer places the orders it pulls from the durable consumer.
type consumer struct {
	js       jetstream.JetStream
	t        *topology
	proc     *orders.Processor
	settings *orders.Settings
	log      *slog.Logger
}

// ackTimeout bounds the wait for the server's answer to an ack or a
// dead-letter publish.
const ackTimeout = 5 * time.Second

// run pulls messages until ctx is done or the pull fails. On ctx's end it
// stops pulling, finishes the messages it has pulled already and returns
// nil. Messages it never acknowledged are delivered again after the ack
// wait, in any case.
func (c *consumer) run(ctx context.Context, cons jetstream.Consumer, prefetch int) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(prefetch))
	if err != nil {
		return fmt.Errorf("pull from %s: %w", c.t.durable, err)
	}
	c.log.Info("consuming", "stream", c.t.stream, "durable", c.t.durable, "mode", c.settings.Mode)

	// A message being placed when shutdown begins is finished and
	// acknowledged: its work does not end with ctx.
	work := context.WithoutCancel(ctx)
	msgs := make(chan jetstream.Msg)
	var workers sync.WaitGroup
	for range c.settings.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for m := range msgs {
				c.handle(work, m)
			}
		}()
	}
	pulled := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			it.Drain() // Next hands over what was pulled already, then ends
		case <-pulled:
		}
	}()

	var lost error
	for {
		m, err := it.Next()
		if err != nil {
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() == nil {
				lost = fmt.Errorf("pull from %s: %w", c.t.durable, err)
			}
			break
		}
		msgs <- m
	}
	close(pulled)
	it.Stop()
	close(msgs)
	workers.Wait()
	return lost
}

// handle places one message's order and tells JetStream what became of it.
func (c *consumer) handle(ctx context.Context, m jetstream.Msg) {
	h := orders.Handled{MessageID: m.Headers().Get(jetstream.MsgIDHeader)}
	md, err := m.Metadata()
	if err != nil { // not delivered by a JetStream consumer: nothing to answer
		c.log.Warn("not a JetStream message", "subject", m.Subject(), "err", err)
		return
	}
	h.Redelivered = md.NumDelivered > 1
	c.place(ctx, m, &h)

	h.Log(c.log)
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	switch h.Action {
	case orders.Ack:
		err = m.DoubleAck(actx)
	case orders.Retry:
		err = m.NakWithDelay(c.settings.RetryDelay)
	case orders.DeadLetter:
		if err = c.deadLetter(actx, m, md, h.Why); err != nil {
			// Not parked: try again later rather than lose it.
			err = errors.Join(err, m.NakWithDelay(c.settings.RetryDelay))
		}
	}
	if err != nil { // JetStream delivers the message again after the ack wait
		orders.LogAnswerFailed(c.log, h.MessageID, h.Action, err)
	}
}

// place reads m's order and places it under m's key, and records in h what
// to tell JetStream.
func (c *consumer) place(ctx context.Context, m jetstream.Msg, h *orders.Handled) {
	if err := json.Unmarshal(m.Data(), &h.Order); err != nil {
		h.Action, h.Why, h.Err = orders.DeadLetter, "malformed", err
		return
	}
	key, err := orders.Key(h.MessageID, h.Order)
	if err != nil {
		h.Action, h.Why, h.Err = orders.DeadLetter, "no-key", err
		return
	}
	stop := c.keepAlive(m)
	res, err := c.proc.Place(ctx, key, h.Order, c.settings.Fault(h.Order, !h.Redelivered))
	stop()
	h.Placed, h.Err = res.Value, err
	h.Action, h.Why = orders.Decide(err, res.Replayed)
}

// keepAlive tells JetStream every third of the ack wait that m is still
// being worked on, until the returned function is called.
func (c *consumer) keepAlive(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(c.t.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress() // if lost, the message may be redelivered: harmless
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// deadLetter parks m in the dead-letter stream, then terminates it so that
// it is never delivered again. The copy's Nats-Msg-Id is the original's
// stream and sequence, so a copy published again after a crash before the
// Term is dropped by the dead-letter stream's duplicate window.
func (c *consumer) deadLetter(ctx context.Context, m jetstream.Msg, md *jetstream.MsgMetadata, reason string) error {
	dead := nats.NewMsg(c.t.deadSubject())
	dead.Data = m.Data()
	for k, v := range m.Headers() {
		dead.Header[k] = v
	}
	dead.Header.Del(jetstream.MsgIDHeader)
	dead.Header.Set("Dead-Letter-Reason", reason)
	dead.Header.Set("Original-Msg-Id", m.Headers().Get(jetstream.MsgIDHeader))
	dead.Header.Set("Original-Subject", m.Subject())
	dead.Header.Set("Original-Sequence", strconv.FormatUint(md.Sequence.Stream, 10))
	id := md.Stream + "." + strconv.FormatUint(md.Sequence.Stream, 10)
	if _, err := c.js.PublishMsg(ctx, dead, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("publish to %s: %w", c.t.deadSubject(), err)
	}
	return m.Term()
}
