package canonical

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowMarshal is Marshal without the fast path: the reference output.
func slowMarshal(v any) ([]byte, error) {
	st := getState()
	defer putState(st)
	if err := st.canonicalizeSlow(v); err != nil {
		return nil, err
	}
	return bytes.Clone(st.out), nil
}

// fastMarshal is the fast path alone; ok is false where it defers to the
// slow path.
func fastMarshal(v any) (out []byte, ok bool) {
	st := getState()
	defer putState(st)
	if !st.encodeFast(v) {
		return nil, false
	}
	return bytes.Clone(st.out), true
}

// fastEncodable reports whether values of type t take the fast path
// (unless a value holds something the path gives up on at run time).
func fastEncodable(t reflect.Type) bool { return fastEncoderFor(t).encode != nil }

// errorsAgree reports whether two errors of the public functions match:
// the same sentinels and the same message. With strict unset, two
// ErrInvalidUTF8 from the Go value walk may name different locations: the
// walk visits map entries in random order, so with several invalid strings
// in a map even the slow path alone reports any one of them.
func errorsAgree(a, b error, strict bool) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	for _, target := range []error{ErrInvalidUTF8, ErrUnsupported, ErrDuplicateKey} {
		if errors.Is(a, target) != errors.Is(b, target) {
			return false
		}
	}
	if a.Error() == b.Error() {
		return true
	}
	var ia, ib *invalidUTF8
	return !strict && errors.As(a, &ia) && errors.As(b, &ib)
}

// checkFastMatchesSlow compares the fast path, Marshal and Fingerprint
// with the slow path on v and reports whether the fast path took v and the
// slow path's error. strict is passed to errorsAgree.
func checkFastMatchesSlow(t testing.TB, name string, v any, strict bool) (fast bool, slowErr error) {
	t.Helper()
	want, wantErr := slowMarshal(v)
	got, ok := fastMarshal(v)
	if ok {
		if wantErr != nil {
			t.Errorf("%s: fast path accepted a value the slow path rejects with %v; fast output %q", name, wantErr, got)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s: fast path differs from slow path:\n fast %q\n slow %q", name, got, want)
		}
	}
	pub, pubErr := Marshal(v)
	if !bytes.Equal(pub, want) || !errorsAgree(pubErr, wantErr, strict) {
		t.Errorf("%s: Marshal = %q, %v; slow path = %q, %v", name, pub, pubErr, want, wantErr)
	}
	fp, fpErr := Fingerprint(v)
	wantFP := ""
	if wantErr == nil {
		sum := sha256.Sum256(want)
		wantFP = hex.EncodeToString(sum[:])
	}
	if fp != wantFP || !errorsAgree(fpErr, wantErr, strict) {
		t.Errorf("%s: Fingerprint = %s, %v; want %s, %v", name, fp, fpErr, wantFP, wantErr)
	}
	return ok, wantErr
}

