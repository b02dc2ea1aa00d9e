package idempotency_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

func TestDoRunsOnceAndReplays(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{Namespace: "charges"})
		var runs counter
		fn := func(_ context.Context, c charge) (receipt, error) {
			n := runs.inc("k")
			return receipt{ID: fmt.Sprintf("ch_%d", n), Amount: c.Amount}, nil
		}
		ctx := context.Background()
		first, err := m.DoResult(ctx, "order-1", charge{"acct", 500}, fn)
		if err != nil {
			t.Fatal(err)
		}
		if first.Replayed || first.Value.ID != "ch_1" {
			t.Fatalf("first call = %+v; want ch_1, not replayed", first)
		}
		for range 3 {
			again, err := m.DoResult(ctx, "order-1", charge{"acct", 500}, fn)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Replayed || !reflect.DeepEqual(again.Value, first.Value) {
				t.Fatalf("retry = %+v; want replay of %+v", again, first.Value)
			}
		}
		if n := runs.get("k"); n != 1 {
			t.Fatalf("fn ran %d times; want 1", n)
		}
		v, err := m.Do(ctx, "order-2", charge{"acct", 500}, fn)
		if err != nil || v.ID != "ch_2" {
			t.Fatalf("another key = %+v, %v; want a new execution", v, err)
		}
	})
}

func TestIdentityIsNamespaceAndExactKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs counter
		fn := func(_ context.Context, c charge) (receipt, error) {
			return receipt{ID: fmt.Sprint(runs.inc("all"))}, nil
		}
		a := newManager[charge, receipt](t, s, idempotency.Config{Namespace: "a"})
		b := newManager[charge, receipt](t, s, idempotency.Config{Namespace: "b"})
		ctx := context.Background()
		req := charge{"acct", 1}
		seen := map[string]bool{}
		for _, m := range []*idempotency.Manager[charge, receipt]{a, b} {
			for _, key := range []string{"Key-A", "key-a", "k", "k ", "é", "e\u0301"} {
				r, err := m.Do(ctx, key, req, fn)
				if err != nil {
					t.Fatal(err)
				}
				if seen[r.ID] {
					t.Errorf("key %q shared an outcome with another key or namespace", key)
				}
				seen[r.ID] = true
			}
		}
		if n := runs.get("all"); n != 12 {
			t.Errorf("fn ran %d times; want 12 (6 keys x 2 namespaces)", n)
		}
	})
}

func TestMismatchInEveryState(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{})
		ctx := context.Background()
		mustNotRun := func(context.Context, charge) (receipt, error) {
			t.Error("fn ran for a mismatched request")
			return receipt{}, nil
		}
		expectMismatch := func(state, key string) {
			t.Helper()
			_, err := m.Do(ctx, key, charge{"acct", 999}, mustNotRun)
			if !errors.Is(err, idempotency.ErrRequestMismatch) {
				t.Errorf("%s: err = %v; want ErrRequestMismatch", state, err)
			}
		}

		// completed
		if _, err := m.Do(ctx, "done", charge{"acct", 1}, okFn); err != nil {
			t.Fatal(err)
		}
		expectMismatch("completed", "done")

		// failed
		_, err := m.Do(ctx, "failed", charge{"acct", 1}, func(context.Context, charge) (receipt, error) {
			return receipt{}, idempotency.Permanent(errors.New("declined"))
		})
		if err == nil {
			t.Fatal("want the permanent error")
		}
		expectMismatch("failed", "failed")

		// processing
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error)
		go func() {
			_, err := m.Do(ctx, "busy", charge{"acct", 1}, func(context.Context, charge) (receipt, error) {
				close(started)
				<-release
				return receipt{}, nil
			})
			done <- err
		}()
		<-started
		expectMismatch("processing", "busy")
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		// processing with a lapsed lease: the key still belongs to its request.
		hs := &hookStore{Store: s}
		hs.renew = func(context.Context, idempotency.Lock, time.Duration, time.Duration) error { return nil } // a stuck owner: never renews
		stuck := newManager[charge, receipt](t, hs, idempotency.Config{Lease: 30 * time.Millisecond})
		stuckStarted, unblock, stuckDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stuckDone)
			_, _ = stuck.Do(ctx, "lapsed", charge{"acct", 1}, func(context.Context, charge) (receipt, error) {
				close(stuckStarted)
				<-unblock
				return receipt{}, nil
			})
		}()
		<-stuckStarted
		same := newManager[charge, receipt](t, s, idempotency.Config{})
		eventually(t, "the same request takes over the lapsed lease", func() bool {
			expectMismatch("processing, lease lapsed or not", "lapsed")
			_, err := same.Do(ctx, "lapsed", charge{"acct", 1}, okFn)
			if err != nil && !errors.Is(err, idempotency.ErrInProgress) {
				t.Fatal(err)
			}
			return err == nil
		})
		close(unblock)
		<-stuckDone
	})
}

func okFn(_ context.Context, c charge) (receipt, error) {
	return receipt{ID: "ok", Amount: c.Amount}, nil
}

