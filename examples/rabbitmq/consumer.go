package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

// consumer places the orders it receives on one channel.
type consumer struct {
	ch       *amqp.Channel
	proc     *orders.Processor
	settings *orders.Settings
	log      *slog.Logger
	held     sync.WaitGroup // deliveries held until their requeue
}

// run consumes queue until ctx is done or the channel closes. On ctx's end
// it stops the deliveries, finishes the messages it has received already
// and gives back those it holds for a retry, then returns nil. Messages it
// never acknowledged return to the queue when the channel closes, in any
// case.
func (c *consumer) run(ctx context.Context, queue string, prefetch int) error {
	if err := c.ch.Qos(prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	closed := c.ch.NotifyClose(make(chan *amqp.Error, 1))
	tag := c.settings.Name
	deliveries, err := c.ch.Consume(queue, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", queue, err)
	}
	c.log.Info("consuming", "queue", queue, "mode", c.settings.Mode)

	// A message being placed when shutdown begins is finished and
	// acknowledged: its work does not end with ctx. Held messages are
	// given back at once when the consumer stops or the channel is lost.
	work := context.WithoutCancel(ctx)
	release, releaseAll := context.WithCancel(ctx)
	defer releaseAll()
	var workers sync.WaitGroup
	for range c.settings.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for d := range deliveries {
				c.handle(work, release, d)
			}
		}()
	}

	var lost error
	select {
	case <-ctx.Done():
		// After the cancel, deliveries hands over what was received
		// already, then closes.
		if err := c.ch.Cancel(tag, false); err != nil {
			lost = fmt.Errorf("cancel the consumer: %w", err)
		}
	case err := <-closed:
		// RabbitMQ requeues whatever this channel held.
		lost = fmt.Errorf("channel closed: %w", err)
		releaseAll()
	}
	workers.Wait()
	c.held.Wait()
	return lost
}

// handle places one delivery's order and tells RabbitMQ what became of it.
// work bounds the placing; release ends the wait of a held delivery.
func (c *consumer) handle(work, release context.Context, d amqp.Delivery) {
	h := orders.Handled{MessageID: d.MessageId, Redelivered: d.Redelivered}
	if err := json.Unmarshal(d.Body, &h.Order); err != nil {
		h.Action, h.Why, h.Err = orders.DeadLetter, "malformed", err
	} else if key, err := orders.Key(d.MessageId, h.Order); err != nil {
		h.Action, h.Why, h.Err = orders.DeadLetter, "no-key", err
	} else {
		res, err := c.proc.Place(work, key, h.Order, c.settings.Fault(h.Order, !d.Redelivered))
		h.Placed, h.Err = res.Value, err
		h.Action, h.Why = orders.Decide(err, res.Replayed)
	}

	h.Log(c.log)
	var err error
	switch h.Action {
	case orders.Ack:
		err = d.Ack(false)
	case orders.DeadLetter:
		err = d.Reject(false) // the queue's dead-letter settings route it on
	case orders.Retry:
		c.requeueLater(release, d)
	}
	if err != nil { // the channel is gone, and RabbitMQ redelivers the message
		orders.LogAnswerFailed(c.log, d.MessageId, h.Action, err)
	}
}

// requeueLater holds d for the retry delay, or until release, then gives it
// back to the queue for another delivery.
func (c *consumer) requeueLater(release context.Context, d amqp.Delivery) {
	c.held.Add(1)
	go func() {
		defer c.held.Done()
		t := time.NewTimer(c.settings.RetryDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-release.Done():
		}
		if err := d.Nack(false, true); err != nil {
			orders.LogAnswerFailed(c.log, d.MessageId, orders.Retry, err)
		}
	}()
}
