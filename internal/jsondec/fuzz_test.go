package jsondec

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// fuzzFlat has a field of every scalar kind the fast path supports.
type fuzzFlat struct {
	Bool    bool    `json:"bool"`
	Str     string  `json:"str"`
	Int     int     `json:"int"`
	Int8    int8    `json:"int8"`
	Int16   int16   `json:"int16"`
	Int32   int32   `json:"int32"`
	Int64   int64   `json:"int64"`
	Uint    uint    `json:"uint"`
	Uint8   uint8   `json:"uint8"`
	Uint16  uint16  `json:"uint16"`
	Uint32  uint32  `json:"uint32"`
	Uint64  uint64  `json:"uint64"`
	Uintptr uintptr `json:"uintptr,omitempty"`
	F32     float32 `json:"f32"`
	F64     float64 `json:"f64"`
	Named   nString `json:"named,omitempty"`
	Untag   int
}

// fuzzNested has every composite the fast path supports.
type fuzzNested struct {
	Name   string               `json:"name"`
	Tags   []string             `json:"tags"`
	Meta   map[string]string    `json:"meta,omitempty"`
	Flat   *fuzzFlat            `json:"flat,omitempty"`
	Items  []lineItem           `json:"items"`
	ByKey  map[nString]*address `json:"by_key,omitempty"`
	When   time.Time            `json:"when"`
	WhenP  *time.Time           `json:"when_p,omitempty"`
	Blob   []byte               `json:"blob"`
	Ptr    *int64               `json:"ptr"`
	Groups map[string][]int     `json:"groups,omitempty"`
	Self   *fuzzNested          `json:"self,omitempty"`
}

// fuzzTypes are the types every fuzz input is decoded into.
var fuzzTypes = []reflect.Type{
	reflect.TypeFor[fuzzFlat](),
	reflect.TypeFor[fuzzNested](),
	reflect.TypeFor[[]map[string]int](),
	reflect.TypeFor[*string](),
}

// FuzzMatchesEncodingJSON checks Unmarshal and fast against encoding/json
// on arbitrary input, decoded into each of fuzzTypes. Arbitrary bytes
// rarely make a document the fast path accepts, so each input also seeds
// values whose Marshal output is decoded too: that output is what the fast
// path is for, and it carries the input's bytes as strings, keys, base64,
// numbers and times.
func FuzzMatchesEncodingJSON(f *testing.F) {
	ts := sampleUTC.Add(123456789).In(time.FixedZone("", -(3*3600 + 30*60)))
	seeds := []any{
		fuzzFlat{}, fuzzFlat{Bool: true, Str: "s<&>\u2028\"\\\n\x01é😀", Int: -1, Int8: math.MinInt8, Int16: math.MaxInt16,
			Int32: math.MinInt32, Int64: math.MaxInt64, Uint: math.MaxUint, Uint8: 255, Uint16: 1, Uint32: math.MaxUint32,
			Uint64: math.MaxUint64, Uintptr: 7, F32: math.MaxFloat32, F64: 5e-324, Named: "n", Untag: 1},
		fuzzNested{}, fuzzNested{
			Name: "n", Tags: []string{"a", ""}, Meta: map[string]string{"k": "v", "": "\xff"},
			Flat:  &fuzzFlat{F64: math.Copysign(0, -1), F32: 1e-7},
			Items: []lineItem{{SKU: "s", Quantity: 2, Price: 1e21}}, ByKey: map[nString]*address{"a": {City: "c"}, "nil": nil},
			When: ts, WhenP: &ts, Blob: []byte{0, 0xff}, Ptr: ptr(int64(-5)), Groups: map[string][]int{"e": {}, "n": nil},
			Self: &fuzzNested{Tags: []string{}, Blob: []byte{}},
		},
		[]map[string]int{{"a": 1}, nil, {}}, ptr("s"), sampleResponse(), sampleOrder(),
	}
	for _, s := range seeds {
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	for _, s := range []string{
		``, `null`, `"s"`, `"\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `[{"a":1},{"a":1,"a":2}]`, `[{"a":1.0}]`,
		`{"bool":true,"BOOL":false}`, `{"str":"a","str":"b"}`, `{"int8":128}`, `{"uint":-1}`, `{"f32":3.5e38}`,
		`{"f64":-0}`, `{"when":"2024-06-10T12:34:56+00:00"}`, `{"blob":"aGk"}`, `{"blob":"aGVs\nbG8="}`,
		`{"name":"n"} `, ` {"name":"n"}`, `{"self":{"self":{"self":null}}}`, `{"int":1e3}`, `{"Untag":1,"untag":2}`,
		`{"tags":["a"],"tags":null}`, `{"by_key":{"a":{"city":"x"},"a":null}}`, `{"\u006eame":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range fuzzTypes {
			checkMatches(t, nil, typ, data)
		}
		for _, v := range valuesFrom(data) {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("json.Marshal(%#v): %v", v, err)
			}
			checkMatches(t, nil, reflect.TypeOf(v), b)
			// Also into the other types: the same keys, other shapes.
			for _, typ := range fuzzTypes {
				checkMatches(t, nil, typ, b)
			}
		}
	})
}

