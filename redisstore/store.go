package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
)

// Limits validated before a script runs, the same as sqlstore's, so that a
// record moves between backends unchanged.
const (
	maxFingerprintLen = 128
	maxTokenLen       = 64
)

// DefaultWaitTimeout is how long a write waits for replicas when
// Config.WaitReplicas is set and Config.WaitTimeout is zero.
const DefaultWaitTimeout = time.Second

// checkTimeout bounds the server checks New runs.
const checkTimeout = 10 * time.Second

// ErrNotReplicated reports that a claim or a completion was written on the
// primary but fewer replicas than Config.WaitReplicas acknowledged it within
// Config.WaitTimeout. The write stands on the primary; a failover before the
// replicas catch up could lose it. The Manager treats it as any store error:
// a claim is released and the call fails (retry it), a completion is retried
// and then reported with the value.
var ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")

// Config configures a [Store]. Its zero value is valid: prefix
// "idempotency", no waiting for replicas.
type Config struct {
	// Prefix starts every Redis key the store writes, followed by ":".
	// It may contain ':' and other printable ASCII, but no braces and no
	// spaces. Stores with different prefixes never share a key. Defaults
	// to "idempotency".
	Prefix string
	// WaitReplicas, when positive, makes every claim and completion wait
	// until that many replicas have acknowledged it (Redis WAIT, on the
	// connection that wrote), and fail with [ErrNotReplicated] otherwise.
	// A replay writes nothing and does not wait. It narrows what a
	// failover can lose; it costs a round trip and the replication delay
	// per write. Requires a *redis.Client (single node or Sentinel
	// failover) or a *redis.ClusterClient. Defaults to 0: no waiting.
	WaitReplicas int
	// WaitTimeout bounds each wait for replicas: at least a millisecond,
	// and below the client's ReadTimeout (3s unless set), which bounds
	// the reply. Defaults to 1s when WaitReplicas is set.
	WaitTimeout time.Duration
	// Logger receives the one warning New logs when the server refuses the
	// commands that check its settings (managed services often refuse
	// CONFIG). Defaults to slog.Default().
	Logger *slog.Logger
}

// Store is an [idempotency.Store] on Redis: one hash per record, written
// only by Lua scripts that compare the owner token and the fingerprint and
// read the server's clock, and expired by Redis itself. It works on any
// redis.UniversalClient: a single node, a Sentinel failover client or a
// Redis Cluster client.
//
// A Store is safe for concurrent use and holds no goroutines. Its zero value
// is not usable: call [New].
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	wait   waiter
}

var _ idempotency.ExpiringStore = (*Store)(nil)

// New returns a Store on rdb. It validates cfg and checks the server (every
// primary of a cluster, the current primary behind Sentinel): Redis 6.2 or newer, and a maxmemory-policy that
// never evicts, since an evicted record lets a retry run fn again. A server
// that refuses those checks gets one warning in cfg.Logger; one that cannot
// be reached fails New, as does one that fails a check.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: New: nil client")
	}
	if _, ok := rdb.(*redis.Ring); ok {
		return nil, errors.New("redisstore: New: a *redis.Ring moves keys to other shards when one goes away, and a record that moves lets a retry run fn again: use a Redis Cluster (redis.ClusterClient) to spread records over nodes")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if err := checkPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w, err := newWaiter(rdb, cfg.WaitReplicas, cfg.WaitTimeout)
	if err != nil {
		return nil, err
	}
	s := &Store{rdb: rdb, prefix: cfg.Prefix, wait: w}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	if err := checkServer(ctx, rdb, cfg.Logger); err != nil {
		return nil, err
	}
	return s, nil
}

// Prefix returns the prefix of every key the store writes.
func (s *Store) Prefix() string { return s.prefix }

// Key returns the Redis key of the record (namespace, key), for operators
// who look at Redis directly.
func (s *Store) Key(namespace, key string) string { return recordKey(s.prefix, namespace, key) }

// ExpiresRecords reports true: Redis deletes a record when it expires, so
// [Store.DeleteExpired] has nothing to do and no Cleaner is needed.
func (s *Store) ExpiresRecords() bool { return true }

// Claim implements [idempotency.Store.Claim]: one script that claims the
// key or returns the record in the way, having written nothing.
func (s *Store) Claim(ctx context.Context, req idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	if err := checkClaim(req); err != nil {
		return idempotency.ClaimResult{}, err
	}
	key := s.Key(req.Namespace, req.Key)
	reply, err := s.wait.run(ctx, s.rdb, claimScript, key, isClaimed, req.Fingerprint, req.Token, millis(req.Lease), millis(req.TTL))
	if err != nil {
		return idempotency.ClaimResult{}, wrap("claim", req.Key, err)
	}
	return parseClaim(reply)
}

// isClaimed reports whether a claim script's reply is a claim, which
// wrote; a record returned instead was only read.
func isClaimed(reply any) bool {
	n, ok := reply.(int64)
	return ok && (n == 1 || n == 2)
}

// isOne reports a script's reply 1: done, and written.
func isOne(reply any) bool {
	n, ok := reply.(int64)
	return ok && n == 1
}