// Types for the differential table.
type (
	embA struct {
		X int
		Y string `json:"y"`
		Z int
		A string `json:"a,omitempty"`
	}
	embB struct {
		X int
		Y string
		Z int `json:"Z"`
	}
	embDeep struct{ embA }
	// X is dropped (two untagged at one depth), the tagged Z wins, y and Y
	// are distinct names.
	embConflict struct {
		embA
		embB
		W int
	}
	// The shallower field wins.
	embShadow struct {
		embA
		X string `json:"X"`
	}
	embPointer struct {
		*embA
		V string `json:"v"`
	}
	embDeepPointer struct {
		*embDeep
		embB `json:"b"`
	}
	embLower  struct{ Q, R int }
	embHidden struct {
		embLower
		*embHiddenPtr
		S string
	}
	embHiddenPtr struct{ T string }
	embTagged    struct {
		embA `json:"inner"`
		N    int `json:"n"`
	}
	// One field each appears at depth 2 via two paths: annihilated.
	embTwice struct {
		embDeep
		embDeep2
	}
	embDeep2 struct{ embA }

	tagNames struct {
		Dash int `json:"-"`
		//lint:ignore SA5008 a tag encoding/json accepts as it is; the test checks that the decoder reads it the same way
		Named   int `json:"-,"`
		Punct   int `json:"a-b.c$"`
		Empty   int `json:",omitempty"`
		Private int `json:"private_"`
		Space   int `json:"with space"`
		// Letters whose UTF-16 order differs from their UTF-8 order.
		Fullwidth int `json:"\uff21"`
		LinearB   int `json:"\U00010000"`
		Hebrew    int `json:"\ufb33\u05d0"`
		hidden    int
	}
	// Names that encoding/json ignores for the Go name send the type to
	// the slow path.
	badTagQuote struct {
		//lint:ignore SA5008 a tag encoding/json accepts as it is; the test checks that the decoder reads it the same way
		A int `json:"a\"b"`
	}
	badTagSymbol struct {
		A int `json:"é\U0001F600"`
	}
	badTagPrivate struct {
		A int `json:"\ue000x"`
	}

	omitEmptyAll struct {
		B     bool           `json:"b,omitempty"`
		I     int            `json:"i,omitempty"`
		I8    int8           `json:"i8,omitempty"`
		I16   int16          `json:"i16,omitempty"`
		I32   int32          `json:"i32,omitempty"`
		I64   int64          `json:"i64,omitempty"`
		U     uint           `json:"u,omitempty"`
		U8    uint8          `json:"u8,omitempty"`
		U16   uint16         `json:"u16,omitempty"`
		U32   uint32         `json:"u32,omitempty"`
		U64   uint64         `json:"u64,omitempty"`
		UP    uintptr        `json:"up,omitempty"`
		F     float64        `json:"f,omitempty"`
		S     string         `json:"s,omitempty"`
		P     *int           `json:"p,omitempty"`
		M     map[string]int `json:"m,omitempty"`
		Sl    []int          `json:"sl,omitempty"`
		A     [2]int         `json:"a,omitempty"`
		A0    [0]int         `json:"a0,omitempty"`
		If    any            `json:"if,omitempty"`
		St    struct{}       `json:"st,omitempty"`
		Bytes []byte         `json:"bytes,omitempty"`
	}

	omitZeroAll struct {
		B     bool               `json:"b,omitzero"`
		I     int                `json:"i,omitzero"`
		U64   uint64             `json:"u64,omitzero"`
		F     float64            `json:"f,omitzero"`
		S     string             `json:"s,omitzero"`
		P     *int               `json:"p,omitzero"`
		M     map[string]int     `json:"m,omitzero"`
		Sl    []int              `json:"sl,omitzero"`
		A     [2]int             `json:"a,omitzero"`
		If    any                `json:"if,omitzero"`
		St    struct{ N int }    `json:"st,omitzero"`
		Bytes []byte             `json:"bytes,omitzero"`
		Even  evenZero           `json:"even,omitzero"`
		PEven *evenZero          `json:"peven,omitzero"`
		Neg   negZero            `json:"neg,omitzero"`
		IZ    isZeroer           `json:"iz,omitzero"`
		Both  string             `json:"both,omitempty,omitzero"`
		MP    map[string]*int    `json:"mp,omitzero"`
		Arr   [1]struct{ S any } `json:"arr,omitzero"`
	}

	// A ",string" field sends the struct to the slow path.
	quotedField struct {
		N int    `json:"n,string"`
		S string `json:"s"`
	}
	quotedIgnored struct {
		//lint:ignore SA5008 a tag encoding/json accepts as it is; the test checks that the decoder reads it the same way
		M map[string]int `json:"m,string"`
	}

	tree struct {
		Name string  `json:"name"`
		Kids []*tree `json:"kids,omitempty"`
	}
	recMap map[string]recMap
	recAny struct {
		V any `json:"v"`
	}
	// mutualT has a func field; mutualU reaches it only through mutualT,
	// so neither may take the fast path.
	mutualT struct {
		U *mutualU
		F func()
	}
	mutualU struct{ T *mutualT }

	myString string
	myInt    int16
	myFloat  float64
	myByte   uint8
	myBytes  []byte
	myBool   bool

	named struct {
		S  myString
		I  myInt
		F  myFloat
		B  myBool
		BS []myByte
		MB myBytes
		AB [3]myByte
		MS map[myString]myInt
	}
)

// unicodeNames has exported Go field names (Lu letters) whose UTF-16
// order differs from their UTF-8 order.
type unicodeNames struct {
	Ａ int // U+FF21
	𐐀 int // U+10400
	Z int
	É int
}

// selfPointer is a pointer cycle without any container.
type selfPointer *selfPointer

