// Package idempotencytest is the conformance suite every
// [idempotency.Store] must pass, in the spirit of testing/fstest:
//
//	func TestConformance(t *testing.T) {
//		idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
//			return newEmptyStore(t) // a fresh, empty table for each test
//		})
//	}
//
// The suite checks the contract written on each Store method: one winner per
// claim race, takeover only after the lease lapsed and only by the same
// request, stale tokens changing nothing, expiry, release, namespaces,
// exact-byte keys, large payloads and batched deletion of expired records.
// Tests that need time to pass use leases and TTLs of a few milliseconds and
// wait for the store's own clock to move past them.
//
// A store that implements [idempotency.Inspector] is checked for looking
// up and forgetting keys in every state, and one that implements
// [idempotency.StatsReader] for its counts; for other stores those tests
// are skipped.
//
// A store that deletes expired records by itself (an
// [idempotency.ExpiringStore] whose ExpiresRecords reports true, such as
// redisstore) is checked for that instead: its DeleteExpired must delete
// nothing and fail nothing, and its expired records must vanish, which the
// suite sees as a claim by another request that succeeds.
package idempotencytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

// NewStore returns an empty store for one test. It is called once per
// subtest, possibly from parallel subtests; it should register its own
// cleanup with t.Cleanup.
type NewStore func(t *testing.T) idempotency.Store