// parseClaim reads the claim script's reply: 1 (claimed), 2 (took over a
// lapsed claim), or {state, fingerprint, payload, milliseconds left}.
func parseClaim(reply any) (idempotency.ClaimResult, error) {
	if isClaimed(reply) {
		return idempotency.ClaimResult{Claimed: true, TookOver: reply.(int64) == 2}, nil
	}
	fields, ok := reply.([]any)
	if !ok || len(fields) != 4 {
		return idempotency.ClaimResult{}, fmt.Errorf("redisstore: claim: unexpected reply %v: is another program writing keys under this prefix?", reply)
	}
	state, _ := fields[0].(string)
	fp, _ := fields[1].(string)
	var rec idempotency.Record
	switch state {
	case "0":
		rec.State = idempotency.StateProcessing
	case "1":
		rec.State = idempotency.StateCompleted
	case "2":
		rec.State = idempotency.StateFailed
	default:
		return idempotency.ClaimResult{}, fmt.Errorf("redisstore: claim: record has state %q: is another program writing keys under this prefix?", state)
	}
	rec.Fingerprint = fp
	if p, ok := fields[2].(string); ok && rec.State != idempotency.StateProcessing {
		rec.Payload = []byte(p)
		// PTTL: -1 for a key without expiry (made persistent by hand), which
		// leaves ExpiresIn zero: not cacheable.
		if left, ok := fields[3].(int64); ok && left > 0 {
			rec.ExpiresIn = time.Duration(left) * time.Millisecond
		}
	}
	return idempotency.ClaimResult{Record: rec}, nil
}

// Renew implements [idempotency.Store.Renew].
func (s *Store) Renew(ctx context.Context, lock idempotency.Lock, lease, ttl time.Duration) error {
	if err := checkDurations("renew lease", lease, ttl); err != nil {
		return err
	}
	reply, err := renewScript.Run(ctx, s.rdb, []string{s.Key(lock.Namespace, lock.Key)}, lock.Token, millis(lease), millis(ttl)).Result()
	return s.owned("renew lease", lock, reply, err)
}

// Complete implements [idempotency.Store.Complete].
func (s *Store) Complete(ctx context.Context, lock idempotency.Lock, state idempotency.State, payload []byte, ttl time.Duration) error {
	if state != idempotency.StateCompleted && state != idempotency.StateFailed {
		return fmt.Errorf("redisstore: complete: state %v is not a final state", state)
	}
	if ttl <= 0 {
		return fmt.Errorf("redisstore: complete: TTL %v must be positive", ttl)
	}
	key := s.Key(lock.Namespace, lock.Key)
	reply, err := s.wait.run(ctx, s.rdb, completeScript, key, isOne, lock.Token, stateCode(state), payload, millis(ttl))
	return s.owned("complete", lock, reply, err)
}

// Release implements [idempotency.Store.Release].
func (s *Store) Release(ctx context.Context, lock idempotency.Lock) error {
	reply, err := releaseScript.Run(ctx, s.rdb, []string{s.Key(lock.Namespace, lock.Key)}, lock.Token).Result()
	return s.owned("release", lock, reply, err)
}

// owned turns a renew, complete or release script's reply into the Store
// contract's error: nil for 1, ErrLeaseLost for 0.
func (s *Store) owned(op string, lock idempotency.Lock, reply any, err error) error {
	if err != nil {
		return wrap(op, lock.Key, err)
	}
	if isOne(reply) {
		return nil
	}
	return fmt.Errorf("redisstore: %s of key %q: %w", op, lock.Key, idempotency.ErrLeaseLost)
}

// DeleteExpired implements [idempotency.Store.DeleteExpired]. Redis deletes
// each record when it expires, so there is never anything left to delete:
// it returns 0 (after checking limit, as every store does) and sends
// nothing to Redis.
func (s *Store) DeleteExpired(ctx context.Context, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("redisstore: delete expired: limit %d must be positive", limit)
	}
	return 0, nil
}

// stateCode is a final state as the scripts store it.
func stateCode(s idempotency.State) string {
	if s == idempotency.StateFailed {
		return "2"
	}
	return "1"
}

// millis converts d to whole milliseconds, rounding up so that a positive
// duration never becomes zero.
func millis(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond > 0 {
		ms++
	}
	return ms
}

// checkDurations rejects a lease or TTL that is not positive or whose sum
// would overflow, which would write a record already expired.
func checkDurations(op string, lease, ttl time.Duration) error {
	if lease <= 0 || ttl <= 0 {
		return fmt.Errorf("redisstore: %s: lease (%v) and TTL (%v) must be positive", op, lease, ttl)
	}
	if ttl > math.MaxInt64-lease {
		return fmt.Errorf("redisstore: %s: lease %v plus TTL %v overflows a time.Duration", op, lease, ttl)
	}
	return nil
}

// checkClaim validates a claim before it reaches Redis.
func checkClaim(req idempotency.ClaimRequest) error {
	if err := idempotency.CheckKey(req.Key); err != nil {
		return fmt.Errorf("redisstore: claim: %w", err)
	}
	if req.Namespace != "" {
		if err := idempotency.CheckKey(req.Namespace); err != nil {
			return fmt.Errorf("redisstore: claim: namespace: %w", err)
		}
	}
	switch {
	case req.Fingerprint == "" || len(req.Fingerprint) > maxFingerprintLen:
		return fmt.Errorf("redisstore: claim: fingerprint must be 1 to %d bytes, got %d", maxFingerprintLen, len(req.Fingerprint))
	case req.Token == "" || len(req.Token) > maxTokenLen:
		return fmt.Errorf("redisstore: claim: token must be 1 to %d bytes, got %d", maxTokenLen, len(req.Token))
	}
	return checkDurations("claim", req.Lease, req.TTL)
}

// wrap names the operation and key of a Redis error, keeping it for
// errors.Is and errors.As.
func wrap(op, key string, err error) error {
	return fmt.Errorf("redisstore: %s key %q: %w", op, key, err)
}