// evenZero is zero for omitzero when even (a value-receiver IsZero).
type evenZero int

func (e evenZero) IsZero() bool { return e%2 == 0 }

// negZero is zero for omitzero when negative (a pointer-receiver IsZero).
type negZero struct{ N int }

func (n *negZero) IsZero() bool { return n.N < 0 }

// Types that must take the slow path.
type (
	valueMarshaler   struct{ N int }
	pointerMarshaler struct{ N int }
	valueText        struct{ N int }
	pointerText      struct{ N int }
	textStringKey    string
	withTime         struct{ T time.Time }
	embedsTime       struct {
		time.Time
		N int
	}
	holdsPointerMarshaler struct {
		P pointerMarshaler
		Q *pointerMarshaler
	}
	withFloat32 struct{ F float32 }
	withFunc    struct {
		F func() `json:"f,omitempty"`
	}
	withChanZero struct {
		C chan int `json:"c,omitzero"`
	}
	withNumber struct{ N json.Number }
)

func (v valueMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(`{"z":1,"a":` + string(rune('0'+v.N%10)) + `}`), nil
}

func (p *pointerMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }
func (v valueText) MarshalText() ([]byte, error)         { return []byte("text<&>\u2028"), nil }
func (p *pointerText) MarshalText() ([]byte, error)      { return []byte("ptext"), nil }
func (k textStringKey) MarshalText() ([]byte, error)     { return []byte("T" + string(k)), nil }

func intPtr(n int) *int { return &n }

// tenth and fifth are variables so that their sum is computed in float64,
// not folded exactly to 0.3 as constants.
var tenth, fifth = 0.1, 0.2

