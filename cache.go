package idempotency

import (
	"bytes"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Cache keeps finished outcomes (completed, or failed with a [Permanent]
// error) in this process's memory, so that a retry storm on keys the process
// has seen is answered without a store read. Set it in Config.Cache; package
// idemcache has the implementation, bounded by entries, bytes and age.
//
// The Manager decides what goes in and when it must come out; a Cache only
// keeps it. It adds the finished records its claims read from the store,
// when the store says how long the record has left (Record.ExpiresIn, by
// the store's clock), with a deadline counted on this host's monotonic
// clock from before the read was sent, so the entry is gone no later than
// the record, whatever the clocks of the host and the store say. It checks
// the deadline again on every hit. The outcomes a call records itself are
// not added: a new key pays nothing for the cache, and its first retry reads
// the store once. A cached record keeps its fingerprint: a
// different request under a cached key still gets [ErrRequestMismatch].
//
// The price: a record forgotten by another process ([Inspector.Forget],
// cmd/idemctl) is replayed here from memory for as long as the cache keeps
// an entry at most (idemcache.Config.MaxAge, a minute by default).
// [Manager.Forget] and [TxManager.Forget] remove it here at once.
//
// One Cache may serve several Managers of one store (entries are per
// namespace and key), never Managers of different stores. Implementations
// must be safe for concurrent use.
type Cache interface {
	// Get returns the record cached for (namespace, key) and the
	// deadline it was added with, or ok false when there is none. It may
	// return an entry whose deadline has passed: the Manager checks.
	Get(namespace, key string) (rec Record, deadline time.Time, ok bool)
	// Add caches rec, a finished record, for (namespace, key) until
	// deadline at the latest, replacing any entry of the key. It may keep
	// it for less time, or not at all.
	Add(namespace, key string, rec Record, deadline time.Time)
	// Remove drops (namespace, key)'s entry, if there is one.
	Remove(namespace, key string)
}

// forgets counts the Forget calls of this process that have deleted from a
// store, in stripes by namespace and key, so that a Forget of one key does
// not keep the calls on other keys from caching. A call reads its key's
// stripe before a store read whose record it may cache,
// and adds the entry only if it has not moved since: a Forget in between
// may have deleted the record the call is about to cache. The check and the
// add hold forgetting for reading, and a Forget's count and removal hold it
// for writing, so that once Forget returns no call can add the record it
// deleted (a lock taken only when a replay read the store, never on a hit
// or a new key).
var (
	forgets    [forgetStripes]atomic.Uint64
	forgetting sync.RWMutex
	stripeSeed = maphash.MakeSeed()
)

const forgetStripes = 1024

// forgetStripe is the counter of forgets for (namespace, key).
func forgetStripe(namespace, key string) *atomic.Uint64 {
	var h maphash.Hash
	h.SetSeed(stripeSeed)
	h.WriteString(namespace)
	h.WriteByte(0)
	h.WriteString(key)
	return &forgets[h.Sum64()%forgetStripes]
}

// cacheMark is forgets as a call read it before a store read.
type cacheMark uint64

// mark returns the mark to pass to remember for a store read about to
// start.
func (c *core[Resp]) mark(key string) cacheMark {
	if c.cfg.Cache == nil {
		return 0
	}
	return cacheMark(forgetStripe(c.cfg.Namespace, key).Load())
}

// fromCache answers the call from Config.Cache when it holds key's finished
// record: a replay, or a mismatch for another request. ok is false on a
// miss, and for an entry past its deadline, which it removes.
func (c *core[Resp]) fromCache(key, fp string) (res Result[Resp], err error, ok bool) {
	if c.cfg.Cache == nil {
		return res, nil, false
	}
	rec, deadline, ok := c.cfg.Cache.Get(c.cfg.Namespace, key)
	if !ok || rec.State == StateProcessing {
		return res, nil, false
	}
	if !time.Now().Before(deadline) {
		c.cfg.Cache.Remove(c.cfg.Namespace, key)
		return res, nil, false
	}
	res, _, err, _ = c.settle(fp, rec)
	return res, err, true
}

// remember adds rec, a finished record of key, to Config.Cache until
// deadline, unless a Forget in this process deleted from a store since m
// was taken.
func (c *core[Resp]) remember(key string, rec Record, deadline time.Time, m cacheMark) {
	if c.cfg.Cache == nil || rec.State == StateProcessing || !time.Now().Before(deadline) {
		return
	}
	rec.ExpiresIn = 0 // the deadline says it; the store's figure is stale once cached
	// Every hit shares the entry's bytes: they must not be the caller's
	// (a Codec may return a buffer the value still holds).
	rec.Payload = bytes.Clone(rec.Payload)
	forgetting.RLock()
	defer forgetting.RUnlock()
	if cacheMark(forgetStripe(c.cfg.Namespace, key).Load()) == m {
		c.cfg.Cache.Add(c.cfg.Namespace, key, rec, deadline)
	}
}

// rememberRead adds a finished record that a claim found to Config.Cache,
// when the store said how long it has left; sent is when the claim was
// sent.
func (c *core[Resp]) rememberRead(key string, rec Record, sent time.Time, m cacheMark) {
	if rec.ExpiresIn > 0 {
		c.remember(key, rec, sent.Add(rec.ExpiresIn), m)
	}
}