// valuesFrom builds values of the fuzz types from arbitrary bytes: as
// strings (valid UTF-8 or not), map keys, base64, integers of every size,
// floats from their bits (but not NaN or ±Inf, which Marshal refuses) and
// times within the years Marshal accepts.
func valuesFrom(data []byte) []any {
	var word [8]byte
	copy(word[:], data)
	u := binary.LittleEndian.Uint64(word[:])
	f64 := math.Float64frombits(u)
	if math.IsNaN(f64) || math.IsInf(f64, 0) {
		f64 = float64(int64(u))
	}
	f32 := math.Float32frombits(uint32(u >> 16))
	if math.IsNaN(float64(f32)) || math.IsInf(float64(f32), 0) {
		f32 = float32(int32(u))
	}
	s := string(data)
	half := string(data[len(data)/2:])
	flat := fuzzFlat{
		Bool: u&1 == 1, Str: s, Int: int(u), Int8: int8(u), Int16: int16(u), Int32: int32(u), Int64: int64(u),
		Uint: uint(u), Uint8: uint8(u), Uint16: uint16(u), Uint32: uint32(u), Uint64: u, Uintptr: uintptr(u >> 3),
		F32: f32, F64: f64, Named: nString(half), Untag: -int(u >> 1),
	}
	// Seconds from year 1 to year 9999 (a day in, so that no zone offset
	// takes the year out of what Marshal accepts), nanoseconds, a zone
	// offset within ±18h including odd minutes.
	const minSec, maxSec = -62135596800 + 86400, 253402300799 - 86400
	sec := minSec + int64(u%uint64(maxSec-minSec+1))
	nsec := int64(u>>7) % 1e9
	offset := (int(int16(u>>40)) % (18 * 60)) * 60
	tm := time.Unix(sec, nsec).In(time.FixedZone("", offset))
	if u&2 == 0 {
		tm = tm.UTC()
	}
	n := int64(u >> 3)
	nested := fuzzNested{
		Name: half, Tags: []string{s, half}, Meta: map[string]string{s: half, half: s},
		Flat: &flat, Items: []lineItem{{SKU: half, Quantity: int(int32(u)), Price: f64}},
		ByKey: map[nString]*address{nString(s): {Line1: s, Line2: half, City: half}},
		When:  tm, WhenP: &tm, Blob: data, Ptr: &n, Groups: map[string][]int{half: {int(u), -1}},
		Self: &fuzzNested{Name: s, Tags: []string{}, Blob: []byte{}},
	}
	return []any{flat, nested, []map[string]int{{s: int(u)}, {half: 0}}, &s}
}
