package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
)

func newIdemCache(t testing.TB, cfg idemcache.Config) *idemcache.Cache {
	t.Helper()
	c, err := idemcache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// endings records each call's CallEnd.
type endings struct {
	mu   sync.Mutex
	ends []idempotency.CallEnd
}

func (e *endings) observer() *idempotency.Observer {
	return &idempotency.Observer{CallEnd: func(_ context.Context, _ idempotency.CallInfo, end idempotency.CallEnd) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.ends = append(e.ends, end)
	}}
}

func (e *endings) last() idempotency.CallEnd {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ends[len(e.ends)-1]
}

// TestStoresTellTimeLeft checks that every store says how long a finished
// record has left, which the cache needs, and never more than its TTL.
func TestStoresTellTimeLeft(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		req := idempotency.ClaimRequest{Namespace: "ns", Key: "k", Fingerprint: "v1:fp", Token: "tok", Lease: time.Minute, TTL: time.Hour}
		if _, err := s.Claim(ctx, req); err != nil {
			t.Fatal(err)
		}
		rival := req
		rival.Token = "rival"
		processing, err := s.Claim(ctx, rival)
		if err != nil || processing.Claimed {
			t.Fatalf("second claim = %+v, %v", processing, err)
		}
		if processing.Record.ExpiresIn != 0 {
			t.Errorf("processing record: ExpiresIn = %v; want 0 (never cached)", processing.Record.ExpiresIn)
		}
		if err := s.Complete(ctx, idempotency.Lock{Namespace: "ns", Key: "k", Token: "tok"}, idempotency.StateCompleted, []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
		res, err := s.Claim(ctx, rival)
		if err != nil || res.Claimed {
			t.Fatalf("claim of a finished key = %+v, %v", res, err)
		}
		if left := res.Record.ExpiresIn; left <= 59*time.Minute || left > time.Hour {
			t.Errorf("ExpiresIn = %v; want a little under the TTL of 1h", left)
		}
	})
}