// Long and short durations: long ones never run out during a test, short
// ones run out almost at once.
const (
	long  = time.Hour
	short = time.Millisecond
	fp1   = "v1:1111111111111111111111111111111111111111111111111111111111111111"
	fp2   = "v1:2222222222222222222222222222222222222222222222222222222222222222"
)

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, idempotency.Store)
	}{
		{"ClaimNewKey", testClaimNewKey},
		{"ClaimRace", testClaimRace},
		{"CompleteAndReplay", testCompleteAndReplay},
		{"FailedReplay", testFailedReplay},
		{"CompleteRetryIsIdempotent", testCompleteRetry},
		{"StaleTokenChangesNothing", testStaleToken},
		{"TakeoverAfterLeaseLapse", testTakeover},
		{"TakeoverRaceHasOneWinner", testTakeoverRace},
		{"LiveClaimOutlivesItsTTL", testLiveClaimOutlivesTTL},
		{"OwnerCannotRenewFinishedRecord", testRenewFinished},
		{"HugeDurationsDoNotWrapAround", testHugeDurations},
		{"LapsedLeaseKeepsItsRequest", testLapsedLeaseMismatch},
		{"RenewExtendsLease", testRenew},
		{"Expiry", testExpiry},
		{"Release", testRelease},
		{"Namespaces", testNamespaces},
		{"ExactByteKeys", testExactByteKeys},
		{"LargePayload", testLargePayload},
		{"DeleteExpiredInBatches", testDeleteExpired},
		{"DeleteExpiredKeepsReclaimed", testDeleteKeepsReclaimed},
		{"DeleteAbandonedClaims", testDeleteAbandoned},
		{"ConcurrentDeleteExpired", testConcurrentDeleteExpired},
		{"RejectsInvalidInput", testInvalidInput},
		// Stores that implement idempotency.Inspector and StatsReader.
		{"InspectClaim", testInspectClaim},
		{"InspectLapsedLease", testInspectLapsed},
		{"InspectFinished", testInspectFinished},
		{"InspectAbsentOrExpired", testInspectAbsent},
		{"ForgetInEveryState", testForget},
		{"CompleteAfterForget", testForgetThenStaleComplete},
		{"Stats", testStats},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func token() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

func claimReq(ns, key, fp string, lease, ttl time.Duration) idempotency.ClaimRequest {
	return idempotency.ClaimRequest{Namespace: ns, Key: key, Fingerprint: fp, Token: token(), Lease: lease, TTL: ttl}
}

func lockOf(r idempotency.ClaimRequest) idempotency.Lock {
	return idempotency.Lock{Namespace: r.Namespace, Key: r.Key, Token: r.Token}
}

func mustClaim(t *testing.T, s idempotency.Store, r idempotency.ClaimRequest) {
	t.Helper()
	res, err := s.Claim(context.Background(), r)
	if err != nil {
		t.Fatalf("Claim(%q): %v", r.Key, err)
	}
	if !res.Claimed {
		t.Fatalf("Claim(%q) = not claimed, record %+v; want claimed", r.Key, res.Record)
	}
}

func mustNotClaim(t *testing.T, s idempotency.Store, r idempotency.ClaimRequest) idempotency.Record {
	t.Helper()
	res, err := s.Claim(context.Background(), r)
	if err != nil {
		t.Fatalf("Claim(%q): %v", r.Key, err)
	}
	if res.Claimed {
		t.Fatalf("Claim(%q) claimed; want the existing record", r.Key)
	}
	return res.Record
}

func mustComplete(t *testing.T, s idempotency.Store, r idempotency.ClaimRequest, state idempotency.State, payload []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Complete(context.Background(), lockOf(r), state, payload, ttl); err != nil {
		t.Fatalf("Complete(%q): %v", r.Key, err)
	}
}

// eventually polls cond until it holds. It is used only where the store's
// clock must move past a short lease or TTL; there is no signal for that.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// claimWhenFree claims r as soon as the store lets it.
func claimWhenFree(t *testing.T, s idempotency.Store, r idempotency.ClaimRequest) {
	t.Helper()
	eventually(t, "key "+r.Key+" can be claimed", func() bool {
		res, err := s.Claim(context.Background(), r)
		if err != nil {
			t.Fatalf("Claim(%q): %v", r.Key, err)
		}
		return res.Claimed
	})
}

func testClaimNewKey(t *testing.T, s idempotency.Store) {
	r := claimReq("ns", "new-key", fp1, long, long)
	mustClaim(t, s, r)
	rec := mustNotClaim(t, s, claimReq("ns", "new-key", fp1, long, long))
	if rec.State != idempotency.StateProcessing || rec.Fingerprint != fp1 || rec.Payload != nil || rec.ExpiresIn != 0 {
		t.Errorf("record = %+v; want processing with fingerprint %q, no payload and no ExpiresIn", rec, fp1)
	}
	rec = mustNotClaim(t, s, claimReq("ns", "new-key", fp2, long, long))
	if rec.Fingerprint != fp1 {
		t.Errorf("a claim with another fingerprint saw %q; want the stored %q", rec.Fingerprint, fp1)
	}
}

func testClaimRace(t *testing.T, s idempotency.Store) {
	const goroutines, keys = 16, 4
	for k := range keys {
		key := fmt.Sprintf("race-%d", k)
		var winners atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, goroutines)
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := s.Claim(context.Background(), claimReq("ns", key, fp1, long, long))
				if err != nil {
					errs <- err
					return
				}
				if res.Claimed {
					winners.Add(1)
				} else if res.Record.State != idempotency.StateProcessing {
					errs <- fmt.Errorf("loser saw state %v; want processing", res.Record.State)
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := winners.Load(); n != 1 {
			t.Errorf("key %s: %d goroutines claimed it; want exactly 1", key, n)
		}
	}
}

func testCompleteAndReplay(t *testing.T, s idempotency.Store) {
	r := claimReq("ns", "done", fp1, long, long)
	mustClaim(t, s, r)
	mustComplete(t, s, r, idempotency.StateCompleted, []byte(`{"id":"ch_1"}`), long)
	for _, fp := range []string{fp1, fp2} {
		rec := mustNotClaim(t, s, claimReq("ns", "done", fp, long, long))
		if rec.State != idempotency.StateCompleted || rec.Fingerprint != fp1 || string(rec.Payload) != `{"id":"ch_1"}` {
			t.Errorf("claim with %s: record = %+v; want completed %q with the payload", fp, rec, fp1)
		}
		// ExpiresIn is optional, but when told it is the time left of
		// the TTL the completion gave: never more.
		if rec.ExpiresIn < 0 || rec.ExpiresIn > long {
			t.Errorf("claim with %s: ExpiresIn = %v; want zero (not told) or in (0, %v]", fp, rec.ExpiresIn, long)
		}
	}
	// An empty payload is an outcome too, distinct from "none yet".
	r2 := claimReq("ns", "empty", fp1, long, long)
	mustClaim(t, s, r2)
	mustComplete(t, s, r2, idempotency.StateCompleted, []byte{}, long)
	rec := mustNotClaim(t, s, claimReq("ns", "empty", fp1, long, long))
	if rec.State != idempotency.StateCompleted || len(rec.Payload) != 0 {
		t.Errorf("empty payload: record = %+v", rec)
	}
}

func testFailedReplay(t *testing.T, s idempotency.Store) {
	r := claimReq("ns", "failed", fp1, long, long)
	mustClaim(t, s, r)
	mustComplete(t, s, r, idempotency.StateFailed, []byte("card declined"), long)
	rec := mustNotClaim(t, s, claimReq("ns", "failed", fp1, long, long))
	if rec.State != idempotency.StateFailed || string(rec.Payload) != "card declined" {
		t.Errorf("record = %+v; want failed with the message", rec)
	}
}

func testCompleteRetry(t *testing.T, s idempotency.Store) {
	// A completion whose answer was lost is retried with the same token; it
	// must not be mistaken for a lost lease.
	r := claimReq("ns", "retry", fp1, long, long)
	mustClaim(t, s, r)
	mustComplete(t, s, r, idempotency.StateCompleted, []byte("v"), long)
	if err := s.Complete(context.Background(), lockOf(r), idempotency.StateCompleted, []byte("v"), long); err != nil {
		t.Errorf("repeated Complete with the owner's token: %v; want nil", err)
	}
	if err := s.Complete(context.Background(), lockOf(r), idempotency.StateFailed, []byte("x"), long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Complete with another final state after completion: %v; want ErrLeaseLost", err)
	}
}

func testStaleToken(t *testing.T, s idempotency.Store) {
	r := claimReq("ns", "owned", fp1, long, long)
	mustClaim(t, s, r)
	stale := idempotency.Lock{Namespace: "ns", Key: "owned", Token: token()}
	ctx := context.Background()
	if err := s.Complete(ctx, stale, idempotency.StateCompleted, []byte("stale"), long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Complete with a stale token: %v; want ErrLeaseLost", err)
	}
	if err := s.Renew(ctx, stale, long, long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Renew with a stale token: %v; want ErrLeaseLost", err)
	}
	if err := s.Release(ctx, stale); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Release with a stale token: %v; want ErrLeaseLost", err)
	}
	rec := mustNotClaim(t, s, claimReq("ns", "owned", fp1, long, long))
	if rec.State != idempotency.StateProcessing {
		t.Fatalf("after stale writes the record is %v; want still processing", rec.State)
	}
	// The owner's own writes still work.
	if err := s.Renew(ctx, lockOf(r), long, long); err != nil {
		t.Errorf("Renew by the owner: %v", err)
	}
	mustComplete(t, s, r, idempotency.StateCompleted, []byte("mine"), long)
	// Writes against a missing key are stale too.
	gone := idempotency.Lock{Namespace: "ns", Key: "never-claimed", Token: token()}
	if err := s.Renew(ctx, gone, long, long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Renew of a missing key: %v; want ErrLeaseLost", err)
	}
}

