package killtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

// tally follows the consumers' events.
type tally struct {
	pubs        []Publication
	mode        orders.Mode
	victim      string
	stored      []bool       // per publication, once published
	want        map[body]int // stored publications per body, once published
	settled     map[body]int // acks and dead-letterings logged, per body
	outstanding int          // publications not settled yet, once published
	killed      bool
	victimAcked map[string]bool // keys the victim logged an ack for
	events      []event         // every "handled" event
	unanswered  []event         // the survivors' failed answers
}

func newTally(pubs []Publication, mode orders.Mode, victim string) *tally {
	return &tally{pubs: pubs, mode: mode, victim: victim, settled: map[body]int{}, victimAcked: map[string]bool{}}
}

// eventKey is the key a consumer used for ev's message.
func eventKey(ev event) string {
	k, _ := orders.Key(ev.MessageID, orders.OrderPlaced{OrderID: ev.OrderID})
	return k
}

// add counts ev.
func (tl *tally) add(ev event) {
	if ev.Msg == "answer failed" && ev.Consumer != tl.victim {
		tl.unanswered = append(tl.unanswered, ev)
	}
	if ev.Msg != "handled" {
		return
	}
	tl.events = append(tl.events, ev)
	if ev.Action != "ack" && ev.Action != "dead-letter" {
		return
	}
	b := body{eventKey(ev), ev.Amount}
	tl.settled[b]++
	if tl.want != nil && tl.settled[b] <= tl.want[b] {
		tl.outstanding--
	}
	if ev.Consumer == tl.victim && ev.Action == "ack" {
		tl.victimAcked[b.Key] = true
	}
}

// published records which publications the broker stored.
func (tl *tally) published(stored []bool) {
	tl.stored = stored
	tl.want = map[body]int{}
	for i, p := range tl.pubs {
		if stored[i] {
			tl.want[p.body()]++
		}
	}
	for b, n := range tl.want {
		tl.outstanding += max(n-tl.settled[b], 0)
	}
}

// follow waits for the consumers to start, publishes the plan, kills the
// first consumer once it has logged killAfter acks, and returns once an
// ack or a dead-lettering was logged for every stored publication.
//
// A consumer logs its answer before it tells the broker, so the killed
// one may have logged an answer the broker never got: the broker then
// delivers the message again, and the caller waits for the broker to hold
// nothing (Broker.Quiet) before it stops the others. Logging after the
// answer would be worse: an answer the broker took but the dead consumer
// never logged would be waited for in vain.
func (tl *tally) follow(ctx context.Context, f *fleet, b Broker, pubs []Publication, killAfter int) error {
	for consuming := 0; consuming < len(f.procs); {
		select {
		case ev, ok := <-f.events:
			if !ok {
				return errors.New("the consumers exited before they started consuming")
			}
			if ev.Msg == "consuming" {
				consuming++
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for the consumers to start: %w", ctx.Err())
		}
	}

	type result struct {
		stored []bool
		err    error
	}
	done := make(chan result, 1)
	go func() {
		stored, err := b.Publish(ctx, pubs)
		done <- result{stored, err}
	}()
	acks := 0
	for tl.want == nil || !tl.killed || tl.outstanding > 0 {
		select {
		case r := <-done:
			if r.err != nil {
				return fmt.Errorf("publish: %w", r.err)
			}
			tl.published(r.stored)
			done = nil
		case ev, ok := <-f.events:
			if !ok {
				return errors.New("every consumer exited before the batch was done")
			}
			tl.add(ev)
			if ev.proc == 0 && ev.Msg == "handled" && ev.Action == "ack" {
				if acks++; acks == killAfter {
					f.signal(0, syscall.SIGKILL)
					tl.killed = true
				}
			}
			if tl.want != nil && !tl.killed && tl.outstanding == 0 {
				return fmt.Errorf("the batch was done before consumer %s logged %d acks (it logged %d): nothing to kill", tl.victim, killAfter, acks)
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for every message to be settled: %w", ctx.Err())
		}
	}
	return nil
}

// status describes what is not settled yet, for a failure.
func (tl *tally) status() string {
	var missing []string
	for b, n := range tl.want {
		if tl.settled[b] < n {
			missing = append(missing, fmt.Sprintf("%s/%d (%d of %d)", b.Key, b.Amount, tl.settled[b], n))
		}
	}
	sort.Strings(missing)
	if len(missing) > 10 {
		missing = append(missing[:10], "…")
	}
	return fmt.Sprintf("published: %v, killed: %v, %d events, %d publications outstanding: %s",
		tl.want != nil, tl.killed, len(tl.events), tl.outstanding, strings.Join(missing, ", "))
}

// report counts the plan and the events.
func (tl *tally) report(c Config) Report {
	r := Report{Mode: c.Mode, Published: len(tl.pubs)}
	for i, p := range tl.pubs {
		switch {
		case p.Kind == Copy:
			r.Copies++
		case p.Kind == Impostor:
			r.Impostors++
		}
		if p.MessageID == "" {
			r.Anonymous++
		}
		if !tl.stored[i] {
			r.Dropped++
		}
	}
	for _, ev := range tl.events {
		r.Delivered++
		if ev.Redelivered {
			r.Redelivered++
		}
		if ev.Consumer == tl.victim && ev.Action == "ack" {
			r.VictimAcks++
		}
		switch ev.Why {
		case "placed":
			r.Placed++
		case "replayed":
			r.Replayed++
		case "in-progress":
			r.InProgress++
		case "failed":
			if strings.Contains(ev.Err, "injected") {
				r.Injected++
			} else {
				r.Failed++
			}
		case "request-mismatch":
			r.Mismatched++
		}
	}
	return r
}

// checkExercised fails t when the run did not do what it is for.
func (tl *tally) checkExercised(t *testing.T, c Config, r Report) {
	t.Helper()
	for _, ev := range tl.events {
		switch ev.Why {
		case "placed", "replayed", "in-progress", "failed", "request-mismatch":
		default:
			t.Errorf("consumer %s: %s %s/%d: %s (%s): not expected in this test", ev.Consumer, ev.Action, eventKey(ev), ev.Amount, ev.Why, ev.Err)
		}
	}
	for _, ev := range tl.unanswered {
		t.Errorf("consumer %s could not tell the broker %s for %s: %s", ev.Consumer, ev.Action, ev.MessageID, ev.Err)
	}
	if r.VictimAcks < c.KillAfter {
		t.Errorf("the killed consumer acked %d messages, want at least %d", r.VictimAcks, c.KillAfter)
	}
	if r.Redelivered <= r.Injected+r.InProgress+r.Failed {
		t.Errorf("%d redeliveries for %d retries: the killed consumer's messages were not redelivered", r.Redelivered, r.Injected+r.InProgress+r.Failed)
	}
	if c.FailEvery > 0 && r.Injected == 0 {
		t.Error("no injected failure: the nack path did not run")
	}
	if r.Replayed == 0 {
		t.Error("no replay: no duplicate reached a consumer")
	}
	if c.Plan.Impostors > 0 && r.Mismatched == 0 {
		t.Error("no request mismatch: no reused ID reached a consumer")
	}
}
