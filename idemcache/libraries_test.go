package idemcache_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
)

// BenchmarkLibraries is how the library was chosen: the same workload,
// a storm of replays on a few hot keys with a trickle of new keys, on this
// package's Cache (otter) and on hashicorp/golang-lru's two caches, at 32
// goroutines (go test -bench Libraries -cpu 32 ./idemcache). Only relative
// numbers from one run mean anything.
func BenchmarkLibraries(b *testing.B) {
	const hot, keys = 64, 10_000
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("order-%05d", i)
	}
	rec := idempotency.Record{Fingerprint: "v1:0123456789abcdef", State: idempotency.StateCompleted, Payload: []byte(`{"id":"ch_1","amount":500}`)}
	deadline := time.Now().Add(time.Hour)

	type cache struct {
		get func(k string) bool
		add func(k string)
	}
	type key struct{ ns, k string }
	type entry struct {
		rec      idempotency.Record
		deadline time.Time
	}
	caches := []struct {
		name string
		new  func(b *testing.B) cache
	}{
		{"otter", func(b *testing.B) cache {
			c, err := idemcache.New(idemcache.Config{MaxEntries: keys, MaxAge: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.Close)
			return cache{
				get: func(k string) bool { _, _, ok := c.Get("ns", k); return ok },
				add: func(k string) { c.Add("ns", k, rec, deadline) },
			}
		}},
		{"golang-lru", func(b *testing.B) cache {
			c, err := lru.New[key, entry](keys)
			if err != nil {
				b.Fatal(err)
			}
			return cache{
				get: func(k string) bool { _, ok := c.Get(key{"ns", k}); return ok },
				add: func(k string) { c.Add(key{"ns", k}, entry{rec, deadline}) },
			}
		}},
		{"golang-lru-expirable", func(b *testing.B) cache {
			c := expirable.NewLRU[key, entry](keys, nil, time.Hour)
			return cache{
				get: func(k string) bool { _, ok := c.Get(key{"ns", k}); return ok },
				add: func(k string) { c.Add(key{"ns", k}, entry{rec, deadline}) },
			}
		}},
	}
	for _, cc := range caches {
		b.Run(cc.name, func(b *testing.B) {
			c := cc.new(b)
			for _, k := range names[:hot] {
				c.add(k)
			}
			var next atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := next.Add(1) * 7919
				for pb.Next() {
					i++
					if i%100 == 0 { // 1% new keys
						c.add(names[i%keys])
						continue
					}
					if !c.get(names[i%hot]) {
						c.add(names[i%hot])
					}
				}
			})
		})
	}
}