func testTakeover(t *testing.T, s idempotency.Store) {
	first := claimReq("ns", "crashed", fp1, short, long)
	if res, err := s.Claim(context.Background(), first); err != nil || !res.Claimed || res.TookOver {
		t.Fatalf("Claim of a new key = %+v, %v; want claimed, not taken over", res, err)
	}
	// (A store may leave TookOver false; one that sets it sets it only
	// for a lapsed claim, never for a new key as above.)
	second := claimReq("ns", "crashed", fp1, long, long)
	claimWhenFree(t, s, second)
	ctx := context.Background()
	if err := s.Complete(ctx, lockOf(first), idempotency.StateCompleted, []byte("late"), long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("late Complete by the first owner: %v; want ErrLeaseLost", err)
	}
	if err := s.Renew(ctx, lockOf(first), long, long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("late Renew by the first owner: %v; want ErrLeaseLost", err)
	}
	mustComplete(t, s, second, idempotency.StateCompleted, []byte("new owner"), long)
	rec := mustNotClaim(t, s, claimReq("ns", "crashed", fp1, long, long))
	if string(rec.Payload) != "new owner" {
		t.Errorf("payload = %q; want the new owner's", rec.Payload)
	}
	// A lease that did not lapse is never taken over.
	held := claimReq("ns", "held", fp1, long, long)
	mustClaim(t, s, held)
	mustNotClaim(t, s, claimReq("ns", "held", fp1, long, long))
}