// fastCases returns the differential table: value, and whether the fast
// path must take it ("fast"), must leave it ("slow"), or either.
func fastCases() []struct {
	name string
	v    any
	path string
} {
	allControls := func() string {
		var b strings.Builder
		for c := range 0x20 {
			b.WriteByte(byte(c))
		}
		return b.String() + "\x7f\"\\/<>&\u2028\u2029\u00e9\uFFFD\U0001F600"
	}()
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	negZeroF := math.Copysign(0, -1)
	pi := intPtr(7)
	zero := intPtr(0)
	ev := evenZero(3)
	evZero := evenZero(4)
	loop := &tree{Name: "loop"}
	loop.Kids = []*tree{loop}
	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	selfSlice := []any{nil}
	selfSlice[0] = selfSlice
	deep := any("leaf")
	for range fastMaxDepth + 5 {
		deep = []any{deep}
	}
	deepMap := any(1)
	for range 300 {
		deepMap = map[string]any{"a": deepMap}
	}
	mt := &mutualT{}
	mt.U = &mutualU{T: mt}

	type tc = struct {
		name string
		v    any
		path string
	}
	cases := []tc{
		// Scalars.
		{"nil", nil, "fast"},
		{"true", true, "fast"},
		{"false", false, "fast"},
		{"int 0", 0, "fast"},
		{"int -1", -1, "fast"},
		{"int8 min", int8(math.MinInt8), "fast"},
		{"int16 max", int16(math.MaxInt16), "fast"},
		{"int32 min", int32(math.MinInt32), "fast"},
		{"int64 max", int64(math.MaxInt64), "fast"},
		{"int64 min", int64(math.MinInt64), "fast"},
		{"2^53+1", int64(1<<53 + 1), "fast"},
		{"-(2^53+1)", -int64(1<<53 + 1), "fast"},
		{"2^60", int64(1 << 60), "fast"},
		{"10^18", int64(1e18), "fast"},
		{"uint8 max", uint8(math.MaxUint8), "fast"},
		{"uint64 max", uint64(math.MaxUint64), "fast"},
		{"2^63", uint64(1 << 63), "fast"},
		{"uintptr", uintptr(12345), "fast"},
		{"float 0", 0.0, "fast"},
		{"float -0", negZeroF, "fast"},
		{"float 1", 1.0, "fast"},
		{"float 1e20", 1e20, "fast"},
		{"float 1e21", 1e21, "fast"},
		{"float 123456789e13", 123456789e13, "fast"},
		{"float 999999999999999900000", 999999999999999900000.0, "fast"},
		{"float 1e-6", 1e-6, "fast"},
		{"float 1e-7", 1e-7, "fast"},
		{"float 5e-324", 5e-324, "fast"},
		{"float -5e-324", -5e-324, "fast"},
		{"float max", math.MaxFloat64, "fast"},
		{"float smallest normal", 0x1p-1022, "fast"},
		{"float 0.1+0.2", tenth + fifth, "fast"},
		{"float 0.19", 0.19, "fast"},
		{"float 12.5", 12.5, "fast"},
		{"float -1.5e300", -1.5e300, "fast"},
		{"float 2^53+1", float64(1<<53 + 1), "fast"},
		{"float 2^60", float64(1 << 60), "fast"},
		{"float 2^70", float64(1 << 70), "fast"},
		{"float 333333333.3333333", 1e9 / 3, "fast"},
		{"float 123456789012345.6", 123456789012345.6, "fast"},
		{"float 0.000001234", 0.000001234, "fast"},
		{"float 1e300*1e8", 1.7e308, "fast"},
		{"NaN", math.NaN(), "slow"},
		{"+Inf", math.Inf(1), "slow"},
		{"-Inf in slice", []float64{1, math.Inf(-1)}, "slow"},
		{"NaN in map", map[string]float64{"a": math.NaN()}, "slow"},
		{"float32", float32(0.1), "slow"},
		{"float32 in any slice", []any{1, float32(2.5)}, "slow"},
		{"complex", complex(1, 2), "slow"},
		{"func", func() {}, "slow"},
		{"chan", make(chan int), "slow"},

		// Strings.
		{"empty string", "", "fast"},
		{"ascii", "hello, world", "fast"},
		{"controls", allControls, "fast"},
		{"html", "<script>&amp;</script>", "fast"},
		{"separators", "\u2028\u2029", "fast"},
		{"U+FFFD", "\uFFFD", "fast"},
		{"non-BMP", "\U0001F600\U0010FFFF", "fast"},
		{"escaped \\ufffd text", `\ufffd`, "fast"},
		{"invalid UTF-8", "a\xffb", "slow"},
		{"surrogate in UTF-8", "\xed\xa0\x80", "slow"},
		{"truncated rune", "\xe2\x82", "slow"},
		{"overlong", "\xc0\xaf", "slow"},
		{"invalid in nested", map[string]any{"a": []any{"ok", "bad\x80"}}, "slow"},
		{"invalid but omitted", struct {
			S string `json:"s,omitempty"`
			T string `json:"-"`
		}{T: "\xff"}, "fast"},
		{"json.Number", json.Number("1E30"), "slow"},
		{"json.Number in struct", withNumber{N: "12.50"}, "slow"},
		{"json.RawMessage", json.RawMessage(`{"b":1,"a":2}`), "slow"},
		{"named string", myString("x\ny"), "fast"},

		// Bytes.
		{"bytes nil", []byte(nil), "fast"},
		{"bytes empty", []byte{}, "fast"},
		{"bytes all", allBytes, "fast"},
		{"bytes odd length", []byte("ab"), "fast"},
		{"byte array", [4]byte{1, 2, 3, 255}, "fast"},
		{"named bytes", named{BS: []myByte{1, 2}, MB: myBytes("hi"), AB: [3]myByte{9, 8, 7}}, "fast"},
		{"bytes in any", []any{[]byte("xyz"), []byte(nil)}, "fast"},

		// Pointers and interfaces.
		{"nil pointer", (*int)(nil), "fast"},
		{"pointer", pi, "fast"},
		{"pointer to pointer", &pi, "fast"},
		{"nil pointer to pointer", (**int)(nil), "fast"},
		{"nil any in slice", []any{nil}, "fast"},
		{"pointer to any", func() *any { var a any = "x"; return &a }(), "fast"},
		{"error interface", struct{ E error }{errors.New("boom")}, "fast"},
		{"nil error interface", struct{ E error }{}, "fast"},

		// Slices and arrays.
		{"nil slice", []int(nil), "fast"},
		{"empty slice", []string{}, "fast"},
		{"int slice", []int{3, -1, 2}, "fast"},
		{"array", [3]string{"a", "", "c"}, "fast"},
		{"empty array", [0]int{}, "fast"},
		{"nested slices", [][]any{{1, "a"}, nil, {}}, "fast"},
		{"slice of structs", []embA{{X: 1}, {Y: "y"}}, "fast"},

		// Maps.
		{"nil map", map[string]int(nil), "fast"},
		{"empty map", map[string]int{}, "fast"},
		{"utf16 keys", map[string]int{
			"\U0001F600": 1, "\uFFFD": 2, "é": 3, "\ue000": 4, "a": 5, "": 6, "\x7f": 7,
			"\u2028": 8, "\U00010000": 9, "\uffff": 10, "\ud7ff": 11, "A": 12, "aa": 13,
		}, "fast"},
		{"escaped keys", map[string]string{"\n": "nl", "\"": "q", "\\": "bs", "\x00": "nul", "a": "a", "\x1f": "us"}, "fast"},
		{"keys sharing prefixes", map[string]int{"é\U0001F600": 1, "é\ue000": 2, "é": 3, "éa": 4}, "fast"},
		// map[string]string has an encoder of its own (encodeStringMap).
		{"string map, nil", map[string]string(nil), "fast"},
		{"string map, empty", map[string]string{}, "fast"},
		{"string map, utf16 keys", map[string]string{
			"\U0001F600": "1", "\uFFFD": "2", "é": "3", "\ue000": "4", "a": "5", "": "6", "\x7f": "7",
			"\u2028": "8", "\U00010000": "9", "\uffff": "10", "\ud7ff": "11", "é\U0001F600": "12", "é\ue000": "13",
		}, "fast"},
		{"string map, escaped values", map[string]string{"a": "\n\"\\\x00\u2028<>&", "b": "é\U0001F600"}, "fast"},
		{"string map, invalid key", map[string]string{"ok": "1", "a\xff": "2"}, "slow"},
		{"string map, invalid value", map[string]string{"ok": "1", "a": "b\xff"}, "slow"},
		{"string map in a struct", struct {
			M map[string]string `json:"m"`
			N map[string]string `json:"n,omitempty"`
		}{M: map[string]string{"order_id": "1", "channel": "web"}}, "fast"},
		{"named string map", map[myString]string{"b": "1", "a": "2"}, "fast"},
		{"invalid key", map[string]int{"ok": 1, "a\xff": 2}, "slow"},
		{"int keys", map[int]string{-10: "a", 2: "b", 10: "c", 0: "d", math.MinInt: "min", math.MaxInt: "max"}, "fast"},
		{"int8 keys", map[int8]bool{-128: true, 127: false}, "fast"},
		{"uint keys", map[uint64]int{math.MaxUint64: 1, 0: 2, 9: 3, 10: 4}, "fast"},
		{"uintptr keys", map[uintptr]int{1: 1, 20: 2}, "fast"},
		{"named keys", map[myString]myInt{"b": 1, "a": 2}, "fast"},
		{"named int keys", map[myInt]int{3: 1, -3: 2}, "fast"},
		{"float keys", map[float64]int{1.5: 1}, "slow"},
		{"bool keys", map[bool]int{true: 1}, "slow"},
		{"text keys", map[textStringKey]int{"b": 1, "a": 2}, "slow"},
		{"text struct keys", map[valueText]int{{1}: 1}, "slow"},
		{"map of any", map[string]any{
			"s": "x", "i": 1, "f": 1.5, "b": true, "n": nil, "m": map[string]any{"z": 1, "y": []any{}},
			"l": []any{1, "a", nil, map[string]any{}}, "p": pi, "e": embA{X: 1},
		}, "fast"},
		{"map of pointers", map[string]*int{"a": nil, "b": zero, "c": pi}, "fast"},
		{"map of structs", map[string]embConflict{"k": {W: 1}}, "fast"},
		{"map of maps", map[string]map[string]int{"b": {"y": 1, "x": 2}, "a": nil, "c": {}}, "fast"},
		{"map of bytes", map[string][]byte{"a": []byte("hi"), "b": nil}, "fast"},
		{"recursive map", recMap{"b": {"d": nil, "c": {}}, "a": nil}, "fast"},
		{"many keys", func() map[string]int {
			m := map[string]int{}
			for i := range 200 {
				m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune(0x4e00+i))] = i
			}
			return m
		}(), "fast"},

		// Structs.
		{"embedded conflict", embConflict{embA{1, "ay", 2, "aa"}, embB{3, "by", 4}, 5}, "fast"},
		{"embedded shadow", embShadow{embA{X: 1}, "x"}, "fast"},
		{"embedded pointer nil", embPointer{V: "v"}, "fast"},
		{"embedded pointer set", embPointer{embA: &embA{X: 1, Y: "y"}, V: "v"}, "fast"},
		{"embedded deep pointer nil", embDeepPointer{}, "fast"},
		{"embedded deep pointer set", embDeepPointer{embDeep: &embDeep{embA{A: "a"}}}, "fast"},
		{"embedded unexported", embHidden{embLower: embLower{1, 2}, embHiddenPtr: &embHiddenPtr{"t"}, S: "s"}, "fast"},
		{"embedded unexported nil", embHidden{S: "s"}, "fast"},
		{"embedded tagged", embTagged{embA{X: 1}, 2}, "fast"},
		{"embedded twice", embTwice{}, "fast"},
		{"pointer to struct", &embConflict{W: 9}, "fast"},
		{"tag names", tagNames{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "fast"},
		{"invalid tag name quote", badTagQuote{1}, "slow"},
		{"invalid tag name symbol", badTagSymbol{1}, "slow"},
		{"invalid tag name private use", badTagPrivate{1}, "slow"},
		{"omitempty zero", omitEmptyAll{}, "fast"},
		{"omitempty set", omitEmptyAll{
			B: true, I: -1, I8: 1, I16: 1, I32: 1, I64: 1, U: 1, U8: 1, U16: 1, U32: 1, U64: 1, UP: 1,
			F: 0.5, S: "s", P: zero, M: map[string]int{"a": 0}, Sl: []int{0}, A: [2]int{}, A0: [0]int{},
			If: 0, Bytes: []byte{0},
		}, "fast"},
		{"omitempty empty non-nil", omitEmptyAll{M: map[string]int{}, Sl: []int{}, Bytes: []byte{}, If: ""}, "fast"},
		{"omitempty -0", omitEmptyAll{F: negZeroF}, "fast"},
		{"omitzero zero", omitZeroAll{}, "fast"},
		{"omitzero set", omitZeroAll{
			B: true, I: 1, U64: 1, F: 1, S: "s", P: zero, M: map[string]int{}, Sl: []int{}, A: [2]int{0, 1},
			If: 0, St: struct{ N int }{1}, Bytes: []byte{}, Even: 3, PEven: &ev, Neg: negZero{0},
			IZ: evenZero(1), Both: "b", MP: map[string]*int{"x": nil}, Arr: [1]struct{ S any }{{S: ""}},
		}, "fast"},
		{"omitzero methods say zero", omitZeroAll{Even: 2, PEven: &evZero, Neg: negZero{-1}, IZ: evenZero(2)}, "fast"},
		{"omitzero pointer method addressable", &omitZeroAll{Neg: negZero{-1}}, "fast"},
		{"omitzero nil pointer in interface", omitZeroAll{IZ: (*negZero)(nil)}, "fast"},
		{"omitzero -0", omitZeroAll{F: negZeroF}, "fast"},
		{"quoted field", quotedField{N: 5, S: "s"}, "slow"},
		{"quoted ignored", quotedIgnored{}, "slow"},
		// Options encoding/json v1 ignores but GOEXPERIMENT=jsonv2 acts on.
		{"inline option", struct {
			D int `json:"d,inline"`
		}{4}, "slow"},
		{"unknown option", struct {
			D int `json:"d,unknown"`
		}{4}, "slow"},
		{"format option", struct {
			D []byte `json:"d,format:hex"`
		}{[]byte{1}}, "slow"},
		{"option on an embedded struct", struct {
			embA `json:"a,inline"`
		}{embA{X: 1}}, "slow"},
		{"omit options only", struct {
			D int `json:"d,omitempty,omitzero"`
			E int `json:",omitzero"`
		}{1, 2}, "fast"},
		{"unexported only", struct{ a, b int }{1, 2}, "fast"},
		{"empty struct", struct{}{}, "fast"},
		{"anonymous struct", struct {
			B string `json:"b"`
			A int    `json:"a"`
		}{"x", 1}, "fast"},
		{"tree", &tree{Name: "root", Kids: []*tree{{Name: "a"}, {Name: "b", Kids: []*tree{{Name: "c"}}}}}, "fast"},
		{"rec any", recAny{V: recAny{V: []any{recAny{}}}}, "fast"},
		{"unicode field names", unicodeNames{1, 2, 3, 4}, "fast"},
		{"omitempty any holding nil pointer", omitEmptyAll{If: (*int)(nil)}, "fast"},
		{"omitzero in map value", map[string]omitZeroAll{"a": {Neg: negZero{-1}, Even: 2}, "b": {Neg: negZero{1}}}, "fast"},
		{"json.Marshaler field", struct{ M json.Marshaler }{}, "slow"},
		{"named kinds", named{S: "s", I: -3, F: 2.5, B: true, MS: map[myString]myInt{"k": 1}}, "fast"},
		{"struct in any", map[string]any{"v": struct{ Z, A int }{1, 2}}, "fast"},
		{"interface holding pointer", []any{&embA{X: 1}, (*embA)(nil)}, "fast"},

		// Types with methods or unsupported parts.
		{"value MarshalJSON", valueMarshaler{3}, "slow"},
		{"value MarshalJSON in map", map[string]any{"a": valueMarshaler{1}, "b": 2}, "slow"},
		{"pointer MarshalJSON addressable", &holdsPointerMarshaler{}, "slow"},
		{"pointer MarshalJSON unaddressable", holdsPointerMarshaler{}, "slow"},
		{"pointer MarshalJSON in slice", []pointerMarshaler{{1}}, "slow"},
		{"value MarshalText", valueText{1}, "slow"},
		{"pointer MarshalText", []pointerText{{1}}, "slow"},
		{"pointer MarshalText unaddressable", pointerText{1}, "slow"},
		{"text string", textStringKey("x"), "slow"},
		{"time", time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), "slow"},
		{"time in struct", withTime{}, "slow"},
		{"embedded time", embedsTime{N: 1}, "slow"},
		{"big.Int", big.NewInt(12345), "slow"},
		{"big.Int value", *big.NewInt(-5), "slow"},
		{"big.Float", big.NewFloat(1.5), "slow"},
		{"float32 field", withFloat32{1.1}, "slow"},
		{"func field omitted", withFunc{}, "slow"},
		{"chan field omitzero", withChanZero{}, "slow"},
		{"func in struct", struct{ F func() }{}, "slow"},
		{"mutual recursion with func", mt, "slow"},
		{"mutual recursion other half", mutualU{}, "slow"},

		// Cycles and depth.
		{"pointer cycle", loop, "slow"},
		{"map cycle", selfMap, "slow"},
		{"slice cycle", selfSlice, "slow"},
		{"deeper than the fast path", deep, "slow"},
		{"deep map", deepMap, "fast"},
	}
	return cases
}

