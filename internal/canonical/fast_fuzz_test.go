package canonical

import (
	"math"
	"testing"
)

type fuzzInner struct {
	S string  `json:"s"`
	T string  `json:"t,omitempty"`
	F float64 `json:"f,omitzero"`
	B []byte  `json:"b,omitempty"`
}

type fuzzOuter struct {
	fuzzInner
	*fuzzEmbedded
	I int64            `json:"i"`
	U uint64           `json:"u,omitempty"`
	M map[string]any   `json:"m"`
	P *fuzzInner       `json:"p,omitempty"`
	A any              `json:"a"`
	K map[int64]string `json:"k,omitempty"`
	L []fuzzInner
}

type fuzzEmbedded struct {
	// Letters, so valid tag names, in different UTF-8 and UTF-16 order.
	E string `json:"\U00010000"`
	G string `json:"\uff21"`
}

// FuzzFastMatchesSlow builds values of several shapes from the fuzz input
// and checks that the fast path agrees with the slow path on each, and that
// it takes every one the slow path accepts: they are all plain types, so
// only invalid UTF-8 and NaN/Inf may send them to the slow path, and those
// fail there.
func FuzzFastMatchesSlow(f *testing.F) {
	f.Add("", "", int64(0), uint64(0), 0.0, []byte(nil))
	f.Add("a", "b", int64(1<<53+1), uint64(math.MaxUint64), 0.1, []byte("x"))
	f.Add("\U0001F600", "\ue000", int64(math.MinInt64), uint64(1<<60), 1e21, []byte{0, 255})
	f.Add("é", "\uFFFD", int64(-1), uint64(math.Float64bits(5e-324)), math.Copysign(0, -1), []byte{})
	f.Add("\x00\x1f\"\\", "\u2028<>&", int64(math.MaxInt64), uint64(math.Float64bits(math.NaN())), 1e-7, []byte("\xff"))
	f.Add("a\xff", "b", int64(2), uint64(3), 123456789012345.6, []byte(nil))
	f.Add("k", "k", int64(10), uint64(math.Float64bits(math.Inf(-1))), 0.30000000000000004, []byte(nil))
	f.Add("\xed\xa0\x80", "\U0010FFFF", int64(-(1 << 53)), uint64(0x7fefffffffffffff), -1.5e300, []byte("ab"))
	f.Add("\U00010000", "\uffff", int64(0), uint64(0x8000000000000000), 999999999999999900000.0, []byte(nil))
	f.Add("", "\x7f", int64(7), uint64(0x3eb0c6f7a0b5ed8c), 9.999999999999997e-7, []byte(nil))
	f.Fuzz(func(t *testing.T, s1, s2 string, i int64, u uint64, x float64, b []byte) {
		y := math.Float64frombits(u) // every double, NaN and Inf included
		inner := fuzzInner{S: s1, T: s2, F: x, B: b}
		values := []any{
			fuzzOuter{
				fuzzInner:    inner,
				fuzzEmbedded: &fuzzEmbedded{E: s2, G: s1},
				I:            i, U: u,
				M: map[string]any{s1: s2, s2: i, "x": x, "y": y, s1 + s2: []any{u, b, nil}},
				P: &fuzzInner{S: s2, F: y},
				A: map[string]fuzzInner{s2: inner},
				K: map[int64]string{i: s1, int64(u): s2, -i: "n"},
				L: []fuzzInner{inner, {}},
			},
			fuzzOuter{fuzzInner: fuzzInner{S: s2, T: s1, F: y}, A: y},
			map[string]any{s1: x, s2: y, s1 + "\x00": i, "\U0001F600" + s2: u, s2 + "\ue000": s1},
			map[string]float64{s1: x, s2: y, "": -x},
			[]any{s1, s2, x, y, i, u, b, map[string]any{}, []string{s1 + s2}},
			map[uint64]any{u: s1, uint64(i): x},
			s1 + s2,
			y,
		}
		for n, v := range values {
			if fast, err := checkFastMatchesSlow(t, string(rune('A'+n)), v, false); err == nil && !fast {
				t.Errorf("shape %d: the slow path accepts %#v, but the fast path did not take it", n, v)
			}
		}
	})
}