func testLapsedLeaseMismatch(t *testing.T, s idempotency.Store) {
	first := claimReq("ns", "lapsed", fp1, short, long)
	mustClaim(t, s, first)
	// Wait, through a control key claimed after it with the same short
	// lease, until the first lease has surely lapsed.
	control := claimReq("ns", "lapsed-control", fp1, short, long)
	mustClaim(t, s, control)
	claimWhenFree(t, s, claimReq("ns", "lapsed-control", fp1, long, long))
	rec := mustNotClaim(t, s, claimReq("ns", "lapsed", fp2, long, long))
	if rec.Fingerprint != fp1 || rec.State != idempotency.StateProcessing {
		t.Errorf("record = %+v; want the lapsed claim of %s: the key still belongs to its request", rec, fp1)
	}
}

func testRenew(t *testing.T, s idempotency.Store) {
	r := claimReq("ns", "renewed", fp1, short, long)
	mustClaim(t, s, r)
	if err := s.Renew(context.Background(), lockOf(r), long, long); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	control := claimReq("ns", "renew-control", fp1, short, long)
	mustClaim(t, s, control)
	claimWhenFree(t, s, claimReq("ns", "renew-control", fp1, long, long))
	mustNotClaim(t, s, claimReq("ns", "renewed", fp1, long, long))

	// Renewing to a short lease lets the key go soon.
	if err := s.Renew(context.Background(), lockOf(r), short, long); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	claimWhenFree(t, s, claimReq("ns", "renewed", fp1, long, long))
}

func testExpiry(t *testing.T, s idempotency.Store) {
	r := claimReq("ns", "expiring", fp1, long, long)
	mustClaim(t, s, r)
	mustComplete(t, s, r, idempotency.StateCompleted, []byte("old"), short)
	kept := claimReq("ns", "kept", fp1, long, long)
	mustClaim(t, s, kept)
	mustComplete(t, s, kept, idempotency.StateCompleted, []byte("kept"), long)

	// An expired outcome is never replayed; the key is free for any
	// request, even one with another fingerprint.
	claimWhenFree(t, s, claimReq("ns", "expiring", fp2, long, long))
	rec := mustNotClaim(t, s, claimReq("ns", "expiring", fp1, long, long))
	if rec.Fingerprint != fp2 || rec.State != idempotency.StateProcessing || rec.Payload != nil {
		t.Errorf("after expiry and a new claim: %+v; want processing for %s", rec, fp2)
	}
	rec = mustNotClaim(t, s, claimReq("ns", "kept", fp1, long, long))
	if string(rec.Payload) != "kept" {
		t.Errorf("unexpired record: %+v; want it replayed", rec)
	}
}

func testRelease(t *testing.T, s idempotency.Store) {
	r := claimReq("ns", "released", fp1, long, long)
	mustClaim(t, s, r)
	if err := s.Release(context.Background(), lockOf(r)); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := s.Release(context.Background(), lockOf(r)); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("second Release: %v; want ErrLeaseLost", err)
	}
	// Released means absent: any request may claim it.
	mustClaim(t, s, claimReq("ns", "released", fp2, long, long))

	// A finished record is not released.
	done := claimReq("ns", "finished", fp1, long, long)
	mustClaim(t, s, done)
	mustComplete(t, s, done, idempotency.StateCompleted, []byte("x"), long)
	if err := s.Release(context.Background(), lockOf(done)); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Release of a completed record: %v; want ErrLeaseLost", err)
	}
	mustNotClaim(t, s, claimReq("ns", "finished", fp1, long, long))
}