// TestCacheAnswersReplays: finished outcomes are answered from memory, by
// the process that recorded them and by one that read them; a mismatch too;
// fn's errors and keys in progress never are.
func TestCacheAnswersReplays(t *testing.T) {
	forEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) {
		var ends endings
		hs := &hookStore{Store: open(t)}
		cache := newIdemCache(t, idemcache.Config{})
		a := newManager[charge, receipt](t, hs, idempotency.Config{Namespace: "c", Cache: cache, Observer: ends.observer()})
		b := newManager[charge, receipt](t, open(t), idempotency.Config{Namespace: "c"})
		ctx := context.Background()
		var runs counter
		fn := func(_ context.Context, c charge) (receipt, error) {
			return receipt{ID: fmt.Sprintf("ch_%d", runs.inc(c.Account)), Amount: c.Amount}, nil
		}
		req := charge{"acct", 500}

		// Recorded here: not cached by its own call (a new key pays
		// nothing); the first replay reads, the next ones do not.
		first, err := a.DoResult(ctx, "mine", req, fn)
		if err != nil || first.Replayed {
			t.Fatalf("first call = %+v, %v", first, err)
		}
		claims := hs.Claims()
		for i, wantReads := range []int{1, 1} {
			again, err := a.DoResult(ctx, "mine", req, fn)
			if err != nil || !again.Replayed || again.Value.ID != first.Value.ID {
				t.Fatalf("replay %d = %+v, %v; want %+v replayed", i, again, err, first.Value)
			}
			if reads := hs.Claims() - claims; reads != wantReads {
				t.Errorf("replay %d: %d store reads in all; want %d", i, reads, wantReads)
			}
		}
		claims = hs.Claims()
		if e := ends.last(); !e.Cached || e.Outcome != idempotency.OutcomeReplayed {
			t.Errorf("CallEnd = %+v; want a cached replay", e)
		}

		// The same key with another request: a mismatch, from memory.
		if _, err := a.Do(ctx, "mine", charge{"acct", 999}, fn); !errors.Is(err, idempotency.ErrRequestMismatch) {
			t.Errorf("another request = %v; want ErrRequestMismatch", err)
		}
		if hs.Claims() != claims {
			t.Errorf("the mismatch reached the store; want it answered from the cache")
		}
		if e := ends.last(); !e.Cached || e.Outcome != idempotency.OutcomeMismatch {
			t.Errorf("CallEnd = %+v; want a cached mismatch", e)
		}

		// Recorded by another process: the first replay reads, the next
		// ones do not.
		theirs, err := b.Do(ctx, "theirs", req, fn)
		if err != nil {
			t.Fatal(err)
		}
		for i, wantReads := range []int{1, 1} {
			got, err := a.DoResult(ctx, "theirs", req, fn)
			if err != nil || !got.Replayed || got.Value.ID != theirs.ID {
				t.Fatalf("replay %d = %+v, %v; want %+v", i, got, err, theirs)
			}
			if reads := hs.Claims() - claims; reads != wantReads {
				t.Errorf("replay %d: %d store reads in all; want %d", i, reads, wantReads)
			}
		}
		if e := ends.last(); !e.Cached {
			t.Errorf("CallEnd = %+v; want the second replay cached", e)
		}

		// A recorded permanent failure is replayed from memory too.
		fail := func(context.Context, charge) (receipt, error) {
			return receipt{}, idempotency.Permanent(errors.New("card declined"))
		}
		if _, err := a.Do(ctx, "declined", req, fail); err == nil {
			t.Fatal("fn's permanent failure was not returned")
		}
		var se *idempotency.StoredError
		if _, err := a.Do(ctx, "declined", req, fail); !errors.As(err, &se) || se.Message != "card declined" {
			t.Errorf("replayed failure = %v; want a *StoredError with the message", err)
		}
		claims = hs.Claims()
		if _, err := a.Do(ctx, "declined", req, fail); !errors.As(err, &se) || se.Message != "card declined" {
			t.Errorf("replayed failure from memory = %v; want a *StoredError with the message", err)
		}
		if hs.Claims() != claims {
			t.Error("the recorded failure's second replay reached the store")
		}

		// fn's ordinary error records nothing, and caches nothing.
		flaky := func(context.Context, charge) (receipt, error) { return receipt{}, errors.New("timeout") }
		for range 2 {
			before := hs.Claims()
			if _, err := a.Do(ctx, "flaky", req, flaky); err == nil || err.Error() != "timeout" {
				t.Fatalf("fn error = %v; want it unchanged", err)
			}
			if hs.Claims() != before+1 {
				t.Error("a call after fn's error did not claim the key")
			}
		}

		// A key in progress elsewhere is never cached.
		hold, release := make(chan struct{}), make(chan struct{})
		go func() {
			_, _ = b.Do(ctx, "busy", req, func(context.Context, charge) (receipt, error) {
				close(hold)
				<-release
				return receipt{ID: "late"}, nil
			})
		}()
		<-hold
		for range 2 {
			before := hs.Claims()
			if _, err := a.Do(ctx, "busy", req, fn); !errors.Is(err, idempotency.ErrInProgress) {
				t.Errorf("key in progress = %v; want ErrInProgress", err)
			}
			if hs.Claims() != before+1 {
				t.Error("a key in progress was answered without the store")
			}
		}
		close(release)
		if runs.get("acct") != 2 {
			t.Errorf("fn ran %d times; want 2 (mine, theirs)", runs.get("acct"))
		}
	})
}

// TestCacheNeverOutlivesRecord: once the store says a record has expired,
// the cache does not answer for it, though the store's answer reached the
// caller late (the deadline counts from before the read was sent).
func TestCacheNeverOutlivesRecord(t *testing.T) {
	const ttl, late = 300 * time.Millisecond, 150 * time.Millisecond
	forEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) {
		ctx := context.Background()
		writer := open(t)
		in, ok := writer.(idempotency.Inspector)
		if !ok {
			t.Fatalf("%T is not an Inspector", writer)
		}
		hs := &hookStore{Store: open(t)}
		hs.claim = func(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
			res, err := hs.Store.Claim(ctx, r)
			time.Sleep(late) // the answer travels slowly
			return res, err
		}
		var ends endings
		cache := newIdemCache(t, idemcache.Config{MaxAge: time.Hour})
		reader := newManager[charge, receipt](t, hs, idempotency.Config{Namespace: "c", TTL: ttl, Cache: cache, Observer: ends.observer()})
		b := newManager[charge, receipt](t, writer, idempotency.Config{Namespace: "c", TTL: ttl})
		var runs counter
		fn := func(context.Context, charge) (receipt, error) {
			return receipt{ID: fmt.Sprint(runs.inc("k"))}, nil
		}
		req := charge{"acct", 1}
		if _, err := b.Do(ctx, "k", req, fn); err != nil {
			t.Fatal(err)
		}
		if r, err := reader.DoResult(ctx, "k", req, fn); err != nil || !r.Replayed {
			t.Fatalf("first replay = %+v, %v", r, err)
		}
		// Served from memory while the record lives (if the machine is
		// slow enough that it has expired by now, there is nothing left
		// to check here, and the check below still holds).
		_, _ = reader.DoResult(ctx, "k", req, fn)
		eventually(t, "the store says the record expired", func() bool {
			_, err := in.Inspect(ctx, "c", "k")
			return errors.Is(err, idempotency.ErrNotFound)
		})
		r, err := reader.DoResult(ctx, "k", req, fn)
		if err != nil || r.Replayed || ends.last().Cached {
			t.Fatalf("after expiry = %+v, %v (cached %v); want fn run again", r, err, ends.last().Cached)
		}
		if n := runs.get("k"); n != 2 {
			t.Errorf("fn ran %d times; want 2", n)
		}
	})
}

