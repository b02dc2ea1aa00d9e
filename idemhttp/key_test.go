package idemhttp

import (
	"strings"
	"testing"

	"github.com/idemkit/idempotency"
)

func TestParseKey(t *testing.T) {
	long := strings.Repeat("k", MaxKeyLen)
	cases := []struct {
		in   []string
		want string // "" means invalid
	}{
		{[]string{"abc"}, "abc"},
		{[]string{" abc\t"}, "abc"}, // surrounding whitespace is not part of a field value
		{[]string{`"abc"`}, "abc"},
		{[]string{`"a\"b\\c"`}, `a"b\c`},
		{[]string{`"a b"`}, "a b"},
		{[]string{"a b"}, "a b"},
		{[]string{`ab"c`}, `ab"c`}, // bare: quotes inside are part of the key
		{[]string{"ключ"}, "ключ"},
		{[]string{"550e8400-e29b-41d4-a716-446655440000"}, "550e8400-e29b-41d4-a716-446655440000"},
		{[]string{long}, long},
		{[]string{long + "k"}, ""},
		{[]string{`"` + long + `"`}, long},
		{[]string{`"` + long + `k"`}, ""},
		{[]string{"a", "b"}, ""},
		{[]string{""}, ""},
		{[]string{`""`}, ""},
		{[]string{`"abc`}, ""},
		{[]string{`"ab"c"`}, ""},
		{[]string{`"a\b"`}, ""},
		{[]string{`"a\`}, ""},
		{[]string{`"é"`}, ""},
		{[]string{"a\x00b"}, ""},
		{[]string{"a\x1fb"}, ""},
		{[]string{"a\x7fb"}, ""},
		{[]string{"a\u0080b"}, ""},
		{[]string{"a\u009fb"}, ""},
		{[]string{"a\u00a0b"}, "a\u00a0b"}, // no-break space is printable
		{[]string{"\xff"}, ""},
	}
	for _, tc := range cases {
		got, err := parseKey("Idempotency-Key", tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseKey(%q) = %q, want an error", tc.in, got)
			} else if !strings.Contains(err.Error(), "Idempotency-Key") || len(err.Error()) > 200 {
				t.Errorf("parseKey(%q) error %q: want a short detail naming the header", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseKey(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		if err := idempotency.CheckKey(storedKey("any scope", got)); err != nil {
			t.Errorf("stored form of valid key %q is refused by the Manager: %v", got, err)
		}
	}
}

func TestStoredKey(t *testing.T) {
	a, b := storedKey("a", "b:c"), storedKey("a:b", "c")
	if a == b {
		t.Fatalf("scope and key spliced differently collide: %q", a)
	}
	if storedKey("alice", "k") == storedKey("bob", "k") || storedKey("", "k") == storedKey(" ", "k") {
		t.Fatal("different scopes share a stored key")
	}
	long := storedKey(strings.Repeat("s", 10<<10), "k")
	if len(long) != scopePrefixLen+1 || !strings.HasSuffix(long, ":k") {
		t.Fatalf("stored key %q: the scope must take a fixed %d bytes", long, scopePrefixLen)
	}
	if MaxKeyLen != 222 {
		t.Fatalf("MaxKeyLen = %d; the documentation says 222", MaxKeyLen)
	}
}