func TestFastMatchesSlow(t *testing.T) {
	for _, tc := range fastCases() {
		fast, _ := checkFastMatchesSlow(t, tc.name, tc.v, true)
		switch {
		case tc.path == "fast" && !fast:
			t.Errorf("%s: took the slow path, want the fast path", tc.name)
		case tc.path == "slow" && fast:
			t.Errorf("%s: took the fast path, want the slow path", tc.name)
		}
		// Wrapped in an interface, inside a map and a slice, and behind a
		// pointer the value must come out the same way.
		checkFastMatchesSlow(t, tc.name+" in any", []any{tc.v}, true)
		checkFastMatchesSlow(t, tc.name+" in map", map[string]any{"v": tc.v, "\U0001F600": 1, "\ue000": 2}, true)
		checkFastMatchesSlow(t, tc.name+" by pointer", &tc.v, true)
	}
}

// TestFastOutputs pins a few fast path outputs by hand, in case both
// paths ever changed together.
func TestFastOutputs(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{int64(math.MinInt64), "-9223372036854775808"},
		{int64(math.MaxInt64), "9223372036854775807"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{int64(1<<53 + 1), "9007199254740993"},
		{int64(1 << 60), "1152921504606846976"},
		{float64(1 << 60), "1152921504606847000"},
		{math.Copysign(0, -1), "0"},
		{1e21, "1e+21"},
		{1e-7, "1e-7"},
		{5e-324, "5e-324"},
		{tenth + fifth, "0.30000000000000004"},
		{"\x00\x1f\b\t\n\f\r\"\\\x7f<>&\u2028", "\"\\u0000\\u001f\\b\\t\\n\\f\\r\\\"\\\\\x7f<>&\u2028\""},
		{[]byte("hi?"), `"aGk/"`},
		{map[string]int{"\ue000": 1, "\U0001F600": 2, "é": 3}, "{\"é\":3,\"\U0001F600\":2,\"\ue000\":1}"},
		{map[int]int{10: 1, -1: 2, 9: 3}, `{"-1":2,"10":1,"9":3}`},
		{embConflict{W: 1}, `{"W":1,"Y":"","Z":0,"y":""}`},
		{embPointer{V: "v"}, `{"v":"v"}`},
	} {
		got, ok := fastMarshal(tc.v)
		if !ok || string(got) != tc.want {
			t.Errorf("%#v: fast path = %q, %v; want %q", tc.v, got, ok, tc.want)
		}
	}
}

