package canonical

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"-0", "0"},
		{"-0.0", "0"},
		{"0e10", "0"},
		{"-0E-3", "0"},
		{"1E30", "1e+30"},
		{"1e21", "1e+21"},
		{"1e20", "100000000000000000000"},
		{"1e-7", "1e-7"},
		{"1e-6", "0.000001"},
		{"0.000001", "0.000001"},
		{"0.0000001", "1e-7"},
		{"0.00000123", "0.00000123"},
		{"123e-2", "1.23"},
		{"12.50", "12.5"},
		{"12.34", "12.34"},
		{"-12.34", "-12.34"},
		{"1.0", "1"},
		{"100.0e0", "100"},
		{"0.1", "0.1"},
		{"1.5E+2", "150"},
		{"123456789012345.6", "123456789012345.6"},
		{"0.123456789012345678", "0.12345678901234568"},
		{"1e-400", "0"},
		{"-1e-400", "0"},
		{"4.9e-324", "5e-324"},
		{"1e308", "1e+308"},
		{"1.7976931348623157e308", "1.7976931348623157e+308"},

		// Integers below 10^21 are emitted as written.
		{"9007199254740992", "9007199254740992"},
		{"9007199254740993", "9007199254740993"},
		{"-9007199254740993", "-9007199254740993"},
		{"18446744073709551615", "18446744073709551615"},
		{"1152921504606846976", "1152921504606846976"}, // 2^60, ES6 would print ...847000
		{"1152921504606847000", "1152921504606847000"},
		{"295147905179352825856", "295147905179352825856"}, // 2^68
		{"999999999999999999999", "999999999999999999999"},
		// From 10^21 on, the ES6 form is used when it denotes the same integer.
		{"1000000000000000000000", "1e+21"},
		{"-1000000000000000000000", "-1e+21"},
		{"10000000000000000000000", "1e+22"},
		{"1000000000000000000001", "1000000000000000000001"},
		{"100000000000000000000000", "100000000000000000000000"}, // 1e23 is not a double
		{"1" + strings.Repeat("0", 400), "1" + strings.Repeat("0", 400)},
		{"-" + strings.Repeat("9", 400), "-" + strings.Repeat("9", 400)},
	}
	for _, tc := range tests {
		assertCanonical(t, tc.in, json.RawMessage(tc.in), tc.want)
		// Inside a container the same rules apply.
		assertCanonical(t, tc.in+" in array", json.RawMessage("["+tc.in+"]"), "["+tc.want+"]")
	}
}

func TestNumberOverflow(t *testing.T) {
	for _, in := range []string{"1e400", "-1e400", "1.0" + strings.Repeat("0", 400) + "e400", "17976931348623159e292", "1" + strings.Repeat("0", 400) + ".0"} {
		_, err := Marshal(json.RawMessage(in))
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%.20s: err = %v, want ErrUnsupported", in, err)
		}
	}
}

// TestIntegersStayApart pins the one exception to RFC 8785: distinct
// integers never share a canonical form.
func TestIntegersStayApart(t *testing.T) {
	pairs := [][2]any{
		{json.RawMessage("9007199254740993"), json.RawMessage("9007199254740992")},
		{uint64(9007199254740993), uint64(9007199254740992)},
		{int64(-9007199254740993), int64(-9007199254740992)},
		{uint64(1) << 60, uint64(1152921504606847000)},
		{uint64(math.MaxUint64), uint64(math.MaxUint64 - 1)},
		{int64(math.MaxInt64), int64(math.MaxInt64 - 1)},
		{json.RawMessage("295147905179352825856"), json.RawMessage("295147905179352830000")},
		{json.RawMessage("1000000000000000000000"), json.RawMessage("1000000000000000000001")},
	}
	for _, p := range pairs {
		a, errA := Marshal(p[0])
		b, errB := Marshal(p[1])
		if errA != nil || errB != nil {
			t.Fatalf("%v %v: %v %v", p[0], p[1], errA, errB)
		}
		if string(a) == string(b) {
			t.Errorf("%v and %v share the form %s", p[0], p[1], a)
		}
	}
	got, err := Marshal(uint64(9007199254740993))
	if err != nil || string(got) != "9007199254740993" {
		t.Errorf("uint64(9007199254740993) = %s, %v", got, err)
	}
	got, err = Marshal(map[string]int64{"a": math.MinInt64})
	if err != nil || string(got) != `{"a":-9223372036854775808}` {
		t.Errorf("MinInt64 = %s, %v", got, err)
	}
}

// TestES6Random compares appendES6 with an independent formulation of
// ECMAScript's rules (the one encoding/json also follows): fixed notation
// with shortest digits for 1e-6 <= |f| < 1e21, otherwise exponent
// notation without leading zeros in the exponent.
func TestES6Random(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	viaMarshal := true
	check := func(f float64) {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return
		}
		var want string
		if abs := math.Abs(f); abs == 0 {
			want = "0"
		} else if abs >= 1e-6 && abs < 1e21 {
			want = strconv.FormatFloat(f, 'f', -1, 64)
		} else {
			want = strconv.FormatFloat(f, 'e', -1, 64)
			if i := strings.Index(want, "e"); want[i+2] == '0' {
				want = want[:i+2] + want[i+3:]
			}
		}
		got := string(appendES6(nil, f))
		if got != want {
			t.Fatalf("%v (%x): got %s, want %s", f, math.Float64bits(f), got, want)
		}
		if !viaMarshal {
			return
		}
		// Through the parser, from a spelling with an exponent.
		out, err := Marshal(json.RawMessage(strconv.FormatFloat(f, 'e', 20, 64)))
		if err != nil || string(out) != want {
			t.Fatalf("%v: Marshal = %s, %v; want %s", f, out, err, want)
		}
	}
	n := 200000
	if testing.Short() {
		n = 10000
	}
	for i := range n {
		viaMarshal = i%16 == 0
		check(math.Float64frombits(r.Uint64()))
		check(float64(r.Int64N(1<<53)) / math.Pow(10, float64(r.IntN(30))))
	}
	viaMarshal = true
	for e := -330; e <= 310; e++ {
		p := math.Pow(10, float64(e))
		check(p)
		check(math.Nextafter(p, 0))
		check(math.Nextafter(p, math.Inf(1)))
		check(-p)
	}
}

func TestShortestDecimalFastPath(t *testing.T) {
	// Every plain decimal the fast path accepts must equal the slow path.
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		intPart := strconv.FormatUint(r.Uint64N(1_000_000_000), 10)
		if r.IntN(3) == 0 {
			intPart = "0"
		}
		frac := strconv.FormatUint(r.Uint64N(1_000_000_000_000), 10)
		frac = strings.Repeat("0", r.IntN(8)) + frac
		lit := intPart + "." + frac
		if r.IntN(2) == 0 {
			lit = "-" + lit
		}
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			t.Fatal(err)
		}
		want := string(appendES6(nil, f))
		out, err := Marshal(json.RawMessage(lit))
		if err != nil || string(out) != want {
			t.Fatalf("%s: got %s, %v; want %s", lit, out, err, want)
		}
	}
}