// TestReplayEqualsCodecRoundTrip checks that a replay returns what
// encoding/json makes of the recorded value: through the Manager's compiled
// decoder for a plain type, and through encoding/json itself for a type
// with an interface field, which the compiled decoder leaves to it.
func TestReplayEqualsCodecRoundTrip(t *testing.T) {
	type plain struct {
		Int   int64
		Float float64
		Str   string
		Bytes []byte
		Time  time.Time
		Map   map[string][]int
		Ptr   *receipt
		List  []receipt `json:"list,omitempty"`
		Empty []int
		Nil   map[string]int
	}
	type rich struct {
		plain
		Any     any
		private int
	}
	p := plain{
		Int: 1 << 60, Float: 0.1, Str: "é\u2028<>&\"\\\n", Bytes: []byte{0, 0xff},
		Time: time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.FixedZone("x", 3600)),
		Map:  map[string][]int{"a": {1, 2}, "": nil}, Ptr: &receipt{ID: "p", Tags: map[string]string{"k": "v"}},
		List: []receipt{{ID: "a"}, {Amount: -1}}, Empty: []int{},
	}
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		t.Run("plain", func(t *testing.T) { checkReplayRoundTrip(t, s, p) })
		t.Run("rich", func(t *testing.T) {
			checkReplayRoundTrip(t, s, rich{plain: p, Any: map[string]any{"n": 1}, private: 7})
		})
	})
}

// checkReplayRoundTrip records first, replays it, and compares the replay
// with first's encoding/json round trip.
func checkReplayRoundTrip[Resp any](t *testing.T, s idempotency.Store, first Resp) {
	m := newManager[string, Resp](t, s, idempotency.Config{Namespace: t.Name()})
	ctx := context.Background()
	got1, err := m.Do(ctx, "k", "req", func(context.Context, string) (Resp, error) { return first, nil })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got1, first) {
		t.Error("the first caller must get fn's own value")
	}
	replay, err := m.Do(ctx, "k", "req", func(context.Context, string) (Resp, error) {
		t.Error("fn ran on replay")
		return first, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want Resp
	b, _ := json.Marshal(first)
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(replay, want) {
		t.Errorf("replay = %+v\nwant the codec round trip %+v", replay, want)
	}
}

// TestReplayUsesConfiguredCodec checks that a Codec other than JSONCodec
// decodes every replay: the Manager's own decoder is for JSONCodec only.
func TestReplayUsesConfiguredCodec(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		codec := &upperCodec{}
		m := newManager[string, string](t, s, idempotency.Config{Codec: codec})
		ctx := context.Background()
		fn := func(context.Context, string) (string, error) { return "ok", nil }
		if _, err := m.Do(ctx, "k", "req", fn); err != nil {
			t.Fatal(err)
		}
		got, err := m.Do(ctx, "k", "req", fn)
		if err != nil {
			t.Fatal(err)
		}
		if got != "OK" || codec.unmarshals.Load() != 1 {
			t.Errorf("replay = %q after %d Unmarshal calls; want \"OK\" from the codec's one call", got, codec.unmarshals.Load())
		}
	})
}

// upperCodec is JSON that upper-cases strings on the way back, so that a
// replay shows which decoder produced it.
type upperCodec struct {
	idempotency.JSONCodec
	unmarshals atomic.Int32
}

func (c *upperCodec) Unmarshal(data []byte, v any) error {
	c.unmarshals.Add(1)
	if err := c.JSONCodec.Unmarshal(data, v); err != nil {
		return err
	}
	if s, ok := v.(*string); ok {
		*s = strings.ToUpper(*s)
	}
	return nil
}

func TestExpiredOutcomeIsNotReplayed(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{TTL: time.Millisecond})
		var runs counter
		fn := func(context.Context, charge) (receipt, error) {
			return receipt{ID: fmt.Sprint(runs.inc("k"))}, nil
		}
		ctx := context.Background()
		if _, err := m.Do(ctx, "k", charge{}, fn); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the outcome expires and fn runs again", func() bool {
			r, err := m.DoResult(ctx, "k", charge{}, fn)
			if err != nil {
				t.Fatal(err)
			}
			return !r.Replayed
		})
		// Expiry frees the key for another request too.
		eventually(t, "the key is free for another request", func() bool {
			_, err := m.Do(ctx, "k", charge{Amount: 2}, fn)
			if err != nil && !errors.Is(err, idempotency.ErrRequestMismatch) {
				t.Fatal(err)
			}
			return err == nil
		})
	})
}

func TestReplayWithChangedResponseType(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		v1 := newManager[string, string](t, s, idempotency.Config{})
		if _, err := v1.Do(ctx, "k", "req", func(context.Context, string) (string, error) { return "text", nil }); err != nil {
			t.Fatal(err)
		}
		v2 := newManager[string, int](t, s, idempotency.Config{})
		_, err := v2.Do(ctx, "k", "req", func(context.Context, string) (int, error) {
			t.Error("fn ran although an outcome is recorded")
			return 0, nil
		})
		if err == nil {
			t.Fatal("decoding a string into an int: nil error")
		}
	})
}

func TestNewValidatesConfig(t *testing.T) {
	s := &hookStore{}
	cases := []idempotency.Config{
		{TTL: -1}, {Lease: -time.Second}, {Wait: -1}, {MaxResponseBytes: -1},
		{Namespace: "a\x00b"}, {Namespace: string(make([]byte, 256))}, {Namespace: "\xff"},
		{Lease: 2},                // a forgotten unit: the heartbeat would tick every 0ns
		{Lease: time.Millisecond}, // shorter than a renewal's round trip: every call would give its lease up
		{Lease: idempotency.MinLease - 1},
		{TTL: math.MaxInt64}, // TTL+Lease would overflow into a negative expiry
	}
	for _, cfg := range cases {
		if _, err := idempotency.New[string, string](s, cfg); err == nil {
			t.Errorf("New(%+v): nil error", cfg)
		}
	}
	if _, err := idempotency.New[string, string](nil, idempotency.Config{}); err == nil {
		t.Error("New(nil store): nil error")
	}
	if _, err := idempotency.New[string, string](s, idempotency.Config{}); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	if _, err := idempotency.New[string, string](s, idempotency.Config{Lease: idempotency.MinLease}); err != nil {
		t.Errorf("Lease of MinLease: %v", err)
	}
}
