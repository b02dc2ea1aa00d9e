package canonical

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"testing"
)

// rfcNumbers is the number serialisation table of RFC 8785, Appendix B.
var rfcNumbers = []struct {
	bits uint64
	want string
}{
	{0x0000000000000000, "0"},
	{0x8000000000000000, "0"},
	{0x0000000000000001, "5e-324"},
	{0x8000000000000001, "-5e-324"},
	{0x7fefffffffffffff, "1.7976931348623157e+308"},
	{0xffefffffffffffff, "-1.7976931348623157e+308"},
	{0x4340000000000000, "9007199254740992"},
	{0xc340000000000000, "-9007199254740992"},
	{0x4430000000000000, "295147905179352830000"},
	{0x44b52d02c7e14af5, "9.999999999999997e+22"},
	{0x44b52d02c7e14af6, "1e+23"},
	{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
	{0x444b1ae4d6e2ef4e, "999999999999999700000"},
	{0x444b1ae4d6e2ef4f, "999999999999999900000"},
	{0x444b1ae4d6e2ef50, "1e+21"},
	{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
	{0x3eb0c6f7a0b5ed8d, "0.000001"},
	{0x41b3de4355555553, "333333333.3333332"},
	{0x41b3de4355555554, "333333333.33333325"},
	{0x41b3de4355555555, "333333333.3333333"},
	{0x41b3de4355555556, "333333333.3333334"},
	{0x41b3de4355555557, "333333333.33333343"},
	{0xbecbf647612f3696, "-0.0000033333333333333333"},
	{0x43143ff3c1cb0959, "1424953923781206.2"},
}

func TestRFC8785Numbers(t *testing.T) {
	for _, tc := range rfcNumbers {
		f := math.Float64frombits(tc.bits)
		name := strconv.FormatUint(tc.bits, 16)

		if got := string(appendES6(nil, f)); got != tc.want {
			t.Errorf("%s: appendES6 = %s, want %s", name, got, tc.want)
		}
		// The double spelled with an exponent reaches the parser unchanged.
		assertCanonical(t, name+" raw", json.RawMessage(strconv.FormatFloat(f, 'e', -1, 64)), tc.want)
		// So does the double as encoding/json prints a Go float64.
		assertCanonical(t, name+" float64", f, tc.want)
		// The canonical form is a fixed point, even where it reads as an
		// integer literal (295147905179352830000).
		assertCanonical(t, name+" canonical", json.RawMessage(tc.want), tc.want)
	}
}

func TestRFC8785NaNAndInfinity(t *testing.T) {
	for _, bits := range []uint64{0x7fffffffffffffff, 0x7ff0000000000000, 0xfff0000000000000} {
		_, err := Marshal(math.Float64frombits(bits))
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%x: err = %v, want ErrUnsupported", bits, err)
		}
	}
}

// TestRFC8785Example is the example of RFC 8785, section 3.2.2.2 (numbers,
// string escapes and literals).
func TestRFC8785Example(t *testing.T) {
	in := `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`
	want := `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	assertCanonical(t, "3.2.2.2", json.RawMessage(in), want)
}

// TestRFC8785Sorting is the example of RFC 8785, section 3.2.3: names are
// ordered by UTF-16 code units, so the emoji (surrogates D83D DE00) sorts
// before U+FB33 although its UTF-8 bytes sort after.
func TestRFC8785Sorting(t *testing.T) {
	in := `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`
	want := "{" +
		`"\r":"Carriage Return",` +
		`"1":"One",` +
		"\"\u0080\":\"Control\"," +
		"\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
		"\"\u20ac\":\"Euro Sign\"," +
		"\"\U0001F600\":\"Emoji: Grinning Face\"," +
		"\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"" +
		"}"
	assertCanonical(t, "3.2.3", json.RawMessage(in), want)
}

func assertCanonical(t *testing.T, name string, v any, want string) {
	t.Helper()
	got, err := Marshal(v)
	if err != nil {
		t.Errorf("%s: Marshal: %v", name, err)
		return
	}
	if string(got) != want {
		t.Errorf("%s:\n got %s\nwant %s", name, got, want)
	}
}
