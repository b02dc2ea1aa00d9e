package killtest

import (
	"fmt"
	"time"

	"github.com/idemkit/idempotency/examples/internal/orders"
)

// Report counts one run of the test.
type Report struct {
	Mode orders.Mode

	Published int // publications
	Copies    int // of them, a message published again (a publisher's retry)
	Impostors int // of them, an ID reused with another body
	Anonymous int // of them, without a message ID
	Dropped   int // publications the broker dropped as duplicates

	Delivered   int // deliveries the consumers handled and logged
	Redelivered int // of them, flagged as delivered before
	Injected    int // retried: the injected failures (-fail-every)
	InProgress  int // retried: another consumer held the key
	Failed      int // retried: any other error
	Placed      int // acked: fn ran for this delivery
	Replayed    int // acked: another delivery's recorded outcome
	Mismatched  int // dead-lettered: an ID reused with another body
	VictimAcks  int // acks the killed consumer logged

	DeadLetters int // messages in the dead-letter queue at the end
	Orders      int // orders published
	Rows        int // rows in the orders table
	LostRuns    int // orders.Do: rows the killed consumer wrote without recording their outcome

	Elapsed time.Duration
}

// String returns the counts on a few lines.
func (r Report) String() string {
	return fmt.Sprintf("mode %s, %v\n"+
		"published %d (%d copies, %d reused IDs, %d without an ID), the broker dropped %d as duplicates\n"+
		"delivered %d (%d redelivered, %d of them for no nack: the kill), retried %d (%d injected failures, %d in progress, %d other failures)\n"+
		"placed %d, replayed %d, dead-lettered %d (%d in the dead-letter queue), the killed consumer acked %d first\n"+
		"%d orders, %d rows, %d runs lost to the kill (fn ran, outcome not recorded)",
		r.Mode, r.Elapsed.Round(time.Millisecond),
		r.Published, r.Copies, r.Impostors, r.Anonymous, r.Dropped,
		r.Delivered, r.Redelivered, r.Redelivered-r.Injected-r.InProgress-r.Failed, r.Injected+r.InProgress+r.Failed, r.Injected, r.InProgress, r.Failed,
		r.Placed, r.Replayed, r.Mismatched, r.DeadLetters, r.VictimAcks,
		r.Orders, r.Rows, r.LostRuns)
}
