package idempotencytest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

// The tests of a store that implements [idempotency.Inspector]; Run skips
// them for one that does not.

// inspector returns s as an Inspector, or skips t.
func inspector(t *testing.T, s idempotency.Store) idempotency.Inspector {
	t.Helper()
	in, ok := s.(idempotency.Inspector)
	if !ok {
		t.Skipf("%T does not implement idempotency.Inspector", s)
	}
	return in
}

// clockSlack is how far apart two readings of one store clock may be and
// still count as the same instant: stores keep milliseconds.
const clockSlack = 2 * time.Millisecond

func mustInspect(t *testing.T, in idempotency.Inspector, ns, key string) idempotency.RecordInfo {
	t.Helper()
	info, err := in.Inspect(context.Background(), ns, key)
	if err != nil {
		t.Fatalf("Inspect(%q, %q): %v", ns, key, err)
	}
	if info.Namespace != ns || info.Key != key {
		t.Errorf("Inspect(%q, %q) describes (%q, %q)", ns, key, info.Namespace, info.Key)
	}
	if info.Now.IsZero() || info.Created.After(info.Now.Add(clockSlack)) || info.Now.Sub(info.Created) > time.Minute {
		t.Errorf("Inspect(%q): created %v, store clock %v; want created a moment before now", key, info.Created, info.Now)
	}
	if !info.Expires.After(info.Now) {
		t.Errorf("Inspect(%q): expires %v, not after the store clock %v: an expired record must be ErrNotFound", key, info.Expires, info.Now)
	}
	return info
}

func near(a, b time.Time) bool { return a.Sub(b).Abs() <= clockSlack }

func testInspectClaim(t *testing.T, s idempotency.Store) {
	in := inspector(t, s)
	r := claimReq("ns", "claimed", fp1, long, 2*long)
	mustClaim(t, s, r)
	info := mustInspect(t, in, "ns", "claimed")
	if info.State != idempotency.StateProcessing || info.Fingerprint != fp1 || info.PayloadBytes != 0 {
		t.Errorf("new claim: %+v; want processing, fingerprint %s, no payload", info, fp1)
	}
	if !info.LeaseHeld || !near(info.LeaseUntil, info.Created.Add(long)) {
		t.Errorf("new claim: lease held %v until %v, created %v; want held for %v from its creation", info.LeaseHeld, info.LeaseUntil, info.Created, long)
	}
	if !near(info.Expires, info.Created.Add(3*long)) {
		t.Errorf("new claim: expires %v, created %v; want lease + TTL (%v) after", info.Expires, info.Created, 3*long)
	}
	// A renewal moves the lease and the expiry.
	if err := s.Renew(context.Background(), lockOf(r), 2*long, long); err != nil {
		t.Fatal(err)
	}
	renewed := mustInspect(t, in, "ns", "claimed")
	if !renewed.LeaseUntil.After(info.LeaseUntil) || !renewed.Created.Equal(info.Created) {
		t.Errorf("after Renew: %+v; want a later lease, the same creation (%v)", renewed, info.Created)
	}
}

func testInspectLapsed(t *testing.T, s idempotency.Store) {
	in := inspector(t, s)
	mustClaim(t, s, claimReq("ns", "lapsed", fp1, short, long))
	waitPast(t, s, "control")
	info := mustInspect(t, in, "ns", "lapsed")
	if info.State != idempotency.StateProcessing || info.LeaseHeld || info.LeaseUntil.After(info.Now) || info.LeaseUntil.IsZero() {
		t.Errorf("lapsed claim: %+v; want processing, lease not held, ended before now", info)
	}
}

func testInspectFinished(t *testing.T, s idempotency.Store) {
	in := inspector(t, s)
	for _, c := range []struct {
		key     string
		state   idempotency.State
		payload string
	}{
		{"completed", idempotency.StateCompleted, `{"id":"ch_1"}`},
		{"failed", idempotency.StateFailed, "card declined"},
		{"empty", idempotency.StateCompleted, ""},
	} {
		r := claimReq("ns", c.key, fp1, long, long)
		mustClaim(t, s, r)
		mustComplete(t, s, r, c.state, []byte(c.payload), 2*long)
		info := mustInspect(t, in, "ns", c.key)
		if info.State != c.state || info.Fingerprint != fp1 || info.PayloadBytes != len(c.payload) {
			t.Errorf("%s: %+v; want %v, fingerprint %s, %d payload bytes", c.key, info, c.state, fp1, len(c.payload))
		}
		if info.LeaseHeld || !info.LeaseUntil.IsZero() {
			t.Errorf("%s: lease held %v until %v; want no lease on a finished record", c.key, info.LeaseHeld, info.LeaseUntil)
		}
		if left := info.Expires.Sub(info.Now); left > 2*long+clockSlack || left < 2*long-time.Minute {
			t.Errorf("%s: expires %v after the store clock; want the TTL, %v", c.key, left, 2*long)
		}
	}
}

