package canonical

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestStringEscaping(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"html stays raw", "<a href=\"x\">&</a>", `"<a href=\"x\">&</a>"`},
		{"html from raw JSON", json.RawMessage(`"\u003c\u003e\u0026"`), `"<>&"`},
		{"line and paragraph separators", "\u2028\u2029", "\"\u2028\u2029\""},
		{"separators from raw JSON", json.RawMessage(`"\u2028\u2029"`), "\"\u2028\u2029\""},
		{"DEL", "\x7f", "\"\x7f\""},
		{"DEL escaped", json.RawMessage(`"\u007F"`), "\"\x7f\""},
		{"short escapes", "\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"other controls", "\x00\x01\x0b\x1f", `"\u0000\u0001\u000b\u001f"`},
		{"controls from raw JSON", json.RawMessage(`"\u0008\u000B\u001F\u000d"`), `"\b\u000b\u001f\r"`},
		{"quote and backslash", `"\`, `"\"\\"`},
		{"solidus", json.RawMessage(`"\/"`), `"/"`},
		{"unicode raw", "ö€😀", `"ö€😀"`},
		{"unicode escaped", json.RawMessage(`"\u00F6\u20AC\uD83D\uDE00"`), `"ö€😀"`},
		{"replacement character", "a\uFFFD", "\"a\uFFFD\""},
		{"escaped replacement character", json.RawMessage(`"a\ufffd"`), "\"a\uFFFD\""},
		{"escapes in names", json.RawMessage(`{"\u0061":1,"\n":2}`), `{"\n":2,"a":1}`},
		{"empty", "", `""`},
	}
	for _, tc := range tests {
		assertCanonical(t, tc.name, tc.v, tc.want)
	}
}

func TestLoneSurrogates(t *testing.T) {
	for _, in := range []string{
		`"\ud800"`, `"\uDBFF"`, `"\udc00"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`,
		`"\ud83dx"`, `{"\ud800":1}`, `["\ud83d\ud83d"]`,
	} {
		_, err := Marshal(json.RawMessage(in))
		if !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("%s: err = %v, want ErrInvalidUTF8", in, err)
		}
	}
}

// TestUTF16Order checks the case where UTF-16 and UTF-8 orders disagree:
// U+1F600 is D83D DE00 in UTF-16 and so sorts before U+E000, while its
// UTF-8 bytes (F0 ...) sort after EE 80 80. encoding/json sorts map keys by
// bytes, so the object has to be reordered.
func TestUTF16Order(t *testing.T) {
	m := map[string]int{"\ue000": 1, "\U0001F600": 2, "a": 3, "\uffff": 4, "\U0010FFFF": 5, "\ud7ff": 6}
	want := "{\"a\":3,\"\ud7ff\":6,\"\U0001F600\":2,\"\U0010FFFF\":5,\"\ue000\":1,\"\uffff\":4}"
	assertCanonical(t, "map", m, want)

	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "a", -1},
		{"a", "ab", -1},
		{"b", "ab", 1},
		{"\ue000", "\U0001F600", 1},
		{"\U0001F600", "\U0001F601", -1},
		{"\U0001F600", "\U00010000", 1},
		{"x\u00e9", "x\u00ea", -1}, // differ in a continuation byte
		{"\uffff", "\U00010000", 1},
		{"\ud7ff", "\U00010000", -1},
		{"\u0080", "\u07ff", -1},
	}
	for _, c := range cases {
		if got := compareUTF16([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("compareUTF16(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := compareUTF16([]byte(c.b), []byte(c.a)); got != -c.want {
			t.Errorf("compareUTF16(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestDuplicateKeys(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"a":2}`,
		`{"a":1,"b":2,"a":1}`,
		`{"a":1,"\u0061":2}`,
		`{"😀":1,"\ud83d\ude00":2}`,
		`[{"x":{"a":1,"a":1}}]`,
		`{"b":1,"a":2,"b":3}`,
	} {
		_, err := Marshal(json.RawMessage(in))
		if !errors.Is(err, ErrDuplicateKey) {
			t.Errorf("%s: err = %v, want ErrDuplicateKey", in, err)
		}
	}
	// Equal names in different objects are fine.
	assertCanonical(t, "sibling objects", json.RawMessage(`[{"a":1},{"a":2}]`), `[{"a":1},{"a":2}]`)
	assertCanonical(t, "nested objects", json.RawMessage(`{"a":{"a":{"a":1}}}`), `{"a":{"a":{"a":1}}}`)
}

type dupMarshaler struct{}

func (dupMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{"k":1,"k":2}`), nil }

type textKey struct{ n int }

func (k textKey) MarshalText() ([]byte, error) { return []byte("same"), nil }

func TestDuplicateKeysFromGoValues(t *testing.T) {
	if _, err := Marshal(dupMarshaler{}); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("MarshalJSON: err = %v, want ErrDuplicateKey", err)
	}
	// Distinct map keys whose text is equal would make one request look
	// like another.
	if _, err := Marshal(map[textKey]int{{1}: 1, {2}: 2}); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("MarshalText keys: err = %v, want ErrDuplicateKey", err)
	}
}

func TestWhitespaceAndNesting(t *testing.T) {
	assertCanonical(t, "whitespace", json.RawMessage(" \t\n{ \"b\" : [ 1 , { } , [ ] ] ,\r\n \"a\" : null } "), `{"a":null,"b":[1,{},[]]}`)
	assertCanonical(t, "empty object", json.RawMessage(`{}`), `{}`)
	assertCanonical(t, "empty array", json.RawMessage(`[]`), `[]`)
}

// Escaped names of nested objects that all need reordering share one
// decoding arena; each object must still compare its own names.
func TestNestedEscapedNames(t *testing.T) {
	in := `{"\u0062":{"\u0064":1,"\u0063":{"\u0066":1,"\u0065":[{"\u007a":1,"\u0079":2}]}},` +
		`"\u0061":[{"\u007a\u007a":1,"\u0079":{"\u0078":0,"\u0077":0}}],"\u00e9\n":null,"\ud83d\ude00":1,"\ue000":2}`
	want := `{"a":[{"y":{"w":0,"x":0},"zz":1}],"b":{"c":{"e":[{"y":2,"z":1}],"f":1},"d":1},` +
		"\"\u00e9\\n\":null,\"\U0001F600\":1,\"\ue000\":2}"
	assertCanonical(t, "nested", json.RawMessage(in), want)
}

func TestJSONNumber(t *testing.T) {
	assertCanonical(t, "big", json.Number("9007199254740993"), "9007199254740993")
	assertCanonical(t, "exp", json.Number("1E30"), "1e+30")
	if _, err := Marshal(json.Number("1e400")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
}