func testNamespaces(t *testing.T, s idempotency.Store) {
	a := claimReq("a", "shared-key", fp1, long, long)
	mustClaim(t, s, a)
	mustComplete(t, s, a, idempotency.StateCompleted, []byte("from a"), long)
	b := claimReq("b", "shared-key", fp2, long, long)
	mustClaim(t, s, b)
	mustComplete(t, s, b, idempotency.StateCompleted, []byte("from b"), long)
	empty := claimReq("", "shared-key", fp1, long, long)
	mustClaim(t, s, empty)
	for ns, want := range map[string]string{"a": "from a", "b": "from b"} {
		rec := mustNotClaim(t, s, claimReq(ns, "shared-key", fp1, long, long))
		if string(rec.Payload) != want {
			t.Errorf("namespace %q replayed %q; want %q", ns, rec.Payload, want)
		}
	}
	// The namespace/key boundary is exact: ("a", "bc") is not ("ab", "c").
	mustClaim(t, s, claimReq("ab", "c", fp1, long, long))
	mustClaim(t, s, claimReq("a", "bc", fp1, long, long))
}

func testExactByteKeys(t *testing.T, s idempotency.Store) {
	keys := []string{
		"Key-A", "key-a", "KEY-A",
		"k", "k ", " k", "k\t",
		"é", "e\u0301", "É",
		"ß", "ss",
		strings.Repeat("😀", 63) + "abc", // 255 bytes of mostly 4-byte UTF-8
		strings.Repeat("x", idempotency.MaxKeyLen),
	}
	for i, k := range keys {
		r := claimReq("ns", k, fp1, long, long)
		mustClaim(t, s, r)
		mustComplete(t, s, r, idempotency.StateCompleted, []byte(fmt.Sprint(i)), long)
	}
	for i, k := range keys {
		rec := mustNotClaim(t, s, claimReq("ns", k, fp1, long, long))
		if string(rec.Payload) != fmt.Sprint(i) {
			t.Errorf("key %q replayed %q; want %q: keys must compare as exact bytes", k, rec.Payload, fmt.Sprint(i))
		}
	}
}

func testLargePayload(t *testing.T, s idempotency.Store) {
	payload := make([]byte, 1<<20)
	_, _ = rand.Read(payload)
	payload[0], payload[1], payload[len(payload)-1] = 0, 0xff, 0 // NULs and invalid UTF-8 kept as is
	r := claimReq("ns", "large", fp1, long, long)
	mustClaim(t, s, r)
	mustComplete(t, s, r, idempotency.StateCompleted, payload, long)
	rec := mustNotClaim(t, s, claimReq("ns", "large", fp1, long, long))
	if !bytes.Equal(rec.Payload, payload) {
		t.Errorf("1 MiB payload replayed with %d bytes, not byte-exact", len(rec.Payload))
	}
}

// expireAll completes n records under prefix with a short TTL and waits
// until the store's clock has passed their expiry.
func expireAll(t *testing.T, s idempotency.Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		r := claimReq("ns", fmt.Sprintf("%s-%d", prefix, i), fp1, long, long)
		mustClaim(t, s, r)
		mustComplete(t, s, r, idempotency.StateCompleted, []byte("x"), short)
	}
	// The last one expires last: once it can be claimed, all have expired.
	// Claiming it makes it live again, so it is not counted as expired.
	claimWhenFree(t, s, claimReq("ns", fmt.Sprintf("%s-%d", prefix, n-1), fp1, long, long))
	// A store's clock may tick in whole milliseconds and treat the very
	// millisecond of an expiry either way (Redis deletes some records in
	// it and still shows others): wait one expiry more, so that every
	// record above has surely expired, whichever way it ticks.
	waitPast(t, s, prefix+"-control")
}