// TestForgetInvalidatesCache: Manager.Forget removes the key from this
// process's cache at once; another process's cache keeps it until MaxAge.
func TestForgetInvalidatesCache(t *testing.T) {
	forEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) {
		ctx := context.Background()
		var runs counter
		fn := func(context.Context, charge) (receipt, error) {
			return receipt{ID: fmt.Sprint(runs.inc("k"))}, nil
		}
		req := charge{"acct", 1}
		here := newManager[charge, receipt](t, open(t), idempotency.Config{Namespace: "c", Cache: newIdemCache(t, idemcache.Config{})})
		otherCache := newIdemCache(t, idemcache.Config{MaxAge: 200 * time.Millisecond})
		other := newManager[charge, receipt](t, open(t), idempotency.Config{Namespace: "c", Cache: otherCache})

		if _, err := here.Do(ctx, "k", req, fn); err != nil {
			t.Fatal(err)
		}
		for range 2 { // read, then cached
			if r, err := here.DoResult(ctx, "k", req, fn); err != nil || !r.Replayed {
				t.Fatalf("replay here = %+v, %v", r, err)
			}
		}
		if r, err := other.DoResult(ctx, "k", req, fn); err != nil || !r.Replayed {
			t.Fatalf("other's replay = %+v, %v", r, err)
		}
		cachedAt := time.Now() // after the entry was added
		if r, err := other.DoResult(ctx, "k", req, fn); err != nil || !r.Replayed {
			t.Fatalf("other's cached replay = %+v, %v", r, err)
		}
		found, err := here.Forget(ctx, "k")
		if err != nil || !found {
			t.Fatalf("Forget = %v, %v; want true, nil", found, err)
		}
		if found, err := here.Forget(ctx, "k"); err != nil || found {
			t.Errorf("second Forget = %v, %v; want false, nil", found, err)
		}
		r, err := here.DoResult(ctx, "k", req, fn)
		if err != nil || r.Replayed || r.Value.ID != "2" {
			t.Fatalf("after Forget = %+v, %v; want fn run again", r, err)
		}
		// The other process still holds the first outcome, for at most
		// its MaxAge: the documented price of a cache.
		time.Sleep(time.Until(cachedAt.Add(200 * time.Millisecond))) // waiting for a time, not an event
		r, err = other.DoResult(ctx, "k", req, fn)
		if err != nil || !r.Replayed || r.Value.ID != "2" {
			t.Errorf("other after MaxAge = %+v, %v; want the new outcome, read from the store", r, err)
		}
		if _, err := here.Forget(ctx, "bad\x00key"); !errors.Is(err, idempotency.ErrInvalidKey) {
			t.Errorf("Forget of an invalid key = %v; want ErrInvalidKey", err)
		}
	})
}

// TestForgetNeedsInspector: a store that cannot forget says so.
func TestForgetNeedsInspector(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, &hookStore{Store: s}, idempotency.Config{})
		if _, err := m.Forget(context.Background(), "k"); err == nil {
			t.Error("Forget on a store without Inspector succeeded")
		}
	})
}