func testInspectAbsent(t *testing.T, s idempotency.Store) {
	in := inspector(t, s)
	ctx := context.Background()
	if _, err := in.Inspect(ctx, "ns", "never"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Errorf("Inspect of a key never claimed: %v; want ErrNotFound", err)
	}
	// An expired record is absent, even before a Cleaner deletes it.
	r := claimReq("ns", "expired", fp1, long, long)
	mustClaim(t, s, r)
	mustComplete(t, s, r, idempotency.StateCompleted, []byte("old"), short)
	waitPast(t, s, "control")
	if info, err := in.Inspect(ctx, "ns", "expired"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Errorf("Inspect of an expired record: %+v, %v; want ErrNotFound", info, err)
	}
	if ok, err := in.Forget(ctx, "ns", "expired"); ok || err != nil {
		t.Errorf("Forget of an expired record = %v, %v; want false, nil: its key is free already", ok, err)
	}
	// The identity is exact: another case, namespace or split is not it.
	mustClaim(t, s, claimReq("ab", "Key", fp1, long, long))
	for _, id := range [][2]string{{"ab", "key"}, {"a", "bKey"}, {"", "Key"}, {"ab", "Key "}} {
		if _, err := in.Inspect(ctx, id[0], id[1]); !errors.Is(err, idempotency.ErrNotFound) {
			t.Errorf("Inspect(%q, %q): %v; want ErrNotFound: only (\"ab\", \"Key\") was claimed", id[0], id[1], err)
		}
		if ok, err := in.Forget(ctx, id[0], id[1]); ok || err != nil {
			t.Errorf("Forget(%q, %q) = %v, %v; want false, nil", id[0], id[1], ok, err)
		}
	}
	mustInspect(t, in, "ab", "Key")
	for _, key := range []string{"", "a\x00b", "a\xffb"} {
		if _, err := in.Inspect(ctx, "ns", key); !errors.Is(err, idempotency.ErrInvalidKey) {
			t.Errorf("Inspect of key %q: %v; want ErrInvalidKey", key, err)
		}
		if _, err := in.Forget(ctx, "ns", key); !errors.Is(err, idempotency.ErrInvalidKey) {
			t.Errorf("Forget of key %q: %v; want ErrInvalidKey", key, err)
		}
	}
	if _, err := in.Inspect(ctx, "a\xff", "k"); !errors.Is(err, idempotency.ErrInvalidKey) {
		t.Errorf("Inspect with an invalid namespace: %v; want ErrInvalidKey", err)
	}
}

func testForget(t *testing.T, s idempotency.Store) {
	in := inspector(t, s)
	ctx := context.Background()
	held := claimReq("ns", "held", fp1, long, long)
	mustClaim(t, s, held)
	mustClaim(t, s, claimReq("ns", "lapsed", fp1, short, long))
	for _, c := range []struct {
		key   string
		state idempotency.State
	}{{"completed", idempotency.StateCompleted}, {"failed", idempotency.StateFailed}} {
		r := claimReq("ns", c.key, fp1, long, long)
		mustClaim(t, s, r)
		mustComplete(t, s, r, c.state, []byte("x"), long)
	}
	waitPast(t, s, "control")
	for _, key := range []string{"held", "lapsed", "completed", "failed"} {
		if ok, err := in.Forget(ctx, "ns", key); !ok || err != nil {
			t.Errorf("Forget(%q) = %v, %v; want true", key, ok, err)
		}
		if _, err := in.Inspect(ctx, "ns", key); !errors.Is(err, idempotency.ErrNotFound) {
			t.Errorf("Inspect(%q) after Forget: %v; want ErrNotFound", key, err)
		}
		if ok, err := in.Forget(ctx, "ns", key); ok || err != nil {
			t.Errorf("second Forget(%q) = %v, %v; want false", key, ok, err)
		}
		// Forgotten means absent: any request claims it.
		mustClaim(t, s, claimReq("ns", key, fp2, long, long))
	}
	// The forgotten owner of "held" finds its claim gone.
	stale := lockOf(held)
	if err := s.Renew(ctx, stale, long, long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Renew by a forgotten owner: %v; want ErrLeaseLost", err)
	}
	if err := s.Complete(ctx, stale, idempotency.StateCompleted, []byte("late"), long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Complete by a forgotten owner: %v; want ErrLeaseLost", err)
	}
	if err := s.Release(ctx, stale); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Release by a forgotten owner: %v; want ErrLeaseLost", err)
	}
	if info := mustInspect(t, in, "ns", "held"); info.Fingerprint != fp2 || info.State != idempotency.StateProcessing {
		t.Errorf("after the forgotten owner's writes: %+v; want the new claim of %s untouched", info, fp2)
	}
}

func testForgetThenStaleComplete(t *testing.T, s idempotency.Store) {
	// Forgotten while running, and nobody claimed it since: the owner's
	// completion still finds nothing to complete.
	in := inspector(t, s)
	ctx := context.Background()
	r := claimReq("ns", "running", fp1, long, long)
	mustClaim(t, s, r)
	if ok, err := in.Forget(ctx, "ns", "running"); !ok || err != nil {
		t.Fatalf("Forget = %v, %v; want true", ok, err)
	}
	if err := s.Complete(ctx, lockOf(r), idempotency.StateCompleted, []byte("late"), long); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Complete after Forget: %v; want ErrLeaseLost", err)
	}
	if _, err := in.Inspect(ctx, "ns", "running"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Errorf("Inspect after a stale Complete: %v; want ErrNotFound: it must write nothing", err)
	}
}
