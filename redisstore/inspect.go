package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
)

var (
	_ idempotency.Inspector   = (*Store)(nil)
	_ idempotency.StatsReader = (*Store)(nil)
)

// inspectScript: KEYS[1] record. Returns 0 when there is no record, else
// {state, fingerprint, lease end, claimed at, PTTL, TIME seconds, TIME
// microseconds, payload length}: the record, its remaining time to live
// and the server's clock read in one atomic step. PTTL and TIME, rather
// than PEXPIRETIME, which Redis 6.2 lacks. It writes nothing.
var inspectScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 's', 'f', 'l', 'c')
if not r[1] then
	return 0
end
local t = redis.call('TIME')
return {r[1], r[2] or '', r[3] or '', r[4] or '', redis.call('PTTL', KEYS[1]), t[1], t[2], redis.call('HSTRLEN', KEYS[1], 'p')}
`)

// Inspect implements [idempotency.Inspector]: one script that reads the
// record, its time to live and the server's clock, and writes nothing.
// Redis deletes a record when it expires, so an expired one is absent
// ([idempotency.ErrNotFound]).
func (s *Store) Inspect(ctx context.Context, namespace, key string) (idempotency.RecordInfo, error) {
	if err := checkIdentity("inspect", namespace, key); err != nil {
		return idempotency.RecordInfo{}, err
	}
	reply, err := inspectScript.Run(ctx, s.rdb, []string{s.Key(namespace, key)}).Result()
	if err != nil {
		return idempotency.RecordInfo{}, wrap("inspect", key, err)
	}
	if n, ok := reply.(int64); ok && n == 0 {
		return idempotency.RecordInfo{}, fmt.Errorf("redisstore: inspect key %q in namespace %q: %w", key, namespace, idempotency.ErrNotFound)
	}
	info, err := parseInspect(reply)
	if err != nil {
		return idempotency.RecordInfo{}, err
	}
	info.Namespace, info.Key = namespace, key
	return info, nil
}

// parseInspect reads inspectScript's reply.
func parseInspect(reply any) (idempotency.RecordInfo, error) {
	f, ok := reply.([]any)
	if !ok || len(f) != 8 {
		return idempotency.RecordInfo{}, fmt.Errorf("redisstore: inspect: unexpected reply %v: is another program writing keys under this prefix?", reply)
	}
	var info idempotency.RecordInfo
	state, _ := f[0].(string)
	switch state {
	case "0":
		info.State = idempotency.StateProcessing
	case "1":
		info.State = idempotency.StateCompleted
	case "2":
		info.State = idempotency.StateFailed
	default:
		return idempotency.RecordInfo{}, fmt.Errorf("redisstore: inspect: record has state %q: is another program writing keys under this prefix?", state)
	}
	info.Fingerprint, _ = f[1].(string)
	lease, _ := strconv.ParseInt(str(f[2]), 10, 64)
	created, _ := strconv.ParseInt(str(f[3]), 10, 64)
	pttl, _ := f[4].(int64)
	sec, err1 := strconv.ParseInt(str(f[5]), 10, 64)
	usec, err2 := strconv.ParseInt(str(f[6]), 10, 64)
	plen, _ := f[7].(int64)
	if err1 != nil || err2 != nil {
		return idempotency.RecordInfo{}, fmt.Errorf("redisstore: inspect: unexpected server time %v %v", f[5], f[6])
	}
	info.Now = time.Unix(sec, usec*1000).UTC()
	nowMillis := sec*1000 + usec/1000
	info.Created = time.UnixMilli(created).UTC()
	if pttl >= 0 { // -1: no expiry, which the store never leaves
		info.Expires = time.UnixMilli(nowMillis + pttl).UTC()
	}
	if info.State == idempotency.StateProcessing {
		info.LeaseUntil = time.UnixMilli(lease).UTC()
		info.LeaseHeld = lease > nowMillis // as the claim script compares
	}
	info.PayloadBytes = int(plen)
	return info, nil
}

// str returns a script reply's bulk string, or "" for anything else.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// Forget implements [idempotency.Inspector] with one DEL of the record's
// key, whatever its state.
func (s *Store) Forget(ctx context.Context, namespace, key string) (bool, error) {
	if err := checkIdentity("forget", namespace, key); err != nil {
		return false, err
	}
	n, err := s.rdb.Del(ctx, s.Key(namespace, key)).Result()
	if err != nil {
		return false, wrap("forget", key, err)
	}
	return n == 1, nil
}

// checkIdentity validates a namespace and key given to an operator's
// method, so that a typo is told apart from a record that is not there.
func checkIdentity(op, namespace, key string) error {
	if err := idempotency.CheckKey(key); err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if namespace != "" {
		if err := idempotency.CheckKey(namespace); err != nil {
			return fmt.Errorf("redisstore: %s: namespace: %w", op, err)
		}
	}
	return nil
}
