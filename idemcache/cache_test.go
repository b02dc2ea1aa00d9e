package idemcache_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
)

func newCache(t testing.TB, cfg idemcache.Config) *idemcache.Cache {
	t.Helper()
	c, err := idemcache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func done(payload string) idempotency.Record {
	return idempotency.Record{Fingerprint: "v1:fp", State: idempotency.StateCompleted, Payload: []byte(payload)}
}

func TestNewRejectsBadBounds(t *testing.T) {
	for _, cfg := range []idemcache.Config{{MaxEntries: -1}, {MaxBytes: -1}, {MaxAge: -time.Second}} {
		if _, err := idemcache.New(cfg); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("New(%+v) = %v; want an error saying it is negative", cfg, err)
		}
	}
	if _, err := idemcache.New(idemcache.Config{MaxBytes: idemcache.MinMaxBytes - 1}); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("New with MaxBytes under MinMaxBytes = %v; want an error saying it is too small", err)
	}
}

// TestSmallBoundsStillCache: every valid Config caches, the smallest too.
func TestSmallBoundsStillCache(t *testing.T) {
	for _, cfg := range []idemcache.Config{{MaxEntries: 1}, {MaxEntries: 4}, {MaxEntries: 10}, {MaxBytes: idemcache.MinMaxBytes},
		{MaxBytes: idemcache.MinMaxBytes, MaxEntries: 1}} {
		c := newCache(t, cfg)
		c.Add("ns", "k", done("v"), time.Now().Add(time.Minute))
		if _, _, ok := c.Get("ns", "k"); !ok {
			t.Errorf("Config %+v: nothing cached", cfg)
		}
	}
}

func TestAddGetRemove(t *testing.T) {
	c := newCache(t, idemcache.Config{})
	deadline := time.Now().Add(time.Minute / 2)
	c.Add("ns", "k", done("v"), deadline)
	rec, d, ok := c.Get("ns", "k")
	if !ok || string(rec.Payload) != "v" || rec.Fingerprint != "v1:fp" || !d.Equal(deadline) {
		t.Fatalf("Get = %+v, %v, %v; want the record with its deadline", rec, d, ok)
	}
	if _, _, ok := c.Get("other", "k"); ok {
		t.Error("another namespace's key was found")
	}
	if _, _, ok := c.Get("ns", "K"); ok {
		t.Error("a key differing in case was found")
	}
	c.Remove("ns", "k")
	if _, _, ok := c.Get("ns", "k"); ok {
		t.Error("the entry survived Remove")
	}
	c.Remove("ns", "absent") // no entry: nothing to do
}

func TestAddKeepsOnlyWhatItMay(t *testing.T) {
	c := newCache(t, idemcache.Config{MaxBytes: 1 << 20, MaxAge: time.Hour})
	future := time.Now().Add(time.Hour)
	c.Add("ns", "processing", idempotency.Record{Fingerprint: "v1:fp"}, future)
	c.Add("ns", "past", done("v"), time.Now().Add(-time.Millisecond))
	c.Add("ns", "huge", done(strings.Repeat("x", 200<<10)), future) // over a tenth of MaxBytes
	for _, k := range []string{"processing", "past", "huge"} {
		if _, _, ok := c.Get("ns", k); ok {
			t.Errorf("%s: cached; want it refused", k)
		}
	}
	// A refused record replaces nothing stale: the old entry goes too.
	c.Add("ns", "k", done("old"), future)
	c.Add("ns", "k", done(strings.Repeat("x", 200<<10)), future)
	if _, _, ok := c.Get("ns", "k"); ok {
		t.Error("an entry survived a refused Add of its key")
	}
}

func TestMaxAgeCapsTheDeadline(t *testing.T) {
	c := newCache(t, idemcache.Config{MaxAge: time.Minute})
	before := time.Now()
	c.Add("ns", "k", done("v"), before.Add(24*time.Hour))
	_, d, ok := c.Get("ns", "k")
	if !ok {
		t.Fatal("not cached")
	}
	if limit := time.Now().Add(time.Minute); d.After(limit) || d.Before(before.Add(time.Minute)) {
		t.Errorf("deadline %v from now; want MaxAge (1m) from the Add", time.Until(d))
	}
	// A record that expires sooner keeps its own deadline.
	soon := time.Now().Add(time.Second)
	c.Add("ns", "soon", done("v"), soon)
	if _, d, _ := c.Get("ns", "soon"); !d.Equal(soon) {
		t.Errorf("deadline = %v; want the record's %v", d, soon)
	}
}

// TestExpiredEntriesLeave checks that an entry leaves at its deadline
// without being read: otter's clean-up drops it.
func TestExpiredEntriesLeave(t *testing.T) {
	c := newCache(t, idemcache.Config{})
	deadline := time.Now().Add(20 * time.Millisecond)
	c.Add("ns", "k", done("v"), deadline)
	time.Sleep(time.Until(deadline)) // waiting for a time, not for an event
	for start := time.Now(); c.Len() != 0; {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("Len = %d long after the deadline; want the entry dropped", c.Len())
		}
		idemcache.Settle(c)
		time.Sleep(time.Millisecond)
	}
}

// TestMemoryBound adds a million distinct keys to a small cache: it keeps
// its bounds on entries and bytes, and the heap does not grow with the keys.
func TestMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("a million entries")
	}
	const maxBytes, maxEntries = 4 << 20, 5000
	c := newCache(t, idemcache.Config{MaxBytes: maxBytes, MaxEntries: maxEntries, MaxAge: time.Hour})
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	deadline := time.Now().Add(time.Hour)
	small, large := strings.Repeat("s", 100), strings.Repeat("L", 4000)
	for i := range 1_000_000 {
		p := small
		if i%10 == 0 {
			p = large
		}
		c.Add("ns", fmt.Sprintf("key-%07d", i), done(p), deadline)
	}
	idemcache.Settle(c)
	if n := c.Len(); n > maxEntries {
		t.Errorf("Len = %d; want at most MaxEntries %d", n, maxEntries)
	}
	if w := idemcache.WeightedSize(c); w > maxBytes {
		t.Errorf("weighted size = %d; want at most MaxBytes %d", w, maxBytes)
	}
	// The entries' own bytes are bounded by MaxBytes; allow as much again
	// for otter's fixed structures. A million entries would be ~500 MB.
	if grown := int64(heap()) - int64(base); grown > 4*maxBytes {
		t.Errorf("heap grew by %d MB for a cache of %d MB", grown>>20, maxBytes>>20)
	}
	t.Logf("after 1e6 keys: %d entries, weight %d, heap +%d KB", c.Len(), idemcache.WeightedSize(c), (int64(heap())-int64(base))>>10)
}

// TestConcurrentUse runs readers, writers and removers on a few keys at
// once, for the race detector; every hit must be a record added for its
// own key.
func TestConcurrentUse(t *testing.T) {
	c := newCache(t, idemcache.Config{MaxEntries: 64})
	deadline := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprint((g + i) % 100)
				switch i % 4 {
				case 0:
					c.Add("ns", k, done(k), deadline)
				case 1:
					c.Remove("ns", k)
				default:
					if rec, _, ok := c.Get("ns", k); ok && string(rec.Payload) != k {
						t.Errorf("key %s holds %q", k, rec.Payload)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
