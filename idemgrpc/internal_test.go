package idemgrpc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCodecRoundTrip(t *testing.T) {
	for _, r := range []recorded{
		{Kind: kindMessage, TypeName: "pkg.Msg", Payload: []byte{1, 2, 3}},
		{Kind: kindMessage, TypeName: "pkg.Empty"},
		{Kind: kindStatus, Payload: []byte{8, 3}},
		{Kind: kindNil},
	} {
		b, err := outcomeCodec{}.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var got recorded
		if err := (outcomeCodec{}).Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != r.Kind || got.TypeName != r.TypeName || !bytes.Equal(got.Payload, r.Payload) {
			t.Fatalf("round trip of %+v gave %+v", r, got)
		}
	}
}

func TestCodecRefusesCorrupt(t *testing.T) {
	for _, b := range [][]byte{
		nil, {1}, {2, 1, 0}, {1, 4, 0}, {1, 1, 0}, // no name for a message
		{1, 3, 0, 7},   // a payload for a nil response
		{1, 3, 1, 'x'}, // a name for a nil response
		{1, 2, 1, 'x'}, // a name for a status
		{1, 1, 5, 'a'}, // a name longer than the data
		{1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		var r recorded
		if err := (outcomeCodec{}).Unmarshal(b, &r); !errors.Is(err, errCorrupt) {
			t.Errorf("Unmarshal(%v) = %v, want errCorrupt", b, err)
		}
	}
	if _, err := (outcomeCodec{}).Marshal("x"); err == nil {
		t.Error("Marshal accepted a string")
	}
	if err := (outcomeCodec{}).Unmarshal([]byte{1, 2, 0}, new(string)); err == nil {
		t.Error("Unmarshal accepted a *string")
	}
}

func TestCheckKey(t *testing.T) {
	for _, tc := range []struct {
		values []string
		ok     bool
	}{
		{[]string{"k"}, true},
		{[]string{"é-ключ"}, true},
		{[]string{strings.Repeat("k", MaxKeyLen)}, true},
		{[]string{strings.Repeat("k", MaxKeyLen+1)}, false},
		{[]string{""}, false},
		{[]string{"dup", "dup"}, false},
		{[]string{"a\x00b"}, false},
		{[]string{"a\tb"}, false},
		{[]string{"a\x7fb"}, false},
		{[]string{"a\u0085b"}, false},
		{[]string{"\xff"}, false},
	} {
		key, err := checkKey("idempotency-key", tc.values)
		if (err == nil) != tc.ok || (tc.ok && key != tc.values[0]) {
			t.Errorf("checkKey(%q) = %q, %v; want ok %v", tc.values, key, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), tc.values[0]) && tc.values[0] != "" {
			t.Errorf("checkKey(%q): the error repeats the key: %v", tc.values, err)
		}
	}
}

func TestStoredKeyMatchesIdemhttp(t *testing.T) {
	// The same derivation as idemhttp.StoredKey, which idemctl's -scope
	// uses: hex of the first 16 bytes of SHA-256("") is e3b0c442....
	if got := StoredKey("", "k"); got != "e3b0c44298fc1c149afbf4c8996fb924:k" {
		t.Fatalf("StoredKey(\"\", \"k\") = %q", got)
	}
}
