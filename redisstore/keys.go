package redisstore

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "idempotency"

// checkPrefix rejects a prefix that would break the key layout: braces
// (the first "{" must be the store's own empty hash tag), glob characters,
// and bytes that redis-cli and logs cannot show.
func checkPrefix(p string) error {
	if strings.ContainsAny(p, "{}") {
		return fmt.Errorf("redisstore: Config.Prefix %q contains a brace: on a Redis Cluster it would become a hash tag that puts every record on one node; use letters, digits and punctuation such as ':' '.' '-' '_'", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] >= 0x7f {
			return fmt.Errorf("redisstore: Config.Prefix %q contains byte %#x: use printable ASCII without spaces", p, p[i])
		}
	}
	if strings.ContainsAny(p, `*?[]\`) {
		// Operators find a store's keys with SCAN MATCH <prefix>:*.
		return fmt.Errorf("redisstore: Config.Prefix %q contains a glob character (* ? [ ] \\), which would break SCAN MATCH for its keys", p)
	}
	return nil
}

// recordKey is the Redis key of the record (namespace, key):
//
//	<prefix>:{}<len(namespace)>:<namespace>:<key>
//
// The empty hash tag "{}" is the first "{" in the key (a prefix has none),
// and Redis Cluster hashes the whole key when the first "{" is followed at
// once by "}": a brace in a client's namespace or key can never become a
// hash tag that piles records on one node. The namespace's length makes the
// encoding injective: ("a:b", "c") and ("a", "b:c") get different keys. And
// since a prefix cannot contain "{", two stores with different prefixes
// never share a key.
func recordKey(prefix, namespace, key string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(namespace) + len(key) + 8)
	b.WriteString(prefix)
	b.WriteString(":{}")
	b.WriteString(strconv.Itoa(len(namespace)))
	b.WriteByte(':')
	b.WriteString(namespace)
	b.WriteByte(':')
	b.WriteString(key)
	return b.String()
}

// parseRecordKey returns the namespace of a record's Redis key made by
// recordKey with prefix, and false for a key it did not make.
func parseRecordKey(prefix, k string) (namespace string, ok bool) {
	rest, ok := strings.CutPrefix(k, prefix+":{}")
	if !ok {
		return "", false
	}
	digits, rest, ok := strings.Cut(rest, ":")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n < 0 || n >= len(rest) || rest[n] != ':' {
		return "", false
	}
	return rest[:n], true
}

// scanPattern is the SCAN MATCH pattern of every record key under prefix;
// checkPrefix keeps glob characters out of prefixes, so none needs escaping.
func scanPattern(prefix string) string { return prefix + ":{}*" }
