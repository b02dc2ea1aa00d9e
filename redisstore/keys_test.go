package redisstore

import (
	"strings"
	"testing"
)

func TestRecordKeyLayout(t *testing.T) {
	if got, want := recordKey("idempotency", "charges", "order-1"), "idempotency:{}7:charges:order-1"; got != want {
		t.Errorf("recordKey = %q; want %q", got, want)
	}
}

// TestRecordKeysNeverCollide: different (prefix, namespace, key) triples
// get different Redis keys, however ':' and digits are placed.
func TestRecordKeysNeverCollide(t *testing.T) {
	parts := []string{"", "a", "b", ":", "a:b", "b:c", "1", "1:a", "3:a:b", "{}", "{x}", "a:{}1:b"}
	prefixes := []string{"p", "p:", "p:1", "idempotency", "p:1:a"}
	seen := map[string][3]string{}
	for _, p := range prefixes {
		for _, ns := range parts {
			for _, k := range parts {
				key := recordKey(p, ns, k)
				if prev, dup := seen[key]; dup {
					t.Fatalf("(%q, %q, %q) and %q share the key %q", p, ns, k, prev, key)
				}
				seen[key] = [3]string{p, ns, k}
			}
		}
	}
}

// TestFirstBraceIsTheStoresOwn: whatever braces a namespace or key holds,
// the first "{" of the Redis key opens the store's empty hash tag, so
// Redis Cluster hashes the whole key.
func TestFirstBraceIsTheStoresOwn(t *testing.T) {
	for _, k := range []string{"{user1000}", "a{b}c", "}{", "{", "{}"} {
		key := recordKey("idempotency", "{tenant}", k)
		i := strings.IndexByte(key, '{')
		if key[i:i+2] != "{}" {
			t.Errorf("key %q: first brace at %d opens a non-empty hash tag", key, i)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, p := range []string{"idempotency", "app:idem", "a.b-c_d/e"} {
		if err := checkPrefix(p); err != nil {
			t.Errorf("checkPrefix(%q) = %v; want nil", p, err)
		}
	}
	for _, p := range []string{"{app}", "a}", "a b", "a\nb", "é", "a*", "a[1]"} {
		if err := checkPrefix(p); err == nil {
			t.Errorf("checkPrefix(%q) = nil; want an error", p)
		}
	}
}

func TestParseRecordKey(t *testing.T) {
	for _, ns := range []string{"", "a", "a:b", "{x}", "12:3", "é"} {
		for _, k := range []string{"k", ":", "a:b:c", "{}"} {
			got, ok := parseRecordKey("p:1", recordKey("p:1", ns, k))
			if !ok || got != ns {
				t.Errorf("parseRecordKey(recordKey(%q, %q)) = %q, %v; want %q", ns, k, got, ok, ns)
			}
		}
	}
	for _, key := range []string{"p:1:{}x:a:b", "p:1:{}9:a:b", "q:{}1:a:b", "p:1:{}-1:a:b", "p:1:{}1:ab"} {
		if ns, ok := parseRecordKey("p:1", key); ok {
			t.Errorf("parseRecordKey(%q) = %q, true; want false", key, ns)
		}
	}
}

func TestScanPattern(t *testing.T) {
	if got, want := scanPattern("app:idem"), "app:idem:{}*"; got != want {
		t.Errorf("scanPattern = %q; want %q", got, want)
	}
}
