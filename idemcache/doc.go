// Package idemcache keeps finished idempotency outcomes in process memory,
// so that a retry storm on keys a process has seen is answered without a
// store read. It implements [idempotency.Cache] on
// github.com/maypok86/otter/v2:
//
//	cache, err := idemcache.New(idemcache.Config{})
//	charges, err := idempotency.New[ChargeReq, Charge](store, idempotency.Config{
//		Namespace: "charges",
//		Cache:     cache,
//	})
//
// # What it keeps, and for how long
//
// Only finished outcomes (a recorded value or a recorded [idempotency.Permanent]
// failure), never a key in progress, each with the fingerprint of its
// request, so a different request under a cached key still gets
// [idempotency.ErrRequestMismatch]. The Manager adds an outcome when a
// replay reads it from the store and the store says how long it has left
// (the outcomes it records itself are not added, so new keys pay nothing
// for the cache). An entry lives until the earliest of:
//
//   - its record's expiry. The store tells how long the record has left by
//     its own clock; the Manager counts that from before it sent the read,
//     on this host's monotonic clock, so neither the round trip nor a host
//     clock that disagrees with the store's can stretch it;
//   - Config.MaxAge (a minute by default) after it was added: how long a key
//     forgotten by another process or by cmd/idemctl may still be replayed
//     here. [idempotency.Manager.Forget] removes it here at once;
//   - its eviction, when the cache is over Config.MaxEntries or
//     Config.MaxBytes: otter's W-TinyLFU policy keeps the keys that are
//     replayed often.
//
// # Why otter
//
// A replay storm reads a few hot keys from many goroutines. BenchmarkLibraries
// runs that workload (99% hits on 64 keys, 1% new keys) on this package and
// on hashicorp/golang-lru. On this project's 2-core machine, at 32
// goroutines (-cpu 32), otter took 51 ns per operation, golang-lru 112 ns
// (every Get takes its one mutex to move the entry in its list) and
// golang-lru's expirable cache 186 ns. With one goroutine golang-lru is
// faster (42 ns against 87 ns); either is far below one store read. The
// choice is otter's for the contended case, and because it bounds a weight
// (bytes, not only entries) and expires each entry at a time of its own,
// which the cache needs and golang-lru does not offer (its expirable cache
// has one TTL for all entries).
package idemcache
