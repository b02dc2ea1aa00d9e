// Package redisstore is the [idempotency.Store] for Redis: a single node, a
// Sentinel failover client or a Redis Cluster, through any
// [github.com/redis/go-redis/v9] UniversalClient.
//
//	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
//	store, err := redisstore.New(rdb, redisstore.Config{})
//	m, err := idempotency.New[ChargeReq, Charge](store, idempotency.Config{Namespace: "charges"})
//
// # Records
//
// Each record is one Redis hash, and the store writes no other keys. Its
// key is
//
//	<Prefix>:{}<len(namespace)>:<namespace>:<key>
//
// for example idempotency:{}7:charges:order-1 ([Store.Key] computes it).
// The empty hash tag "{}" is the first brace in the key, which makes Redis
// Cluster hash the whole key, so braces in a client's key can never pin
// records to one node; the namespace's length keeps ("a:b", "c") and ("a",
// "b:c") apart. The hash holds the state, the request fingerprint, the
// owner's token, the lease's end, when it was claimed and, once finished,
// the payload.
//
// Claim, Renew, Complete and Release are each one Lua script, run with
// EVALSHA (and EVAL when the server has not seen it): the token and the
// fingerprint are compared inside the script, on the server that owns the
// key, so every step is atomic, on a cluster too. The clock is the server's
// TIME, never the application host's. A record expires by PEXPIREAT, so
// Redis deletes it: [Store.DeleteExpired] has nothing to do and no
// [idempotency.Cleaner] is needed. A new key costs two round trips (claim,
// complete), a replay one, whose script reads and writes nothing else.
//
// For operators ([idempotency.Inspector], [idempotency.StatsReader]),
// Inspect is one read-only script (the record, its PTTL and TIME: Redis 6.2
// has no PEXPIRETIME), Forget one DEL, and Stats a SCAN of every primary
// that reads every record: see [Store.Stats] for its cost.
//
// # Durability: what Redis can lose
//
// Redis acknowledges a write once it is in memory, before it reaches disk
// or a replica:
//
//   - Without persistence, a restart loses every record. With AOF and
//     appendfsync everysec (the usual setting) a crash of the server or its
//     host loses up to about a second of writes; appendfsync always loses
//     none, at the price of an fsync per write.
//   - Replication is asynchronous: a failover (Sentinel or Cluster) promotes
//     a replica that may lack the last writes the old primary acknowledged.
//
// For this library, a lost claim or a lost outcome means the key is free
// again: a retry runs fn again, although fn already ran once. No store can do better than the database
// under it; a SQL database with synchronous commits does not lose
// acknowledged writes, which is why payments usually keep their keys there
// (and why [idempotency.TxManager] needs one). Choose Redis where a rare
// second run after a crash or failover is acceptable, or narrow the window:
//
//   - Config.WaitReplicas makes every claim and completion wait (Redis WAIT)
//     until that many replicas have it, and fail with [ErrNotReplicated]
//     otherwise: a failover to one of those replicas then loses nothing
//     acknowledged. It costs a round trip and the replication delay per
//     write; a replay writes nothing and waits for nothing. WAIT does not
//     make Redis strongly consistent: Redis may still promote a replica
//     that had not acknowledged, and a replica that did can fail too.
//   - AOF with appendfsync always on the primary (and replicas) covers a
//     crash of the whole deployment.
//
// # Server settings
//
// maxmemory-policy must be noeviction: an evicted record is a key freed
// early, and a retry runs fn again. [New] checks it (and that the server is
// Redis 6.2 or newer) on every primary of a cluster, or on the current
// primary, and refuses an evicting policy; a
// server that refuses CONFIG, as managed services often do, gets one
// warning in Config.Logger, and the setting is yours to make sure of. Keep
// the records on a Redis with memory to spare, or on one of their own.
//
// Records of different namespaces and of stores with different prefixes
// never collide; a Prefix may contain ':' but no braces, glob characters or
// spaces. A *redis.Ring is refused: it moves keys to other shards when one
// goes away, and a record that moves lets a retry run fn again.
package redisstore