func testDeleteExpired(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	for i := range 5 {
		r := claimReq("ns", fmt.Sprintf("live-%d", i), fp1, long, long)
		mustClaim(t, s, r)
		if i%2 == 0 {
			mustComplete(t, s, r, idempotency.StateCompleted, []byte("live"), long)
		}
	}
	expireAll(t, s, "old", 26) // 25 expired, the last one re-claimed

	if expiresByItself(s) {
		mustDeleteNothing(t, s, 10)
		for i := range 25 {
			mustHaveVanished(t, s, fmt.Sprintf("old-%d", i))
		}
	} else {
		checkBatches(t, s)
	}
	for i := range 5 {
		rec := mustNotClaim(t, s, claimReq("ns", fmt.Sprintf("live-%d", i), fp1, long, long))
		if i%2 == 0 && string(rec.Payload) != "live" {
			t.Errorf("live record %d lost its payload: %+v", i, rec)
		}
	}
	mustNotClaim(t, s, claimReq("ns", "old-25", fp1, long, long))
	if _, err := s.DeleteExpired(ctx, 0); err == nil {
		t.Error("DeleteExpired with limit 0: nil error; want an error")
	}
}

// checkBatches deletes the 25 expired records of testDeleteExpired in
// batches of 10.
func checkBatches(t *testing.T, s idempotency.Store) {
	t.Helper()
	var batches []int64
	for {
		n, err := s.DeleteExpired(context.Background(), 10)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		batches = append(batches, n)
		if n < 10 {
			break
		}
	}
	if fmt.Sprint(batches) != "[10 10 5]" {
		t.Errorf("batches deleted %v; want [10 10 5]", batches)
	}
}

func testDeleteKeepsReclaimed(t *testing.T, s idempotency.Store) {
	expireAll(t, s, "reclaim", 3)
	// Re-claim an expired record (the contract's "claimed a moment before")
	// and complete it; the delete must re-check expiry and keep it.
	r := claimReq("ns", "reclaim-0", fp2, long, long)
	mustClaim(t, s, r)
	if expiresByItself(s) {
		mustDeleteNothing(t, s, 100)
		mustHaveVanished(t, s, "reclaim-1")
	} else {
		n, err := s.DeleteExpired(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("deleted %d; want 1 (reclaim-1 only)", n)
		}
	}
	rec := mustNotClaim(t, s, claimReq("ns", "reclaim-0", fp2, long, long))
	if rec.Fingerprint != fp2 {
		t.Errorf("re-claimed record: %+v", rec)
	}
}

func testDeleteAbandoned(t *testing.T, s idempotency.Store) {
	// A processing record whose owner vanished is deleted once its lease
	// and TTL have both run out.
	abandoned := claimReq("ns", "abandoned", fp1, short, short)
	mustClaim(t, s, abandoned)
	control := claimReq("ns", "abandoned-control", fp1, short, short)
	mustClaim(t, s, control)
	fresh := claimReq("ns", "fresh", fp1, short, long)
	mustClaim(t, s, fresh)
	if expiresByItself(s) {
		// A processing record within its TTL refuses another request;
		// once it expired it is gone and the other request claims it.
		for _, key := range []string{"abandoned", "abandoned-control"} {
			claimWhenFree(t, s, claimReq("ns", key, fp2, long, long))
		}
		mustDeleteNothing(t, s, 100)
	} else {
		deleteAbandoned(t, s)
	}
	// The fresh claim's lease lapsed, but within its TTL it still belongs to
	// its request.
	rec := mustNotClaim(t, s, claimReq("ns", "fresh", fp2, long, long))
	if rec.Fingerprint != fp1 {
		t.Errorf("fresh record = %+v", rec)
	}
}

