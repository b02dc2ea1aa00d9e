package idempotencytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

// testStats checks a store that implements [idempotency.StatsReader]; Run
// skips it for one that does not.
func testStats(t *testing.T, s idempotency.Store) {
	sr, ok := s.(idempotency.StatsReader)
	if !ok {
		t.Skipf("%T does not implement idempotency.StatsReader", s)
	}
	ctx := context.Background()
	empty, err := sr.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats of an empty store: %v", err)
	}
	if len(empty.Groups) != 0 || empty.Expired != 0 || empty.Partial || empty.Now.IsZero() {
		t.Errorf("Stats of an empty store = %+v; want no records and the store's clock", empty)
	}

	complete := func(ns, key string, state idempotency.State, ttl time.Duration) {
		r := claimReq(ns, key, fp1, long, long)
		mustClaim(t, s, r)
		mustComplete(t, s, r, state, []byte("x"), ttl)
	}
	complete("a", "c1", idempotency.StateCompleted, long)
	complete("a", "c2", idempotency.StateCompleted, long)
	complete("a", "f1", idempotency.StateFailed, long)
	mustClaim(t, s, claimReq("a", "held", fp1, long, long))
	mustClaim(t, s, claimReq("a", "lapsed", fp1, short, long))
	complete("b", "c1", idempotency.StateCompleted, long)
	complete("b", "old1", idempotency.StateCompleted, short)
	complete("b", "old2", idempotency.StateFailed, short)
	waitPast(t, s, "control") // in namespace "ns": processing, lease held

	st, err := sr.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	got := fmt.Sprint(st.Groups)
	want := fmt.Sprint([]idempotency.StatsGroup{
		{Namespace: "a", State: idempotency.StateProcessing, Records: 2, Lapsed: 1},
		{Namespace: "a", State: idempotency.StateCompleted, Records: 2},
		{Namespace: "a", State: idempotency.StateFailed, Records: 1},
		{Namespace: "b", State: idempotency.StateCompleted, Records: 1},
		{Namespace: "ns", State: idempotency.StateProcessing, Records: 1},
	})
	if got != want {
		t.Errorf("Stats groups =\n%s\nwant\n%s", got, want)
	}
	if st.Total() != 7 || st.Partial {
		t.Errorf("Stats: total %d, partial %v; want 7, false", st.Total(), st.Partial)
	}
	if expiresByItself(s) {
		if st.Expired != 0 || !st.OldestExpired.IsZero() {
			t.Errorf("Stats of a store that expires records itself: %d expired, oldest %v; want none", st.Expired, st.OldestExpired)
		}
		return
	}
	if st.Expired != 2 || st.OldestExpired.IsZero() || !st.OldestExpired.Before(st.Now) || st.Now.Sub(st.OldestExpired) > long {
		t.Errorf("Stats: %d expired, the oldest at %v, store clock %v; want 2, a moment before now", st.Expired, st.OldestExpired, st.Now)
	}
	if n, err := s.DeleteExpired(ctx, 100); err != nil || n != 2 {
		t.Fatalf("DeleteExpired = %d, %v; want 2", n, err)
	}
	if st, err := sr.Stats(ctx); err != nil || st.Expired != 0 || !st.OldestExpired.IsZero() || st.Total() != 7 {
		t.Errorf("Stats after DeleteExpired = %+v, %v; want no expired record, 7 live", st, err)
	}
}
