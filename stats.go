package idempotency

import (
	"context"
	"time"
)

// StatsReader is implemented by stores that count their records for
// operators: *sqlstore.Store and *redisstore.Store do, and cmd/idemctl's
// stats command uses it. Detect it with a type assertion. Implementations
// are safe for concurrent use, as their Store is.
//
// Counting reads every record: a scan of the whole table on a SQL store, a
// SCAN of every primary and a read of every record on Redis. Run it from an
// operator's tool, not on a hot path, and bound it with ctx.
type StatsReader interface {
	// Stats counts the store's records by namespace and state. When ctx
	// ends before the count is complete, a store that counts in steps
	// (Redis) returns what it counted so far with Partial set, together
	// with the context's error; others return only the error.
	Stats(ctx context.Context) (Stats, error)
}

// Stats is what [StatsReader.Stats] returns: a store's records counted by
// namespace and state, and the expired records a [Cleaner] has yet to
// delete. Its zero value is an empty store. It is a plain value, safe to
// share between goroutines once returned, as long as none modifies Groups.
type Stats struct {
	// Now is the store's clock when it counted.
	Now time.Time
	// Groups counts the live (unexpired) records by namespace and state,
	// sorted by namespace, then state; states without records are left
	// out.
	Groups []StatsGroup
	// Expired counts records past their expiry that are not yet deleted:
	// never replayed, only taking space until a [Cleaner] deletes them.
	// Always 0 on a store that expires records by itself
	// ([ExpiringStore]).
	Expired int64
	// OldestExpired is the expiry of the oldest of them, zero when there
	// are none: Now minus OldestExpired is how far behind the Cleaner is.
	OldestExpired time.Time
	// Partial reports that counting stopped early (ctx ended): the counts
	// cover only part of the records.
	Partial bool
}

// StatsGroup counts the live records of one namespace in one state. Its
// zero value counts nothing. It is a plain value, safe to copy and share.
type StatsGroup struct {
	// Namespace and State name the group.
	Namespace string
	State     State
	// Records is how many live records the namespace holds in State.
	Records int64
	// Lapsed is how many of those are processing records whose lease ran
	// out: their owners crashed or hang, and the next call with the same
	// request takes them over. Always 0 for finished states.
	Lapsed int64
}

// Total returns the number of live records counted in s.
func (s Stats) Total() int64 {
	var n int64
	for _, g := range s.Groups {
		n += g.Records
	}
	return n
}
