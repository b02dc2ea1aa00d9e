package canonical

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"
)

func FuzzCanonical(f *testing.F) {
	for _, tc := range rfcNumbers {
		f.Add([]byte(tc.want))
		f.Add([]byte(strconv.FormatFloat(math.Float64frombits(tc.bits), 'e', -1, 64)))
	}
	for _, s := range []string{
		`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
		`{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}`,
		`{"a":1,"a":2}`, `"\ud800"`, `9007199254740993`, `-0`, `1000000000000000000000`, `[1e400]`,
		`"<>&\u2028\u2029\u007f"`, `{"\ue000":1,"😀":2}`, "\"a\xff\"", `"a\\ufffd"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		out, err := Marshal(json.RawMessage(b))
		if err != nil {
			if !errors.Is(err, ErrInvalidUTF8) && !errors.Is(err, ErrDuplicateKey) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		again, err := Marshal(json.RawMessage(b))
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("not deterministic: %s vs %s (%v)", out, again, err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON output: %q", out)
		}
		idem, err := Marshal(json.RawMessage(out))
		if err != nil || !bytes.Equal(out, idem) {
			t.Fatalf("not idempotent:\n in  %q\n out %q\n re  %q (%v)", b, out, idem, err)
		}
		// The canonical form means the same as the input.
		var vin, vout any
		errIn := json.Unmarshal(b, &vin)
		errOut := json.Unmarshal(out, &vout)
		if (errIn == nil) != (errOut == nil) {
			t.Fatalf("decodability changed: %v vs %v", errIn, errOut)
		}
		if errIn == nil && !reflect.DeepEqual(vin, vout) {
			t.Fatalf("meaning changed:\n in  %q\n out %q", b, out)
		}
	})
}

// FuzzGoStrings checks the other source of strings: Go values, where
// encoding/json would replace invalid UTF-8 with U+FFFD. Valid strings must
// round-trip exactly; invalid ones must fail with ErrInvalidUTF8.
func FuzzGoStrings(f *testing.F) {
	for _, s := range []string{"", "a", "a\uFFFD", "a\xff", "\\ufffd", "\xed\xa0\x80", "<&>\u2028", "\ue000\U0001F600", "\x00\x1f\x7f"} {
		f.Add(s, "k")
		f.Add("v", s)
	}
	f.Fuzz(func(t *testing.T, s, k string) {
		type quoted struct {
			Q string `json:"q,string"`
		}
		if k == "t" {
			k = "k"
		}
		v := map[string]any{k: []any{s, quoted{s}}, "t": textValue{s}}
		out, err := Marshal(v)
		if !utf8.ValidString(s) || !utf8.ValidString(k) {
			if !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("%q %q: got %q, %v; want ErrInvalidUTF8", s, k, out, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q %q: %v", s, k, err)
		}
		var whole map[string]json.RawMessage
		var backK map[string][]json.RawMessage
		if err := json.Unmarshal(out, &whole); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		if err := json.Unmarshal([]byte(`{"x":`+string(whole[k])+`}`), &backK); err != nil || len(backK["x"]) != 2 {
			t.Fatalf("%q: %v", out, err)
		}
		var plain, text string
		var q quoted
		if json.Unmarshal(backK["x"][0], &plain) != nil || json.Unmarshal(backK["x"][1], &q) != nil ||
			json.Unmarshal(whole["t"], &text) != nil {
			t.Fatalf("cannot decode %q", out)
		}
		if plain != s || q.Q != s || text != s {
			t.Fatalf("string changed: %q -> %q, %q, %q", s, plain, q.Q, text)
		}
	})
}

type textValue struct{ s string }

func (v textValue) MarshalText() ([]byte, error) { return []byte(v.s), nil }
