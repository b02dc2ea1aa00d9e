package killtest

import (
	"fmt"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

// Kind says why a publication is in the plan.
type Kind int

const (
	Original Kind = iota // an order's first publication
	Copy                 // the same message published again: a publisher's retry
	Impostor             // an earlier message's ID with another body: a publisher's bug
)

// Publication is one message the test publishes.
type Publication struct {
	orders.Outgoing
	Kind Kind
}

// PlanConfig sizes a plan.
type PlanConfig struct {
	Orders    int // orders with a message ID, each published once at least
	CopyEvery int // every CopyEvery-th of them is published twice
	Impostors int // messages that reuse an order's ID with another amount
	Anonymous int // orders without a message ID, each published twice
}

// NewPlan returns the publications of a plan: the originals first, in
// order, then the copies, the impostors and the anonymous orders. A broker
// decides the order it publishes them in. run keeps one run's IDs apart
// from another's.
func NewPlan(run string, c PlanConfig) []Publication {
	var pubs, extra []Publication
	order := func(i int) orders.OrderPlaced {
		return orders.OrderPlaced{OrderID: fmt.Sprintf("ord-%s-%d", run, i), Customer: fmt.Sprintf("cus_%d", i%97), AmountCents: int64(100 + i)}
	}
	// Impostors take the IDs of orders that are not copied, spread over
	// the batch, so that each reused ID has exactly two bodies.
	impostorOf := map[int]bool{}
	for k := 0; k < c.Impostors; k++ {
		i := (2*k+1)*c.Orders/(2*c.Impostors) + 1
		for c.CopyEvery > 0 && i%c.CopyEvery == 0 || impostorOf[i] {
			i++
		}
		impostorOf[i] = true
	}
	for i := 1; i <= c.Orders; i++ {
		p := Publication{Outgoing: orders.Outgoing{MessageID: fmt.Sprintf("msg-%s-%d", run, i), Order: order(i)}}
		pubs = append(pubs, p)
		if c.CopyEvery > 0 && i%c.CopyEvery == 0 {
			p.Kind = Copy
			extra = append(extra, p)
		}
		if impostorOf[i] {
			p.Kind = Impostor
			p.Order.AmountCents += 1000
			extra = append(extra, p)
		}
	}
	for i := c.Orders + 1; i <= c.Orders+c.Anonymous; i++ {
		p := Publication{Outgoing: orders.Outgoing{Order: order(i)}}
		pubs = append(pubs, p)
		p.Kind = Copy
		extra = append(extra, p)
	}
	return append(pubs, extra...)
}

// Key is the idempotency key a consumer uses for p.
func (p Publication) Key() string {
	k, _ := orders.Key(p.MessageID, p.Order)
	return k
}

// body identifies a publication's message: its key and its body. A copy
// has its original's.
type body struct {
	Key    string
	Amount int64
}

func (p Publication) body() body { return body{p.Key(), p.Order.AmountCents} }