// deleteAbandoned waits until DeleteExpired has deleted the two abandoned
// claims of testDeleteAbandoned.
func deleteAbandoned(t *testing.T, s idempotency.Store) {
	t.Helper()
	// The two expire a moment apart, so a pass may delete one of them and
	// the next the other: count across passes.
	var deleted int64
	eventually(t, "the abandoned claims expire", func() bool {
		n, err := s.DeleteExpired(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if deleted += n; deleted > 2 {
			t.Fatalf("deleted %d; want at most the 2 abandoned claims", deleted)
		}
		return deleted == 2
	})
}

func testInvalidInput(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	bad := []idempotency.ClaimRequest{
		claimReq("ns", "", fp1, long, long),
		claimReq("ns", strings.Repeat("x", idempotency.MaxKeyLen+1), fp1, long, long),
		claimReq("ns", "a\x00b", fp1, long, long),
		claimReq("ns", "a\xffb", fp1, long, long),
	}
	for _, r := range bad {
		if _, err := s.Claim(ctx, r); !errors.Is(err, idempotency.ErrInvalidKey) {
			t.Errorf("Claim with key %q: %v; want ErrInvalidKey", r.Key, err)
		}
	}
	r := claimReq("ns", "ok", "", long, long)
	if _, err := s.Claim(ctx, r); err == nil {
		t.Error("Claim with an empty fingerprint: nil error")
	}
	r = claimReq("ns", "ok", fp1, 0, long)
	if _, err := s.Claim(ctx, r); err == nil {
		t.Error("Claim with a zero lease: nil error")
	}
}

// waitPast claims a control key with a short lease and TTL and waits, on the
// store's clock, until it has expired: every short lease or TTL set before
// the call has run out too.
func waitPast(t *testing.T, s idempotency.Store, control string) {
	t.Helper()
	mustClaim(t, s, claimReq("ns", control, fp1, short, short))
	claimWhenFree(t, s, claimReq("ns", control, fp2, long, long))
}

func testTakeoverRace(t *testing.T, s idempotency.Store) {
	// Many callers race for a lapsed claim (same request) and for an
	// expired record (two requests): one wins, the others see its claim.
	mustClaim(t, s, claimReq("ns", "lapsed", fp1, short, long))
	done := claimReq("ns", "expired", fp1, long, long)
	mustClaim(t, s, done)
	mustComplete(t, s, done, idempotency.StateCompleted, []byte("old"), short)
	waitPast(t, s, "control")

	for _, key := range []string{"lapsed", "expired"} {
		const racers = 16
		var mu sync.Mutex
		var winners []string
		var losers []idempotency.Record
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range racers {
			fp := fp1
			if key == "expired" && i%2 == 1 {
				fp = fp2 // an expired record is free for any request
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := s.Claim(context.Background(), claimReq("ns", key, fp, long, long))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("%s: Claim: %v", key, err)
				case res.Claimed:
					winners = append(winners, fp)
				default:
					losers = append(losers, res.Record)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("%s: %d callers claimed it; want exactly 1", key, len(winners))
		}
		for _, rec := range losers {
			if rec.State != idempotency.StateProcessing || rec.Fingerprint != winners[0] || rec.Payload != nil {
				t.Errorf("%s: a loser saw %+v; want the winner's processing claim for %s", key, rec, winners[0])
			}
		}
	}
}

func testLiveClaimOutlivesTTL(t *testing.T, s idempotency.Store) {
	// A claim expires Lease+TTL after it was made or renewed: a claim whose
	// fn runs longer than TTL is neither taken by another request nor
	// deleted while its lease holds.
	ctx := context.Background()
	mustClaim(t, s, claimReq("ns", "long-lease", fp1, long, short))
	// The renewed claim's first lease leaves time for the renewal on a
	// loaded machine (a store that expires records itself would have
	// deleted it otherwise); a control key claimed after it with the same
	// lease shows when that first lease and TTL are surely over.
	const first = 200 * time.Millisecond
	renewed := claimReq("ns", "renewed", fp1, first, short)
	mustClaim(t, s, renewed)
	if err := s.Renew(ctx, lockOf(renewed), long, short); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, claimReq("ns", "control", fp1, first, short))
	claimWhenFree(t, s, claimReq("ns", "control", fp2, long, long))
	for _, key := range []string{"long-lease", "renewed"} {
		rec := mustNotClaim(t, s, claimReq("ns", key, fp2, long, long))
		if rec.Fingerprint != fp1 {
			t.Errorf("%s: another request saw %+v; want the live claim of %s", key, rec, fp1)
		}
	}
	if n, err := s.DeleteExpired(ctx, 100); err != nil || n != 0 {
		t.Errorf("DeleteExpired = %d, %v; want 0: no record has expired", n, err)
	}
}

func testRenewFinished(t *testing.T, s idempotency.Store) {
	// Renew by the owner of a finished record reports ErrLeaseLost and does
	// not extend its expiry.
	ctx := context.Background()
	r := claimReq("ns", "finished", fp1, long, long)
	mustClaim(t, s, r)
	mustComplete(t, s, r, idempotency.StateCompleted, []byte("v"), short)
	if err := s.Renew(ctx, lockOf(r), long, long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Renew of a completed record by its owner: %v; want ErrLeaseLost", err)
	}
	claimWhenFree(t, s, claimReq("ns", "finished", fp2, long, long))
}

func testHugeDurations(t *testing.T, s idempotency.Store) {
	// Durations near the top of time.Duration must be rejected or work;
	// overflowing into a negative duration would write records expired.
	ctx := context.Background()
	if res, err := s.Claim(ctx, claimReq("ns", "huge", fp1, time.Minute, math.MaxInt64)); err == nil && res.Claimed {
		rec := mustNotClaim(t, s, claimReq("ns", "huge", fp1, long, long))
		if rec.State != idempotency.StateProcessing {
			t.Errorf("after a claim with a huge TTL: %+v", rec)
		}
	}
	r := claimReq("ns", "forever", fp1, long, long)
	mustClaim(t, s, r)
	if err := s.Complete(ctx, lockOf(r), idempotency.StateCompleted, []byte("v"), math.MaxInt64-1); err != nil {
		return // rejecting it is fine
	}
	rec := mustNotClaim(t, s, claimReq("ns", "forever", fp2, long, long))
	if string(rec.Payload) != "v" {
		t.Errorf("after Complete with a huge TTL: %+v; want the outcome replayed", rec)
	}
}

func testConcurrentDeleteExpired(t *testing.T, s idempotency.Store) {
	// Several cleaners at once delete every expired record exactly once,
	// without errors, and leave live records alone.
	ctx := context.Background()
	const expired, live, cleaners = 40, 5, 8
	for i := range live {
		mustClaim(t, s, claimReq("ns", fmt.Sprint("live-", i), fp1, long, long))
	}
	expireAll(t, s, "old", expired+1) // the last one is re-claimed: live
	var deleted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range cleaners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				n, err := s.DeleteExpired(ctx, 3)
				if err != nil {
					t.Errorf("DeleteExpired: %v", err)
					return
				}
				deleted.Add(n)
				if n == 0 {
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if n, err := s.DeleteExpired(ctx, 100); err != nil || n != 0 {
		t.Errorf("after the cleaners: DeleteExpired = %d, %v; want 0", n, err)
	}
	want := int64(expired)
	if expiresByItself(s) {
		want = 0
		for i := range expired {
			mustHaveVanished(t, s, fmt.Sprint("old-", i))
		}
	}
	if got := deleted.Load(); got != want {
		t.Errorf("cleaners deleted %d records; want %d", got, want)
	}
	for i := range live {
		mustNotClaim(t, s, claimReq("ns", fmt.Sprint("live-", i), fp1, long, long))
	}
}

// expiresByItself reports whether s deletes expired records by itself.
func expiresByItself(s idempotency.Store) bool {
	e, ok := s.(idempotency.ExpiringStore)
	return ok && e.ExpiresRecords()
}

// mustDeleteNothing checks that DeleteExpired of a store that expires
// records by itself deletes nothing and fails nothing.
func mustDeleteNothing(t *testing.T, s idempotency.Store, limit int) {
	t.Helper()
	if n, err := s.DeleteExpired(context.Background(), limit); n != 0 || err != nil {
		t.Errorf("DeleteExpired = %d, %v on a store that expires records by itself; want 0, nil", n, err)
	}
}

// mustHaveVanished checks that the expired record under key is gone: a
// request other than the one that made it can claim the key.
func mustHaveVanished(t *testing.T, s idempotency.Store, key string) {
	t.Helper()
	res, err := s.Claim(context.Background(), claimReq("ns", key, fp2, long, long))
	if err != nil {
		t.Fatalf("Claim(%q): %v", key, err)
	}
	if !res.Claimed {
		t.Errorf("expired record %q is still there: %+v; want it gone", key, res.Record)
	}
}