// TestFastPathTaken catches a regression that would silently send the
// everyday request shapes to the slow path.
func TestFastPathTaken(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[benchRequest](), reflect.TypeFor[*benchRequest](),
		reflect.TypeFor[payment](), reflect.TypeFor[map[string]any](), reflect.TypeFor[[]any](),
	} {
		if !fastEncodable(typ) {
			t.Errorf("%v: not fast-encodable", typ)
		}
	}
	for _, tc := range benchRequests() {
		if fast, _ := checkFastMatchesSlow(t, tc.name, tc.req, true); !fast {
			t.Errorf("bench request %s: took the slow path", tc.name)
		}
	}
	if fast, _ := checkFastMatchesSlow(t, "samplePayment", samplePayment(), true); !fast {
		t.Error("samplePayment: took the slow path")
	}
}

// TestFastBarePointerCycle checks that a pointer cycle without any
// container ends the fast path too. The slow path is not asked: with
// GOEXPERIMENT=jsonv2, encoding/json overflows the stack on this value.
func TestFastBarePointerCycle(t *testing.T) {
	var p selfPointer
	p = &p
	if out, ok := fastMarshal(p); ok {
		t.Errorf("fast path took a pointer cycle: %q", out)
	}
}

// TestFastRecursiveCompile checks that a type compiled as part of a
// failing type is not published as fast: mutualU is plain only if mutualT
// is, and mutualT has a func.
func TestFastRecursiveCompile(t *testing.T) {
	type innerT struct {
		U *struct{ T *innerT }
		C chan int
	}
	if fastEncodable(reflect.TypeFor[innerT]()) {
		t.Fatal("innerT is fast-encodable")
	}
	if fastEncodable(reflect.TypeFor[struct{ T *innerT }]()) {
		t.Fatal("the type reaching innerT is fast-encodable")
	}
	if !fastEncodable(reflect.TypeFor[tree]()) || !fastEncodable(reflect.TypeFor[recMap]()) {
		t.Fatal("a plain recursive type is not fast-encodable")
	}
}

