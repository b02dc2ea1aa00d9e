package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

// TestEndToEnd runs every command on every backend: a child process holds
// a key, idemctl shows it processing with its lease held, forgets it, and
// the next Do runs fn while the child finds its claim lost; then a record
// expires, stats counts it and cleanup deletes it.
func TestEndToEnd(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		t.Parallel()
		sp := tg.spec
		must(t, exitOK, sp.cmd("migrate")...)
		s := tg.store(t)
		child := startHolder(t, sp)

		var info recordJSON
		decode(t, must(t, exitOK, sp.cmd("inspect", "-json", "-namespace", holderNamespace, holderKey)...), &info)
		if info.State != "processing" || !info.LeaseHeld || info.Fingerprint == "" || !at(t, info.LeaseUntil).After(at(t, info.Now)) || at(t, info.Created).After(at(t, info.Now)) {
			t.Errorf("inspect of the held key: %+v; want processing, lease held, a fingerprint", info)
		}
		human := must(t, exitOK, sp.cmd("inspect", "-namespace", holderNamespace, holderKey)...).stdout
		for _, want := range []string{"state        processing", "lease        held until", "fingerprint  " + info.Fingerprint} {
			if !strings.Contains(human, want) {
				t.Errorf("inspect output lacks %q:\n%s", want, human)
			}
		}
		var st statsJSON
		decode(t, must(t, exitOK, sp.cmd("stats", "-json")...), &st)
		if len(st.Groups) != 1 || st.Groups[0] != (groupJSON{Namespace: holderNamespace, State: "processing", Records: 1}) || st.Total != 1 {
			t.Errorf("stats with the key held: %+v; want one processing record in %q", st, holderNamespace)
		}

		out := must(t, exitOK, sp.cmd("forget", "-yes", "-namespace", holderNamespace, holderKey)...).stdout
		if !strings.Contains(out, `forgot key held in namespace ops (it was processing)`) || !strings.Contains(out, "its owner may still be running") {
			t.Errorf("forget printed %q", out)
		}
		must(t, exitNotFound, sp.cmd("inspect", "-namespace", holderNamespace, holderKey)...)
		must(t, exitNotFound, sp.cmd("forget", "-yes", "-namespace", holderNamespace, holderKey)...)

		// The next call runs fn, and the forgotten owner finds its claim
		// lost at its next renewal.
		ctx := context.Background()
		m, err := idempotency.New[string, string](s, idempotency.Config{Namespace: holderNamespace})
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.DoResult(ctx, holderKey, holderRequest, func(context.Context, string) (string, error) { return "second run", nil })
		if err != nil || res.Replayed || res.Value != "second run" {
			t.Fatalf("Do after forget = %+v, %v; want fn to run", res, err)
		}
		child.waitLeaseLost(t)
		decode(t, must(t, exitOK, sp.cmd("inspect", "-json", "-namespace", holderNamespace, holderKey)...), &info)
		if info.State != "completed" || info.LeaseHeld || info.PayloadBytes == 0 {
			t.Errorf("inspect after the second run: %+v; want completed", info)
		}

		checkCleanup(t, tg, s)
	})
}

// checkCleanup lets a record expire, and checks that stats counts it and
// cleanup deletes it (on Redis: that neither has anything to do).
func checkCleanup(t *testing.T, tg target, s idempotency.Store) {
	t.Helper()
	sp := tg.spec
	m, err := idempotency.New[string, string](s, idempotency.Config{Namespace: "short", TTL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Do(context.Background(), "old", "r", func(context.Context, string) (string, error) { return "v", nil }); err != nil {
		t.Fatal(err)
	}
	// Nothing signals that the store's clock passed the expiry: ask it.
	deadline := time.Now().Add(time.Minute)
	for idemctl(t, "", sp.cmd("inspect", "-namespace", "short", "old")...).code != exitNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the record with a TTL of 1ms did not expire within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var st statsJSON
	decode(t, must(t, exitOK, sp.cmd("stats", "-json")...), &st)
	var cl cleanupJSON
	decode(t, must(t, exitOK, sp.cmd("cleanup", "-json")...), &cl)
	if sp.isRedis() {
		if !st.ExpiresItself || st.Expired != 0 || cl.Needed || cl.Deleted != 0 {
			t.Errorf("Redis: stats %+v, cleanup %+v; want nothing expired and nothing to clean", st, cl)
		}
		return
	}
	if st.ExpiresItself || st.Expired != 1 || st.OldestExpired == "" || st.CleanerBehind <= 0 || st.Total != 1 {
		t.Errorf("stats with one record expired: %+v; want it counted apart from the live one", st)
	}
	if !cl.Needed || cl.Deleted != 1 || cl.Batches != 1 {
		t.Errorf("cleanup = %+v; want 1 record deleted in 1 batch", cl)
	}
	var after statsJSON // fields omitted from JSON must read as zero
	decode(t, must(t, exitOK, sp.cmd("stats", "-json")...), &after)
	if after.Expired != 0 || after.OldestExpired != "" || after.Total != 1 {
		t.Errorf("stats after cleanup: %+v; want nothing expired, one live record", after)
	}
	out := must(t, exitOK, sp.cmd("stats")...).stdout
	if !strings.Contains(out, "expired, not yet deleted: none") || !hasRow(out, "ops completed 1 -") || !hasRow(out, "total 1") {
		t.Errorf("stats printed:\n%s", out)
	}
}

// hasRow reports whether out has a line whose fields are those of row.
func hasRow(out, row string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == row {
			return true
		}
	}
	return false
}

// at parses a time of -json output.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q in -json output: %v", s, err)
	}
	return v
}
