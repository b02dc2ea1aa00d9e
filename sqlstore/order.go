package sqlstore

import (
	"fmt"
	"sync/atomic"
)

// ClaimOrder is the order in which a claim tries its statements. The zero
// value is [AdaptiveOrder], which suits almost every application.
//
// Writing first suits first attempts, which are most of the traffic: the
// insert (INSERT … ON CONFLICT DO NOTHING, INSERT IGNORE) runs first, so a
// new key costs its insert and its completion, no more than a hand-written
// claim. A retry pays for it with a second statement: the insert that finds
// the key, then the read. On PostgreSQL that insert writes and locks nothing;
// InnoDB holds a shared lock on the existing row for the statement, and
// SQLite takes its write lock.
//
// Reading first suits retries: a plain read by primary key answers a replay
// and never writes or locks, and a new key pays that read before its insert.
//
// Both orders are complete claim protocols on their own — every write is
// one atomic statement and every lost race is read again — so a store may
// switch between them from one call to the next; only the cost differs.
type ClaimOrder int

const (
	// AdaptiveOrder writes first while most recent claims were new keys
	// and reads first once most found their key recorded (a retry storm,
	// a queue redelivering a backlog). It switches after about a dozen
	// claims that went the other way.
	AdaptiveOrder ClaimOrder = iota
	// WriteFirst always writes first.
	WriteFirst
	// ReadFirst always reads first, for deployments where no retry may
	// take a lock, even briefly, at the cost of one read per new key.
	ReadFirst
)

// String returns "adaptive", "write-first" or "read-first".
func (o ClaimOrder) String() string {
	switch o {
	case AdaptiveOrder:
		return "adaptive"
	case WriteFirst:
		return "write-first"
	case ReadFirst:
		return "read-first"
	}
	return fmt.Sprintf("ClaimOrder(%d)", int(o))
}

// Fixed-point scale of the share estimate: 1<<16 is 100%.
const shareOne = 1 << 16

// shareDecayShift sets the estimate's memory: each claim moves it 1/16 of the
// way to 0 or 100%. A store that saw only new keys reads first after 11
// retries in a row, and one that saw only retries writes first again after
// 11 new keys. With a tenth of claims being retries the estimate stays
// within a few points of 10%.
const shareDecayShift = 4

// claimPlanner carries out a store's ClaimOrder; for AdaptiveOrder it
// chooses from an exponentially weighted share of recent claims that found
// their key already recorded. Its zero value is adaptive and writes first
// until retries become common. It is safe for concurrent use;
// concurrent updates may lose one another, which only blurs an estimate
// that is a heuristic anyway.
type claimPlanner struct {
	order ClaimOrder
	found atomic.Int32 // the share, 0..shareOne
}

// readFirstAbove is the share of claims finding their key above which
// reading first is cheaper: reading first adds a read to each new key,
// writing first an insert that finds the key to each retry, and the two
// cost about the same.
const readFirstAbove = shareOne / 2

// readFirst reports whether the next claim should read before it writes.
func (p *claimPlanner) readFirst() bool {
	switch p.order {
	case WriteFirst:
		return false
	case ReadFirst:
		return true
	}
	return p.found.Load() > readFirstAbove
}

// observe records whether a claim found its key already recorded.
func (p *claimPlanner) observe(found bool) {
	old := p.found.Load()
	target := int32(0)
	if found {
		target = shareOne
	}
	p.found.Store(old + (target-old)>>shareDecayShift)
}