// TestFastAllocations keeps the fast path free of per-call allocations
// beyond the result itself.
func TestFastAllocations(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, tc := range benchRequests() {
		if _, err := Fingerprint(tc.req); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() { _, _ = Fingerprint(tc.req) })
		if allocs > 1 {
			t.Errorf("%s: Fingerprint makes %v allocations, want at most 1 (the string)", tc.name, allocs)
		}
	}
}

// Types compiled for the first time by TestFastConcurrentCompile.
type (
	concA struct {
		M map[string]concB `json:"m"`
		V any              `json:"v"`
	}
	concB struct {
		L []*concA `json:"l,omitempty"`
		S string   `json:"s"`
	}
	concC struct{ N uint16 }
)

// TestFastConcurrentCompile has several goroutines compile the same new
// types at once, including one reached only through an interface, for the
// race detector to watch.
func TestFastConcurrentCompile(t *testing.T) {
	v := concA{
		M: map[string]concB{"b": {S: "x", L: []*concA{{V: concC{7}}}}, "a": {}},
		V: []any{concC{1}, map[string]any{"c": concC{2}}},
	}
	want, err := slowMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if got, err := Marshal(v); err != nil || !bytes.Equal(got, want) {
					t.Errorf("got %s, %v; want %s", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if !fastEncodable(reflect.TypeFor[concA]()) || !fastEncodable(reflect.TypeFor[concC]()) {
		t.Error("concA or concC is not fast-encodable")
	}
}