// TestCacheUnderContention runs many goroutines on a few keys with a cache
// and Forget calls between them, for the race detector: every call gets
// its own request's outcome, and fn never runs twice for a key between
// two forgets.
func TestCacheUnderContention(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		var hits atomic.Int64
		obs := &idempotency.Observer{CallEnd: func(_ context.Context, _ idempotency.CallInfo, e idempotency.CallEnd) {
			if e.Cached {
				hits.Add(1)
			}
		}}
		m := newManager[charge, receipt](t, s, idempotency.Config{Namespace: "c", Wait: 10 * time.Second, Observer: obs,
			Cache: newIdemCache(t, idemcache.Config{MaxEntries: 4})})
		var runs atomic.Int64
		fn := func(_ context.Context, c charge) (receipt, error) {
			runs.Add(1)
			return receipt{ID: c.Account, Amount: c.Amount}, nil
		}
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 40 {
					k := fmt.Sprint((g + i) % 6)
					if g == 0 && i%10 == 9 {
						if _, err := m.Forget(ctx, k); err != nil {
							t.Error(err)
						}
						continue
					}
					r, err := m.Do(ctx, k, charge{"acct-" + k, 7}, fn)
					if err != nil || r.ID != "acct-"+k {
						t.Errorf("key %s = %+v, %v", k, r, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if n := runs.Load(); n < 6 || n > 6+4 {
			t.Errorf("fn ran %d times; want once per key plus at most once per Forget (6..10)", n)
		}
		if hits.Load() == 0 {
			t.Error("no call was answered from the cache: the test exercised no cache")
		}
	})
}

// inspectingHookStore is a hookStore that can also forget.
type inspectingHookStore struct {
	*hookStore
	in idempotency.Inspector
}

func (s inspectingHookStore) Inspect(ctx context.Context, ns, key string) (idempotency.RecordInfo, error) {
	return s.in.Inspect(ctx, ns, key)
}

func (s inspectingHookStore) Forget(ctx context.Context, ns, key string) (bool, error) {
	return s.in.Forget(ctx, ns, key)
}

// pausingCache is an idemcache.Cache whose Add, once armed, signals added
// after adding and waits for resume.
type pausingCache struct {
	*idemcache.Cache
	armed         atomic.Bool
	added, resume chan struct{}
}

func (p *pausingCache) Add(ns, key string, rec idempotency.Record, deadline time.Time) {
	p.Cache.Add(ns, key, rec, deadline)
	if p.armed.CompareAndSwap(true, false) {
		close(p.added)
		<-p.resume
	}
}

// TestForgetRacingARead: a call that read the record before Forget deleted
// it, and adds it to the cache after Forget returned, must not make the
// forgotten outcome visible to a call that starts after Forget returned.
func TestForgetRacingARead(t *testing.T) {
	forEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) {
		ctx := context.Background()
		req := charge{"acct", 1}
		var runs counter
		fn := func(context.Context, charge) (receipt, error) {
			return receipt{ID: fmt.Sprint(runs.inc("k"))}, nil
		}
		other := newManager[charge, receipt](t, open(t), idempotency.Config{Namespace: "c"})
		if _, err := other.Do(ctx, "k", req, fn); err != nil {
			t.Fatal(err)
		}

		read, forgotten := make(chan struct{}), make(chan struct{})
		inner := open(t)
		hs := &hookStore{Store: inner}
		hs.claim = func(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
			res, err := hs.Store.Claim(ctx, r)
			hs.mu.Lock()
			hs.claim = nil // only the first call pauses
			hs.mu.Unlock()
			close(read)
			<-forgotten
			return res, err
		}
		cache := &pausingCache{Cache: newIdemCache(t, idemcache.Config{}), added: make(chan struct{}), resume: make(chan struct{})}
		cache.armed.Store(true)
		defer close(cache.resume)
		var ends endings
		m := newManager[charge, receipt](t, inspectingHookStore{hs, inner.(idempotency.Inspector)},
			idempotency.Config{Namespace: "c", Cache: cache, Observer: ends.observer()})

		first := make(chan error, 1)
		go func() {
			_, err := m.Do(ctx, "k", req, fn) // reads the record, then waits
			first <- err
		}()
		<-read
		if found, err := m.Forget(ctx, "k"); err != nil || !found {
			t.Fatalf("Forget = %v, %v", found, err)
		}
		close(forgotten)
		// The first call now adds what it read, or does not; either way
		// a call that starts now must not replay the forgotten outcome.
		select {
		case <-cache.added:
		case err := <-first:
			if err != nil {
				t.Fatal(err)
			}
		}
		cache.armed.Store(false) // the next call's own Add must not pause
		r, err := m.DoResult(ctx, "k", req, fn)
		if err != nil || r.Replayed || r.Value.ID != "2" {
			t.Errorf("after Forget returned = %+v, %v (cached %v); want fn run again", r, err, ends.last().Cached)
		}
	})
}
