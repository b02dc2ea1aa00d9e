package jsondec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The contract under test: Unmarshal(data, v) leaves *v and returns an
// error exactly as json.Unmarshal(data, v) would, for a v pointing at a zero
// value; fast either decodes exactly as json.Unmarshal would (and only input
// json.Unmarshal accepts) or reports false and leaves *v zero.

// ---------------------------------------------------------------------------
// Types the fast path is meant to handle.

type response struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Created  int64  `json:"created"`
}

// scalars has one field of every scalar kind the fast path supports.
type scalars struct {
	Bool    bool    `json:"bool"`
	String  string  `json:"string"`
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
	Uintptr uintptr `json:"uintptr"`
	Float32 float32 `json:"float32"`
	Float64 float64 `json:"float64"`
	Bytes   []byte  `json:"bytes"`
}

// untagged has keys that are the Go field names, one of them non-ASCII so
// that case folding beyond ASCII matters.
type untagged struct {
	Name  string
	Count int
	OK    bool
	Ñame  string
}

type address struct {
	Line1   string `json:"line1"`
	Line2   string `json:"line2,omitempty"`
	City    string `json:"city"`
	Country string `json:"country"`
}

type customer struct {
	ID    string `json:"id"`
	Email string `json:"email,omitempty"`
}

type lineItem struct {
	SKU      string  `json:"sku"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
}

// order nests every composite kind the fast path supports.
type order struct {
	ID        string               `json:"id"`
	Customer  *customer            `json:"customer"`
	Shipping  address              `json:"shipping"`
	Billing   *address             `json:"billing,omitempty"`
	Items     []lineItem           `json:"items"`
	ItemPtrs  []*lineItem          `json:"item_ptrs,omitempty"`
	Tags      []string             `json:"tags"`
	Metadata  map[string]string    `json:"metadata"`
	Counts    map[nString]int      `json:"counts,omitempty"`
	Groups    map[string][]int     `json:"groups,omitempty"`
	ByKey     map[string]*lineItem `json:"by_key,omitempty"`
	Matrix    [][]float64          `json:"matrix,omitempty"`
	Created   time.Time            `json:"created"`
	Updated   *time.Time           `json:"updated,omitempty"`
	Signature []byte               `json:"signature"`
	Note      *string              `json:"note"`
	NotePtr   **string             `json:"note_ptr,omitempty"`
	Paid      bool                 `json:"paid"`
	Hidden    string               `json:"-"`
	//lint:ignore SA5008 a tag encoding/json accepts as it is; the test checks that the decoder reads it the same way
	Dash   string `json:"-,"`
	secret string
}

// omitting has omitempty and omitzero fields of every kind, so that Marshal
// output with and without them is covered.
type omitting struct {
	A    string         `json:"a,omitempty"`
	B    int            `json:"b,omitempty"`
	C    bool           `json:"c,omitempty"`
	D    float64        `json:"d,omitempty"`
	E    []int          `json:"e,omitempty"`
	F    map[string]int `json:"f,omitempty"`
	G    *int           `json:"g,omitempty"`
	H    []byte         `json:"h,omitempty"`
	I    uint8          `json:"i,omitempty"`
	Z1   int            `json:"z1,omitzero"`
	Z2   time.Time      `json:"z2,omitzero"`
	Z3   address        `json:"z3,omitzero"`
	Z4   []string       `json:"z4,omitzero"`
	Z5   *address       `json:",omitempty"`
	Keep string         `json:"keep"`
}

type (
	nBool   bool
	nString string
	nInt    int16
	nUint   uint32
	nFloat  float32
	nBytes  []byte
	nByte   byte
	nInts   []nInt
	nMap    map[nString]nInt
	nPtr    *nString
	nStruct response
)

// named has a field of a named type of every supported kind.
type named struct {
	B  nBool   `json:"b"`
	S  nString `json:"s"`
	I  nInt    `json:"i"`
	U  nUint   `json:"u"`
	F  nFloat  `json:"f"`
	Bs nBytes  `json:"bs"`
	Mb []nByte `json:"mb"`
	Is nInts   `json:"is"`
	M  nMap    `json:"m"`
	P  nPtr    `json:"p"`
	St nStruct `json:"st"`
}

// oddNames has keys Marshal escapes, non-ASCII keys, keys that differ only
// in case, keys that case-fold from non-ASCII letters (U+212A KELVIN SIGN
// folds to k, U+017F LONG S to s) and tags json ignores.
type oddNames struct {
	LT    string `json:"a<b"`
	Amp   int    `json:"&"`
	Space bool   `json:"with space"`
	Uni   string `json:"日本"`
	Lower int    `json:"a"`
	Upper int    `json:"A"`
	K     int    `json:"k"`
	S     int    `json:"s"`
	//lint:ignore SA5008 a tag encoding/json accepts as it is; the test checks that the decoder reads it the same way
	Bad   int `json:"bad\\name"`
	Empty int `json:""`
}

// recNode and recSlice nest as deep as their input.
type recNode struct {
	V int      `json:"v"`
	N *recNode `json:"n,omitempty"`
}

type recSlice []recSlice

// recAnyA and recAnyB refer to each other, and recAnyA has a field only
// encoding/json can decode, found after recAnyB was built against the
// unfinished recAnyA: neither may end up half on the fast path.
type recAnyA struct {
	B *recAnyB `json:"b"`
	X any      `json:"x"`
}

type recAnyB struct {
	A *recAnyA `json:"a"`
	N int      `json:"n"`
}

// ---------------------------------------------------------------------------
// Types the fast path must leave to encoding/json.

type withAny struct {
	ID   string `json:"id"`
	Data any    `json:"data"`
}

type withStringer struct {
	S fmt.Stringer `json:"s"`
}

type withArray struct {
	A [3]int    `json:"a"`
	B [2]string `json:"b"`
	C [4]byte   `json:"c"`
}

type embedded struct {
	address
	Extra int `json:"extra"`
}

type embeddedPtr struct {
	*address
	Extra int `json:"extra"`
}

type embeddedTagged struct {
	address `json:"addr"`
	Extra   int `json:"extra"`
}

// embeddedShadow's own City hides the embedded one.
type embeddedShadow struct {
	address
	City string `json:"city"`
}

type hidden struct{ A int }

// embeddedUnexportedPtr cannot be decoded into when A is present:
// encoding/json fails rather than allocate the unexported pointer.
type embeddedUnexportedPtr struct {
	*hidden
	X int
}

// embeddedTime promotes time.Time's UnmarshalJSON, so encoding/json decodes
// the whole object as a time.
type embeddedTime struct {
	time.Time
	Note string
}

type stringOpts struct {
	I int64   `json:"i,string"`
	U uint8   `json:"u,string"`
	F float64 `json:"f,string"`
	B bool    `json:"b,string"`
	S string  `json:"s,string"`
	P *int    `json:"p,string"`
}

// customJSON shows what it was given, so a decoder that skips the method
// produces a different value.
type customJSON struct{ Raw string }

func (c *customJSON) UnmarshalJSON(b []byte) error { c.Raw = "got:" + string(b); return nil }

// valueJSON's method has a value receiver, so decoding into it changes
// nothing, yet encoding/json still calls it.
type valueJSON int

func (valueJSON) UnmarshalJSON([]byte) error { return nil }

type failingJSON struct{ A int }

func (*failingJSON) UnmarshalJSON([]byte) error { return errors.New("failingJSON: refused") }

type upperText string

func (u *upperText) UnmarshalText(b []byte) error {
	*u = upperText(strings.ToUpper(string(b)))
	return nil
}

type valueText string

func (valueText) UnmarshalText([]byte) error { return nil }

// failingText is a struct, so encoding/json rejects anything but strings
// for it, and the method fails for those.
type failingText struct{ A int }

func (*failingText) UnmarshalText([]byte) error { return errors.New("failingText: refused") }

// marshalOnly has MarshalJSON but not UnmarshalJSON: encoding/json decodes
// it as a plain struct.
type marshalOnly struct{ A int }

func (m marshalOnly) MarshalJSON() ([]byte, error) { return []byte(`{"B":1}`), nil }

// nTimePtr is a named pointer to time.Time. A named pointer type has no
// methods, and encoding/json looks for UnmarshalJSON only on the pointers
// it walks through, never on the address of what the last one points to:
// so it decodes the time.Time behind it as a plain struct and rejects the
// very string Marshal writes for it (Marshal does find MarshalJSON).
type nTimePtr *time.Time

type (
	nTime      time.Time // has none of time.Time's methods
	nNumber    json.Number
	withFunc   struct{ F func() }
	withChan   struct{ C chan int }
	withCplx   struct{ C complex128 }
	withNumber struct {
		N json.Number  `json:"n"`
		P *json.Number `json:"p"`
	}
	withRaw struct {
		R json.RawMessage  `json:"r"`
		P *json.RawMessage `json:"p"`
	}
)

// dupNames has two fields with the JSON name "x", which Marshal and
// Unmarshal both drop. It is built with reflect so that go vet does not
// flag the duplicate tag, which is the point here.
var dupNames = reflect.StructOf([]reflect.StructField{
	{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
	{Name: "C", Type: reflect.TypeFor[int](), Tag: `json:"y"`},
})

// ---------------------------------------------------------------------------
// The differential check.

// fastStats counts how many inputs fast accepted, so tests can log whether
// the fast path was exercised at all.
type fastStats struct {
	mu             sync.Mutex
	total, decoded int
}

func (s *fastStats) add(ok bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.total++
	if ok {
		s.decoded++
	}
	s.mu.Unlock()
}

func (s *fastStats) log(t testing.TB) {
	t.Helper()
	t.Logf("fast path decoded %d of %d inputs (the rest fell back to encoding/json)", s.decoded, s.total)
}

// checkMatches decodes data into fresh zero values of typ with Unmarshal,
// with fast and with json.Unmarshal, and reports every difference: value,
// error, fast reporting false but leaving a non-zero value, fast accepting
// input encoding/json rejects, and results that alias the input (each
// decoder gets its own copy of data, overwritten after decoding).
func checkMatches(t testing.TB, stats *fastStats, typ reflect.Type, data []byte) {
	t.Helper()
	want := reflect.New(typ)
	wantErr := json.Unmarshal(data, want.Interface())

	buf := bytes.Clone(data)
	got := reflect.New(typ)
	gotErr := Unmarshal(buf, got.Interface())
	if !bytes.Equal(buf, data) {
		t.Errorf("Unmarshal into %v modified its input %s", typ, quote(data))
	}
	scribble(buf)
	if !sameErr(gotErr, wantErr) || !exactlyEqual(got, want) {
		t.Errorf("Unmarshal into %v differs from json.Unmarshal on %s\n got: %s, err %v\nwant: %s, err %v",
			typ, quote(data), show(got), gotErr, show(want), wantErr)
	}

	buf = bytes.Clone(data)
	fastGot := reflect.New(typ)
	ok := fast(buf, fastGot.Interface())
	stats.add(ok)
	scribble(buf)
	switch {
	case !ok && !fastGot.Elem().IsZero():
		t.Errorf("fast into %v reported false on %s but left *v non-zero: %s", typ, quote(data), show(fastGot))
	case ok && wantErr != nil:
		t.Errorf("fast into %v accepted %s, which json.Unmarshal rejects with %q; fast decoded %s",
			typ, quote(data), wantErr, show(fastGot))
	case ok && !exactlyEqual(fastGot, want):
		t.Errorf("fast into %v decoded %s differently\n got: %s\nwant: %s", typ, quote(data), show(fastGot), show(want))
	}
}

// scribble overwrites a decoder's input once it has returned: a result
// still pointing into it then differs from encoding/json's.
func scribble(b []byte) {
	for i := range b {
		b[i] = '#'
	}
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}

// exactlyEqual is reflect.DeepEqual, which tells nil from empty slices and
// maps as intended, made to tell -0 from 0 too: DeepEqual compares floats
// with ==, and encoding/json keeps the sign of "-0".
func exactlyEqual(a, b reflect.Value) bool {
	return reflect.DeepEqual(a.Interface(), b.Interface()) && sameFloatBits(a, b)
}

// sameFloatBits walks two values DeepEqual already found equal and compares
// their floats bit for bit.
func sameFloatBits(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameFloatBits(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		for i := range a.Len() {
			if !sameFloatBits(a.Index(i), b.Index(i)) {
				return false
			}
		}
	case reflect.Map:
		for it := a.MapRange(); it.Next(); {
			if !sameFloatBits(it.Value(), b.MapIndex(it.Key())) {
				return false
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameFloatBits(a.Field(i), b.Field(i)) {
				return false
			}
		}
	}
	return true
}

// show describes a decoded value (a pointer from reflect.New) for failure
// messages: Go syntax, and JSON, which spells out nil vs empty and -0.
func show(p reflect.Value) string {
	v := p.Elem()
	goSyntax := fmt.Sprintf("%#v", v.Interface())
	js, err := json.Marshal(v.Interface())
	if err != nil {
		js = []byte("(Marshal: " + err.Error() + ")")
	}
	return truncate(goSyntax, 600) + " = JSON " + truncate(string(js), 400)
}

func quote(b []byte) string { return truncate(strconv.Quote(string(b)), 400) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("...(%d bytes)", len(s))
}

// ---------------------------------------------------------------------------
// Building the table.

type decodeCase struct {
	name  string
	typ   reflect.Type
	input []byte
}

// inputs makes cases decoding each hand-written input into a T.
func inputs[T any](name string, in ...string) []decodeCase {
	cs := make([]decodeCase, len(in))
	for i, s := range in {
		cs[i] = decodeCase{name: name, typ: reflect.TypeFor[T](), input: []byte(s)}
	}
	return cs
}

// encodings makes cases decoding json.Marshal's encoding of each value
// back into a T.
func encodings[T any](t testing.TB, name string, vals ...T) []decodeCase {
	t.Helper()
	cs := make([]decodeCase, len(vals))
	for i, v := range vals {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: json.Marshal(%#v): %v", name, v, err)
		}
		cs[i] = decodeCase{name: name, typ: reflect.TypeFor[T](), input: b}
	}
	return cs
}

// inContexts decodes the scalar input s as a value of t at the top level,
// behind a pointer, as a struct field, as a slice element and as a map
// value, since each is a separate path in a decoder.
func inContexts(name string, t reflect.Type, s string) []decodeCase {
	field := reflect.StructOf([]reflect.StructField{
		{Name: "V", Type: t, Tag: `json:"v"`},
		{Name: "W", Type: reflect.TypeFor[int](), Tag: `json:"w"`},
	})
	return []decodeCase{
		{name + "/top", t, []byte(s)},
		{name + "/ptr", reflect.PointerTo(t), []byte(s)},
		{name + "/field", field, []byte(`{"v":` + s + `,"w":1}`)},
		{name + "/slice", reflect.SliceOf(t), []byte(`[` + s + `,` + s + `]`)},
		{name + "/map", reflect.MapOf(reflect.TypeFor[string](), t), []byte(`{"k":` + s + `}`)},
	}
}

func ptr[T any](v T) *T { return &v }

// Strings with every escape json.Marshal writes, raw non-ASCII, and invalid
// UTF-8, which Marshal turns into \ufffd.
var markedStrings = []string{
	"", "a", "plain ascii text", "<script>alert(1)</script> & co", `quote " backslash \ slash /`,
	"\b\f\n\r\t", "\x00\x01\x07\x0b\x0e\x1f", "\x7f", "\u2028\u2029", "é ß Ω 日本語", "😀🎉 \U0010ffff",
	"\ufffd", "bad \xff\xfe utf8", "\xed\xa0\x80", "cut \xe2\x82", "\xc0\x80", "\xf4\x90\x80\x80",
	strings.Repeat("long ", 200), "mixed <\"\n\u2028é😀\x01>",
}

var (
	sampleUTC   = time.Date(2024, 6, 10, 12, 34, 56, 0, time.UTC)
	sampleTimes = []time.Time{
		{},
		sampleUTC,
		sampleUTC.Add(123456789),
		sampleUTC.Add(100),
		sampleUTC.Add(time.Millisecond),
		sampleUTC.In(time.FixedZone("", 2*3600)),
		sampleUTC.Add(5).In(time.FixedZone("EST", -5*3600)),
		sampleUTC.In(time.FixedZone("", -(3*3600 + 30*60))),
		sampleUTC.In(time.FixedZone("", 5*3600+45*60)),
		sampleUTC.In(time.FixedZone("", 14*3600)),
		sampleUTC.In(time.FixedZone("", 0)),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(1718000000, 5),
	}
)

func sampleOrder() order {
	note := "leave at the door <b>&</b>"
	notePtr := &note
	updated := sampleUTC.Add(36*time.Hour + 250*time.Millisecond).In(time.FixedZone("", 3600))
	return order{
		ID:       "ord_1N2b3C4d",
		Customer: &customer{ID: "cus_9s6XKzkNRiz8i3", Email: "jane@example.com"},
		Shipping: address{Line1: "1 Main Street", Line2: "Apt \"4\"", City: "Zürich", Country: "CH"},
		Billing:  &address{Line1: "PO Box 7", City: "Bern", Country: "CH"},
		Items: []lineItem{
			{SKU: "sku-1", Quantity: 2, Price: 9.995},
			{SKU: "sku-2", Quantity: 1, Price: 0.01},
			{SKU: "sku-😀", Quantity: -3, Price: -1e21},
		},
		ItemPtrs:  []*lineItem{{SKU: "p", Quantity: 1, Price: 1e-7}, nil},
		Tags:      []string{"a", "", "b\nc"},
		Metadata:  map[string]string{"order": "A-1", "channel": "web <beta> & co", "": "empty key", "k\u2028": "v\x00"},
		Counts:    map[nString]int{"x": 1, "y": -2},
		Groups:    map[string][]int{"nil": nil, "empty": {}, "full": {1, 2, 3}},
		ByKey:     map[string]*lineItem{"none": nil, "one": {SKU: "o"}},
		Matrix:    [][]float64{{1, 2}, nil, {}, {math.Copysign(0, -1), 5e-324}},
		Created:   sampleUTC.Add(123456789),
		Updated:   &updated,
		Signature: []byte{0, 1, 2, 0xfe, 0xff, 'a'},
		Note:      &note,
		NotePtr:   &notePtr,
		Paid:      true,
		Hidden:    "not encoded",
		Dash:      "dash",
		secret:    "not encoded",
	}
}

func sampleScalars() scalars {
	return scalars{
		Bool: true, String: "s <&> \u2028 é 😀",
		Int: math.MinInt, Int8: math.MinInt8, Int16: math.MinInt16, Int32: math.MinInt32, Int64: math.MinInt64,
		Uint: math.MaxUint, Uint8: math.MaxUint8, Uint16: math.MaxUint16, Uint32: math.MaxUint32, Uint64: math.MaxUint64,
		Uintptr: 1<<40 + 1, Float32: math.MaxFloat32, Float64: math.SmallestNonzeroFloat64,
		Bytes: []byte("hello, world"),
	}
}

func sampleResponse() response {
	return response{ID: "ch_3N4c5D6e7F8g9H0i", Status: "succeeded", Amount: 12999, Currency: "eur", Created: 1718000000}
}

// marshalledCases are json.Marshal outputs: the input the fast path is for.
func marshalledCases(t testing.TB) []decodeCase {
	var cs []decodeCase
	add := func(more ...[]decodeCase) {
		for _, m := range more {
			cs = append(cs, m...)
		}
	}

	add(encodings(t, "response", response{}, sampleResponse()))
	add(encodings(t, "scalars", scalars{}, sampleScalars(), scalars{
		Int: math.MaxInt, Int8: math.MaxInt8, Int16: math.MaxInt16, Int32: math.MaxInt32, Int64: math.MaxInt64,
		Float32: -math.MaxFloat32, Float64: -math.MaxFloat64, Bytes: []byte{},
	}, scalars{
		Int: -1, Int8: -1, Int16: -1, Int32: -1, Int64: -1, Uint: 1, Uint8: 1, Uint16: 1, Uint32: 1, Uint64: 1,
		Float32: math.SmallestNonzeroFloat32, Float64: math.MaxFloat64, Bytes: []byte{0},
	}))
	add(encodings(t, "untagged", untagged{}, untagged{Name: "n", Count: -5, OK: true, Ñame: "ñ"}))
	add(encodings(t, "order", order{}, sampleOrder(), order{Items: []lineItem{}, Tags: []string{}, Metadata: map[string]string{}, Signature: []byte{}}))
	add(encodings(t, "*order", (*order)(nil), ptr(sampleOrder())))
	add(encodings(t, "[]order", nil, []order{}, []order{sampleOrder(), {}}))
	add(encodings(t, "omitting", omitting{}, omitting{
		A: "a", B: 1, C: true, D: 0.5, E: []int{1}, F: map[string]int{"f": 1}, G: ptr(0), H: []byte("h"), I: 1,
		Z1: 1, Z2: sampleUTC, Z3: address{City: "c"}, Z4: []string{}, Z5: &address{}, Keep: "k",
	}, omitting{E: []int{}, F: map[string]int{}, H: []byte{}, Z2: time.Time{}.In(time.FixedZone("", 3600))}))
	add(encodings(t, "named", named{}, named{
		B: true, S: "s", I: -7, U: 7, F: 0.25, Bs: nBytes("bytes"), Mb: []nByte{1, 2, 255}, Is: nInts{1, -1},
		M: nMap{"a": 1, "b": 2}, P: nPtr(ptr(nString("p"))), St: nStruct(sampleResponse()),
	}))
	add(encodings(t, "oddNames", oddNames{}, oddNames{LT: "<", Amp: 1, Space: true, Uni: "日", Lower: 2, Upper: 3, K: 4, S: 5, Bad: 6, Empty: 7}))
	add(encodings(t, "recNode", recNode{}, recNode{V: 1, N: &recNode{V: 2, N: &recNode{V: 3}}}))
	add(encodings(t, "recSlice", recSlice(nil), recSlice{}, recSlice{nil, {}, {{}, {nil}}}))

	// Strings everywhere a string can be: value, key, element, pointer.
	for _, s := range markedStrings {
		add(encodings(t, "string", s))
		add(encodings(t, "nString", nString(s)))
		add(encodings(t, "*string", &s))
		add(encodings(t, "response.ID", response{ID: s, Currency: s}))
		add(encodings(t, "map[string]string", map[string]string{s: s, "k": s}))
		add(encodings(t, "map[nString]int", map[nString]int{nString(s): 1}))
		add(encodings(t, "[]string", []string{s, s}))
		add(encodings(t, "[]byte", []byte(s)))
	}
	add(encodings(t, "[]byte", nil, []byte{}, []byte{0}, []byte{1, 2}, []byte{1, 2, 3}, bytes.Repeat([]byte{0xfb, 0xff}, 100)))
	add(encodings(t, "nBytes", nBytes(nil), nBytes{}, nBytes("x")))
	add(encodings(t, "[]nByte", []nByte(nil), []nByte{}, []nByte{1, 2, 3}))

	// Integers at the edges of every size.
	add(encodings(t, "int", 0, -1, 1, math.MinInt, math.MaxInt))
	add(encodings(t, "int8", int8(math.MinInt8), math.MaxInt8, 0))
	add(encodings(t, "int16", int16(math.MinInt16), math.MaxInt16))
	add(encodings(t, "int32", int32(math.MinInt32), math.MaxInt32))
	add(encodings(t, "int64", int64(math.MinInt64), math.MaxInt64, 1e18))
	add(encodings(t, "uint", uint(0), math.MaxUint))
	add(encodings(t, "uint8", uint8(0), math.MaxUint8))
	add(encodings(t, "uint16", uint16(0), math.MaxUint16))
	add(encodings(t, "uint32", uint32(0), math.MaxUint32))
	add(encodings(t, "uint64", uint64(0), math.MaxUint64, 1<<63))
	add(encodings(t, "uintptr", uintptr(0), 1<<63))
	add(encodings(t, "nInt", nInt(-1), math.MaxInt16))
	add(encodings(t, "nUint", nUint(math.MaxUint32)))

	// Floats in both of Marshal's formats and at their edges.
	negZero := math.Copysign(0, -1)
	f64s := []float64{0, negZero, 1, -1, 0.1, 9.995, 123456789.125, 1e20, 1e21, -1e21, 1e-6, 1e-7, 1.5e-7, 5e-324,
		math.SmallestNonzeroFloat64, 2.2250738585072014e-308, math.MaxFloat64, -math.MaxFloat64, 1 << 53, 1<<53 + 2,
		1.0000000596046448, 0.30000000000000004, 1e300, 12345678912345678}
	add(encodings(t, "float64", f64s...))
	add(encodings(t, "[]float64", f64s))
	f32s := []float32{0, float32(negZero), 1, 0.1, 1e21, 1e-7, 1e20, math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, 1.1754944e-38, 16777216, 16777218, 3.4028235e38, 0.3}
	add(encodings(t, "float32", f32s...))
	add(encodings(t, "[]float32", f32s))
	add(encodings(t, "nFloat", nFloat(0.1), nFloat(negZero)))
	add(encodings(t, "bool", true, false))
	add(encodings(t, "nBool", nBool(true)))

	// Times in UTC, in fixed zones, with and without fractions.
	for _, tm := range sampleTimes {
		add(encodings(t, "time.Time", tm))
		add(encodings(t, "*time.Time", &tm))
		add(encodings(t, "struct{T time.Time}", struct {
			T time.Time  `json:"t"`
			P *time.Time `json:"p"`
		}{tm, &tm}))
	}
	add(encodings(t, "[]time.Time", sampleTimes))
	add(encodings(t, "nTimePtr", nTimePtr(nil), nTimePtr(&sampleTimes[2])))
	add(encodings(t, "struct{T nTimePtr}", struct {
		T nTimePtr `json:"t"`
	}{nil}, struct {
		T nTimePtr `json:"t"`
	}{&sampleTimes[1]}))
	add(encodings(t, "map[string]time.Time", map[string]time.Time{"a": sampleTimes[1], "b": sampleTimes[5]}))

	// Composite shapes.
	add(encodings(t, "[]int", nil, []int{}, []int{1, 2, 3}))
	add(encodings(t, "[][]int", nil, [][]int{}, [][]int{nil, {}, {1}}))
	add(encodings(t, "[]*int", nil, []*int{nil, ptr(1)}))
	add(encodings(t, "map[string]int", nil, map[string]int{}, map[string]int{"a": 1, "b": 2, "": 3}))
	add(encodings(t, "map[string]*int", map[string]*int{"nil": nil, "one": ptr(1)}))
	add(encodings(t, "[]map[string]int", nil, []map[string]int{nil, {}, {"a": 1}}))
	add(encodings(t, "map[string]map[string][]string", map[string]map[string][]string{"a": {"b": {"c"}, "n": nil}, "e": {}, "z": nil}))
	add(encodings(t, "map[string]response", map[string]response{"r": sampleResponse()}))
	add(encodings(t, "map[string][]byte", map[string][]byte{"nil": nil, "e": {}, "f": []byte("f")}))
	add(encodings(t, "nMap", nMap(nil), nMap{}, nMap{"k": 1}))
	add(encodings(t, "*int", (*int)(nil), ptr(0), ptr(-5)))
	add(encodings(t, "**string", (**string)(nil), ptr((*string)(nil)), ptr(ptr("s"))))
	add(encodings(t, "nPtr", nPtr(nil), nPtr(ptr(nString("x")))))
	add(encodings(t, "struct{}", struct{}{}))
	add(encodings(t, "[]struct{}", []struct{}{{}, {}}))
	add(encodings(t, "response/empty-key", struct {
		E string `json:",omitempty"`
		F int
	}{"e", 1}))
	return cs
}

// fallbackCases are inputs json.Marshal does not write, or types the fast
// path leaves to encoding/json; Unmarshal must still match.
func fallbackCases(t testing.TB) []decodeCase {
	var cs []decodeCase
	add := func(more ...[]decodeCase) {
		for _, m := range more {
			cs = append(cs, m...)
		}
	}
	const canon = `{"id":"a","status":"b","amount":1,"currency":"c","created":2}`
	add(inputs[response]("response/layout", canon,
		`{"status":"b","id":"a","amount":1,"currency":"c","created":2}`,
		`{"created":2,"currency":"c","amount":1,"status":"b","id":"a"}`,
		`{"id":"a"}`, `{"created":2}`, `{}`, `{"id":"a","created":2}`,
		`{"id":"a","id":"b","status":"b","amount":1,"currency":"c","created":2}`,
		`{"id":"a","status":"b","amount":1,"currency":"c","created":2,"id":"z"}`,
		`{"id":"a","status":"b","amount":1,"currency":"c","created":2,"amount":"x"}`,
		`{"id":"a","status":"b","amount":1,"currency":"c","created":2,"created":null}`,
		`{"ID":"a","status":"b","amount":1,"currency":"c","created":2}`,
		`{"Id":"a","iD":"b"}`, `{"STATUS":"b"}`, "{\"\u017ftatus\":\"b\"}", `{"\u017ftatus":"b"}`, `{"\u017Ftatus":"b"}`,
		`{"\u0069d":"a"}`, `{"i\u0064":"a"}`, `{"\u0069\u0064":"a"}`, `{"id\u0000":"a"}`, "{\"id\xff\":\"a\"}",
		`{"id":"a","extra":1,"status":"b"}`, `{"extra":{"a":[1,{"b":null}],"c":"}"},"id":"a"}`, `{"":1,"id":"a"}`,
		` `+canon, canon+` `, canon+"\n", "\t"+canon+"\r\n", `{ "id":"a"}`, `{"id" :"a"}`, `{"id": "a"}`, `{"id":"a" }`,
		`{"id":"a" ,"status":"b"}`, `{"id":"a", "status":"b"}`, "{\n  \"id\": \"a\",\n  \"amount\": 1\n}",
		`{"id":null,"status":null,"amount":null,"currency":null,"created":null}`, `null`, `nul`, `nulll`,
		`{"amount":"1"}`, `{"amount":1.0}`, `{"amount":1e3}`, `{"amount":1E3}`, `{"amount":true}`, `{"amount":[]}`, `{"amount":{}}`,
		`{"id":1}`, `{"id":true}`, `{"id":[]}`, `{"id":{}}`, `{"id":["a"]}`, `[]`, `[1]`, `"x"`, `1`, `true`, `false`,
		`{"amount":01}`, `{"amount":+1}`, `{"amount":-0}`, `{"amount":-}`, `{"amount":-01}`, `{"amount":.5}`, `{"amount":1.}`,
		`{"amount":9223372036854775807}`, `{"amount":9223372036854775808}`, `{"amount":-9223372036854775808}`,
		`{"amount":-9223372036854775809}`, `{"amount":99999999999999999999999}`, `{"amount":1.5}`, `{"amount":0x10}`,
		`{"amount":NaN}`, `{"amount":Infinity}`, `{"amount":-Infinity}`,
		canon+`x`, canon+`}`, canon+`{}`, canon+"\x00", canon+`,`, canon+canon, `{"id":"a",}`, `{,"id":"a"}`,
		`{"id""a"}`, `{"id":"a""status":"b"}`, `{'id':'a'}`, `{id:"a"}`, `{"id":'a'}`, `{"id":"a"`, `{"id":`, `{"id"`, `{`, `}`, ``,
		"\xef\xbb\xbf"+canon, `{"id":"a\u"}`, `{"id":"\x"}`, `{"id":"\u12G4"}`, "{\"id\":\"tab\there\"}", "{\"id\":\"nl\nhere\"}",
	))

	// Strings: escapes Marshal never writes, surrogates, invalid UTF-8.
	add(inputs[string]("string/escapes",
		`"\/"`, `"\b\f\n\r\t"`, `"\u0000"`, `"\u00e9"`, `"\u00E9"`, `"\u20AC"`, `"\uffff"`, `"\uFFFD"`,
		`"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud83d\ude00\ud83d\ude00"`, `"x\ud83d\ude00y"`,
		`"\ud800"`, `"\udc00"`, `"\ud800\ud800"`, `"\ud800\u0041"`, `"\ud800x"`, `"\ud800\"`, `"\ud800\n"`, `"\udbff\udfff"`,
		`"\ud83d\ude00\udc00"`, `"\ud83d"`, `"a\ud83d"`, `"\ude00\ud83d"`, `"\u002"`, `"\u"`, `"\uzzzz"`, `"\a"`, `"\'"`, `"\"`,
		`"\u003c\u003e\u0026\u2028\u2029"`, `"<>&"`, "\"\u2028\u2029\"", "\"\x7f\"", "\"\x1f\"", "\"\x00\"",
		"\"\xff\"", "\"a\xffb\"", "\"\xc3\"", "\"\xc3\xa9\"", "\"\xe2\x82\"", "\"\xe2\x82\xac\"", "\"\xed\xa0\x80\"",
		"\"\xed\xbf\xbf\"", "\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xf0\x80\x80\x80\"", "\"\xf4\x8f\xbf\xbf\"", "\"\xf4\x90\x80\x80\"",
		"\"\xf8\x88\x80\x80\x80\"", "\"\x80\"", "\"\xbf\"", "\"\xf0\x9f\x98\"", "\"\xf0\x9f\x98\x80\"",
		`"`, `"abc`, `"abc\"`, `abc"`, `'abc'`, `""`, `"" `, `"a" "b"`, `null`, `1`, `true`, `[]`, `{}`, `["a"]`,
	))
	for _, s := range []string{`"\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `"\u00e9"`, `"\/"`, `"\u0000"`, `null`, `"a\ud83d"`} {
		add(inputs[map[string]int]("map-key/escapes", `{`+s+`:1}`, `{`+s+`:1,`+s+`:2}`))
		add(inputs[response]("field-key/escapes", `{`+s+`:"v"}`))
	}

	// Keys that fold onto field names, and keys of odd-named fields.
	add(inputs[oddNames]("oddNames/keys",
		`{"a<b":"x"}`, `{"a\u003cb":"x"}`, `{"A<B":"x"}`, `{"\u0026":1}`, `{"&":1}`, `{"WITH SPACE":true}`,
		`{"日本":"x"}`, `{"\u65e5\u672c":"x"}`, `{"a":1,"A":2}`, `{"A":2,"a":1}`, `{"a":1}`, `{"A":1}`,
		"{\"\u212a\":1}", `{"\u212a":1}`, `{"K":1}`, "{\"\u017f\":1}", `{"S":1}`, `{"bad\\name":1}`, `{"Bad":1}`, `{"bad":1}`,
		`{"Empty":1}`, `{"empty":1}`, `{"":1}`, `{"LT":"x"}`, `{"Lower":1}`,
	))
	add(inputs[untagged]("untagged/keys",
		`{"Name":"n","Count":1,"OK":true,"Ñame":"ñ"}`, `{"name":"n","count":1,"ok":true,"ñame":"ñ"}`,
		`{"NAME":"n","Ok":true,"ÑAME":"ñ"}`, `{"\u00d1ame":"ñ"}`, `{"\u00f1ame":"ñ"}`, "{\"N\u0301ame\":\"x\"}",
	))
	add(inputs[order]("order/keys",
		`{"-":"dash"}`, `{"Hidden":"h"}`, `{"hidden":"h"}`, `{"secret":"s"}`, `{"Dash":"d"}`, `{"-":"a","-":"b"}`,
	))

	// null for every kind, top level and nested.
	add(inputs[order]("order/null",
		`null`, `{"id":null,"customer":null,"shipping":null,"billing":null,"items":null,"item_ptrs":null,"tags":null,`+
			`"metadata":null,"counts":null,"groups":null,"by_key":null,"matrix":null,"created":null,"updated":null,`+
			`"signature":null,"note":null,"note_ptr":null,"paid":null}`,
		`{"items":[null,{"sku":null}],"item_ptrs":[null],"tags":[null,"a"],"metadata":{"a":null},"groups":{"a":null,"b":[null]},`+
			`"by_key":{"a":null},"matrix":[null,[null]],"note_ptr":null}`,
		`{"shipping":{"line1":null}}`, `{"note_ptr":"x"}`,
	))
	for _, typ := range []reflect.Type{
		reflect.TypeFor[bool](), reflect.TypeFor[string](), reflect.TypeFor[int8](), reflect.TypeFor[uint64](),
		reflect.TypeFor[float32](), reflect.TypeFor[[]byte](), reflect.TypeFor[time.Time](), reflect.TypeFor[[]int](),
		reflect.TypeFor[map[string]int](), reflect.TypeFor[response](), reflect.TypeFor[*response](), reflect.TypeFor[**int](),
	} {
		cs = append(cs, inContexts("null/"+typ.String(), typ, "null")...)
	}

	// Duplicate keys where the second value merges into the first.
	add(inputs[order]("order/dup",
		`{"metadata":{"a":"1"},"metadata":{"b":"2"}}`, `{"billing":{"city":"x"},"billing":{"line1":"y"}}`,
		`{"items":[{"sku":"a"},{"sku":"b"}],"items":[{"quantity":1}]}`, `{"tags":["a","b"],"tags":[]}`,
		`{"customer":{"id":"a"},"customer":null}`, `{"shipping":{"city":"a"},"shipping":{"country":"b"}}`,
		`{"created":"2024-06-10T12:34:56Z","created":null}`, `{"signature":"AAE=","signature":""}`,
	))
	add(inputs[map[string]int]("map/dup", `{"a":1,"a":2}`, `{"a":1,"b":2,"a":3}`))

	// Numbers into every numeric kind, in every context.
	numeric := []reflect.Type{
		reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](), reflect.TypeFor[int64](),
		reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](),
		reflect.TypeFor[uintptr](), reflect.TypeFor[float32](), reflect.TypeFor[float64](), reflect.TypeFor[nInt](),
		reflect.TypeFor[nUint](), reflect.TypeFor[nFloat](),
	}
	nums := []string{
		`0`, `-0`, `1`, `-1`, `1.0`, `1.5`, `-1.5`, `1e3`, `1E3`, `1e+3`, `1e-3`, `1e0`, `0e0`, `-0.0`, `-0e-0`, `0.0`,
		`01`, `00`, `-01`, `+1`, `.5`, `1.`, `-`, `--1`, `1e`, `1e+`, `0x1`, `1_000`, `Infinity`, `NaN`, `1 `, ` 1`,
		`"1"`, `"-1"`, `""`, `true`, `[1]`, `{}`, `null`, `1e400`, `-1e400`, `1e-400`, `4.9e-324`, `2.4703282292062327e-324`,
		`2.4703282292062328e-324`, `1.7976931348623157e308`, `1.7976931348623159e308`, `3.4028235e38`, `3.4028236e38`,
		`3.40282357e38`, `3.5e38`, `1e-46`, `1.4e-45`, `7e-46`, `0.1000000000000000055511151231257827021181583404541015625`,
		`1.0000000596046448`, `1.00000005960464477539062500001`, `1.000000059604644775390625`, `16777217`, `9007199254740993`,
		`123456789012345678901234567890`, `0.000000000000000000000000000001`, `1e21`, `1e-7`, `100000000000000000000`,
	}
	for bits := 8; bits <= 64; bits *= 2 {
		lo := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), uint(bits-1)))
		hi := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), big.NewInt(1))
		uhi := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits)), big.NewInt(1))
		one := big.NewInt(1)
		for _, n := range []*big.Int{lo, hi, uhi} {
			nums = append(nums, n.String(), new(big.Int).Add(n, one).String(), new(big.Int).Sub(n, one).String())
		}
	}
	for _, typ := range numeric {
		for _, n := range nums {
			cs = append(cs, inContexts("number/"+typ.String(), typ, n)...)
		}
	}

	// Literals and tokens into bool and string kinds.
	for _, typ := range []reflect.Type{reflect.TypeFor[bool](), reflect.TypeFor[nBool](), reflect.TypeFor[string](), reflect.TypeFor[nString]()} {
		for _, s := range []string{`true`, `false`, `null`, `tru`, `True`, `fals`, `truee`, `t`, `0`, `1`, `"true"`, `"x"`, `""`, `[]`, `{}`} {
			cs = append(cs, inContexts("literal/"+typ.String(), typ, s)...)
		}
	}

	// Base64 for []byte: padding, the other alphabet, newlines (which
	// encoding/base64 skips), non-zero trailing bits, non-strings.
	for _, typ := range []reflect.Type{reflect.TypeFor[[]byte](), reflect.TypeFor[nBytes](), reflect.TypeFor[[]nByte]()} {
		for _, s := range []string{
			`""`, `"AA=="`, `"AA="`, `"AA"`, `"AAE="`, `"AAEC"`, `"aGk="`, `"aGl="`, `"aGk"`, `"aG=="`, `"a"`, `"===="`,
			`"-_8="`, `"+/8="`, `"+/8"`, `"aGVs\nbG8="`, `"aGVs\rbG8="`, `"aGVs\r\nbG8="`, `"aGVs bG8="`, `"aGVsbG8=\n"`,
			`"\u0061Gk="`, `"aGk=\u0000"`, `"AA==AA=="`, "\"\xff\"", `[1,2,3]`, `[]`, `[256]`, `[-1]`, `[1.5]`, `[null]`,
			`["AA=="]`, `{}`, `1`, `true`, `null`,
		} {
			cs = append(cs, inContexts("base64/"+typ.String(), typ, s)...)
		}
	}

	// Times: layouts RFC 3339 allows that Marshal never writes, layouts it
	// does not allow, escapes time.Time.UnmarshalJSON does not decode.
	for _, typ := range []reflect.Type{reflect.TypeFor[time.Time](), reflect.TypeFor[nTime](), reflect.TypeFor[nTimePtr]()} {
		for _, s := range []string{
			`"2024-06-10T12:34:56Z"`, `"2024-06-10T12:34:56.123456789Z"`, `"2024-06-10T12:34:56+00:00"`, `"2024-06-10T12:34:56-00:00"`,
			`"2024-06-10T12:34:56+02:00"`, `"2024-06-10T12:34:56-03:30"`, `"2024-06-10T12:34:56+23:59"`, `"2024-06-10T12:34:56+24:00"`,
			`"2024-06-10T12:34:56+01:60"`, `"2024-06-10T12:34:56+0200"`, `"2024-06-10T12:34:56+02"`, `"2024-06-10t12:34:56z"`,
			`"2024-06-10T12:34:56z"`, `"2024-06-10 12:34:56Z"`, `"2024-06-10T12:34:56"`, `"2024-06-10"`, `"2024-06-10T12:34Z"`,
			`"2024-06-10T12:34:56.Z"`, `"2024-06-10T12:34:56,5Z"`, `"2024-06-10T12:34:56.1234567891Z"`, `"2024-06-10T12:34:56.100Z"`,
			`"2024-06-10T12:34:60Z"`, `"2024-06-10T24:00:00Z"`, `"2024-02-30T00:00:00Z"`, `"2024-02-29T00:00:00Z"`,
			`"2023-02-29T00:00:00Z"`, `"2024-13-01T00:00:00Z"`, `"2024-00-01T00:00:00Z"`, `"0000-01-01T00:00:00Z"`,
			`"9999-12-31T23:59:59.999999999Z"`, `"10000-01-01T00:00:00Z"`, `"+2024-06-10T12:34:56Z"`, `"-2024-06-10T12:34:56Z"`,
			`"24-06-10T12:34:56Z"`, `"2024-6-10T12:34:56Z"`, `"2024-06-10T1:34:56Z"`, `"２024-06-10T12:34:56Z"`,
			`"\u0032024-06-10T12:34:56Z"`, `"2024-06-10T12:34:56\u005a"`, `"2024-06-10T12:34:56Z\u0000"`, `" 2024-06-10T12:34:56Z"`,
			`"2024-06-10T12:34:56Z "`, `"0001-01-01T00:00:00Z"`, `"0001-01-01T00:00:00+01:00"`, `"1969-12-31T23:59:59.999999999Z"`,
			`""`, `"x"`, `1`, `1718000000`, `true`, `[]`, `{}`, `null`, `"null"`,
		} {
			cs = append(cs, inContexts("time/"+typ.String(), typ, s)...)
		}
	}

	// Deep nesting: encoding/json refuses more than 10000 levels.
	for _, depth := range []int{1, 2, 100, 499, 500, 501, 999, 1000, 1001, 9999, 10000, 10001} {
		cs = append(cs,
			decodeCase{"deep/recNode", reflect.TypeFor[recNode](),
				[]byte(strings.Repeat(`{"n":`, depth-1) + `{"v":1}` + strings.Repeat(`}`, depth-1))},
			decodeCase{"deep/recSlice", reflect.TypeFor[recSlice](),
				[]byte(strings.Repeat(`[`, depth) + strings.Repeat(`]`, depth))},
		)
	}
	add(inputs[[][][]int]("deep/[][][]int", `[[[1]]]`, `[[[[1]]]]`, `[[1]]`, `[[[]],[],null]`))
	add(inputs[recAnyB]("recAnyB", `{"a":{"b":{"a":null,"n":1},"x":1},"n":2}`, `{"n":1}`, `{"a":null}`))
	add(inputs[recAnyA]("recAnyA", `{"b":{"a":{"x":"s"},"n":2},"x":[1]}`, `{"b":null}`))
	add(inputs[recNode]("recNode/shapes", `{"n":null}`, `{"n":{}}`, `{"v":1,"n":{"v":2,"n":{"v":3}}}`))

	// Types encoding/json handles in ways the fast path must not imitate.
	add(inputs[withAny]("withAny", `{"id":"a","data":null}`, `{"id":"a","data":1}`, `{"id":"a","data":{"x":[1,"2",true,null]}}`,
		`{"data":1.5e300}`, `{"data":"s"}`))
	add(encodings(t, "withAny", withAny{ID: "x", Data: map[string]any{"k": []any{1.0, "s"}}}))
	add(inputs[any]("any", `null`, `1`, `"s"`, `{"a":[1,2]}`, `[{"a":null}]`))
	add(inputs[withStringer]("withStringer", `{"s":null}`, `{"s":"x"}`, `{"s":{}}`))
	add(inputs[withArray]("withArray", `{"a":[1,2,3],"b":["x","y"],"c":[1,2,3,4]}`, `{"a":[1],"b":["x","y","z"]}`,
		`{"a":[1,2,3,4]}`, `{"a":null,"c":"AAECAw=="}`, `{"a":[1,null,3]}`))
	add(encodings(t, "withArray", withArray{}, withArray{A: [3]int{1, 2, 3}, B: [2]string{"a", "b"}, C: [4]byte{1, 2, 3, 4}}))
	add(inputs[[2]int]("[2]int", `[1,2]`, `[1]`, `[1,2,3]`, `null`))
	add(encodings(t, "embedded", embedded{}, embedded{address: address{Line1: "l", City: "c"}, Extra: 1}))
	add(inputs[embedded]("embedded", `{"line1":"l","extra":1}`, `{"address":{"line1":"l"}}`))
	add(encodings(t, "embeddedPtr", embeddedPtr{}, embeddedPtr{address: &address{City: "c"}, Extra: 1}))
	add(inputs[embeddedPtr]("embeddedPtr", `{"city":"c"}`, `{"extra":1}`, `{"city":null}`))
	add(encodings(t, "embeddedTagged", embeddedTagged{}, embeddedTagged{address: address{City: "c"}, Extra: 1}))
	add(inputs[embeddedTagged]("embeddedTagged", `{"addr":{"city":"c"},"extra":1}`, `{"city":"c"}`))
	add(encodings(t, "embeddedShadow", embeddedShadow{City: "outer", address: address{City: "inner", Line1: "l"}}))
	add(inputs[embeddedUnexportedPtr]("embeddedUnexportedPtr", `{"X":1}`, `{"A":1}`, `{"X":1,"A":1}`, `{"A":null}`))
	add(encodings(t, "embeddedTime", embeddedTime{Time: sampleUTC, Note: "n"}))
	add(inputs[embeddedTime]("embeddedTime", `{"Note":"n"}`, `null`, `"2024-06-10T12:34:56Z"`))
	add(encodings(t, "stringOpts", stringOpts{}, stringOpts{I: -5, U: 255, F: 0.5, B: true, S: `s"<`, P: ptr(3)}))
	add(inputs[stringOpts]("stringOpts", `{"i":1}`, `{"i":"1"}`, `{"i":"x"}`, `{"u":"256"}`, `{"f":"1e3"}`, `{"b":"true"}`,
		`{"b":true}`, `{"s":"x"}`, `{"s":"\"x\""}`, `{"p":"null"}`, `{"p":null}`, `{"i":" 1"}`, `{"i":"\u0031"}`))
	add(encodings(t, "customJSON", customJSON{Raw: "r"}))
	add(encodings(t, "customJSON/fields", struct {
		C  customJSON   `json:"c"`
		P  *customJSON  `json:"p"`
		S  []customJSON `json:"s"`
		M  map[string]customJSON
		PN *customJSON `json:"pn"`
	}{C: customJSON{"c"}, P: &customJSON{"p"}, S: []customJSON{{"s"}}, M: map[string]customJSON{"k": {"m"}}}))
	add(inputs[customJSON]("customJSON", `{"Raw":"r"}`, `null`, `1`, `"s"`, `[1, 2]`))
	add(inputs[struct {
		V valueJSON `json:"v"`
		N int       `json:"n"`
	}]("valueJSON", `{"v":1,"n":2}`, `{"v":"x","n":2}`, `{"v":null}`))
	add(inputs[struct {
		F failingJSON `json:"f"`
		N int         `json:"n"`
	}]("failingJSON", `{"f":{"A":1},"n":2}`, `{"n":2}`, `{"f":null}`))
	add(inputs[struct {
		U  upperText            `json:"u"`
		P  *upperText           `json:"p"`
		S  []upperText          `json:"s"`
		MK map[upperText]int    `json:"mk"`
		MV map[string]upperText `json:"mv"`
	}]("upperText", `{"u":"abc","p":"def","s":["g"],"mk":{"k":1},"mv":{"k":"v"}}`, `{"u":1}`, `{"u":null}`, `{"mk":{"\u00e9":1}}`))
	add(inputs[map[upperText]string]("map[upperText]string", `{"a":"b"}`, `{"a":"b","A":"c"}`))
	add(inputs[struct {
		V  valueText         `json:"v"`
		MK map[valueText]int `json:"mk"`
		N  int               `json:"n"`
	}]("valueText", `{"v":"abc","mk":{"k":1,"j":2},"n":1}`, `{"v":1}`))
	add(inputs[struct {
		F failingText `json:"f"`
		N int         `json:"n"`
	}]("failingText", `{"f":"x","n":1}`, `{"f":{"A":1},"n":1}`, `{"f":null}`))
	add(encodings(t, "marshalOnly", marshalOnly{A: 1}))
	add(encodings(t, "marshalOnly/field", struct{ M marshalOnly }{}))
	add(inputs[marshalOnly]("marshalOnly", `{"A":1}`, `{"B":1}`))
	add(inputs[withNumber]("json.Number", `{"n":1,"p":2}`, `{"n":"1"}`, `{"n":"abc"}`, `{"n":"1.5e3"}`, `{"n":"-"}`, `{"n":""}`,
		`{"n":-0.0e+0}`, `{"n":null,"p":null}`, `{"n":true}`, `{"n":"01"}`, `{"n":" 1"}`))
	add(inputs[json.Number]("json.Number/top", `1`, `"1"`, `"x"`, `1e400`))
	add(inputs[nNumber]("nNumber", `1`, `"1"`, `"x"`))
	add(inputs[withRaw]("json.RawMessage", `{"r":{"a":1},"p":[1]}`, `{"r":"AAE="}`, `{"r":null,"p":null}`, `{"r":  1 }`,
		`{"r":"\u00e9"}`))
	add(inputs[json.RawMessage]("json.RawMessage/top", `{"a":1}`, ` "AAE=" `, `null`))
	// Under GOEXPERIMENT=jsonv2, json.Unmarshal itself panics on {"F":1}
	// and {"C":1} for these two types (jsonwire.UnquoteMayCopy): a bug in
	// the experiment, not something to compare with.
	add(inputs[withFunc]("withFunc", append([]string{`{}`, `{"F":null}`}, unlessJSONv2(`{"F":1}`)...)...))
	add(inputs[withChan]("withChan", `{}`, `{"C":null}`, `{"C":[1]}`))
	add(inputs[withCplx]("withCplx", append([]string{`{}`, `{"C":null}`}, unlessJSONv2(`{"C":1}`)...)...))
	add(inputs[struct {
		A int `json:"a"`
		b int
		C int `json:"-"`
		//lint:ignore SA5008 a tag encoding/json accepts as it is; the test checks that the decoder reads it the same way
		D int `json:"-,"`
	}]("unexported-and-dash", `{"a":1,"b":2,"C":3,"-":4}`, `{"b":2}`, `{"C":3}`, `{"c":3}`, `{"D":4}`, `{"-":4,"-":5}`))
	for _, s := range []string{`{"x":1,"y":2}`, `{"y":2}`, `{"A":1,"B":"b","C":3}`, `{"X":1}`} {
		cs = append(cs, decodeCase{"dupNames", dupNames, []byte(s)})
	}
	dupVal := reflect.New(dupNames).Elem()
	dupVal.Field(0).SetInt(1)
	dupVal.Field(1).SetString("b")
	dupVal.Field(2).SetInt(3)
	dupJSON, err := json.Marshal(dupVal.Interface())
	if err != nil {
		t.Fatal(err)
	}
	cs = append(cs, decodeCase{"dupNames/marshalled", dupNames, dupJSON})

	// Whole documents that are not JSON at all.
	for _, typ := range []reflect.Type{reflect.TypeFor[response](), reflect.TypeFor[order](), reflect.TypeFor[[]int](),
		reflect.TypeFor[map[string]string](), reflect.TypeFor[string](), reflect.TypeFor[int]()} {
		for _, s := range []string{``, ` `, "\n", `}`, `]`, `,`, `:`, `"`, `[`, `{`, `[,]`, `[1,]`, `[1 2]`, `{"a" 1}`,
			`{"a":1 "b":2}`, `[1]]`, `{}}`, `1 2`, `"a" "b"`, `[][]`, "\x00", "\xff", `/* */ 1`, `// x`} {
			cs = append(cs, decodeCase{"garbage", typ, []byte(s)})
		}
	}
	return cs
}

// TestMatchesEncodingJSON is the differential test: Unmarshal and fast
// must agree with encoding/json on Marshal output, on inputs that must
// fall back, and on types the fast path must not handle.
func TestMatchesEncodingJSON(t *testing.T) {
	groups := []struct {
		name  string
		cases []decodeCase
	}{
		{"marshalled", marshalledCases(t)},
		{"fallback", fallbackCases(t)},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			var stats fastStats
			for _, c := range g.cases {
				checkMatchesNamed(t, &stats, c)
			}
			stats.log(t)
		})
	}
}

// checkMatchesNamed runs checkMatches, naming the case in failures without
// a subtest per case: there are tens of thousands.
func checkMatchesNamed(t *testing.T, stats *fastStats, c decodeCase) {
	t.Helper()
	rec := &prefixTB{TB: t, prefix: c.name + ": "}
	checkMatches(rec, stats, c.typ, c.input)
}

// prefixTB prefixes failure messages with a case name.
type prefixTB struct {
	testing.TB
	prefix string
}

func (p *prefixTB) Errorf(format string, args ...any) {
	p.TB.Helper()
	p.TB.Errorf(p.prefix+format, args...)
}

func (p *prefixTB) Fatalf(format string, args ...any) {
	p.TB.Helper()
	p.TB.Fatalf(p.prefix+format, args...)
}

// TestTruncationsAndMutations decodes every prefix and many one-byte edits
// of a few Marshal outputs, into their own type and into a few others:
// each is a place where a fast decoder may have written half a value.
func TestTruncationsAndMutations(t *testing.T) {
	seeds := []struct {
		name string
		v    any
	}{
		{"response", sampleResponse()},
		{"scalars", sampleScalars()},
		{"order", order{
			ID: "o", Customer: &customer{ID: "c"}, Items: []lineItem{{SKU: "s", Quantity: 1, Price: 1.5}},
			Tags: []string{"t"}, Metadata: map[string]string{"k": "v<"}, Created: sampleUTC.Add(5e8),
			Signature: []byte("sig"), Note: ptr("n"),
		}},
		{"named", named{S: "s", I: -7, Bs: nBytes("b"), M: nMap{"a": 1}, P: nPtr(ptr(nString("p")))}},
		{"[]map[string]int", []map[string]int{{"a": 1, "b": -2}, nil, {}}},
		{"time", sampleUTC.Add(123456789).In(time.FixedZone("", -3600))},
		{"string", "a\"\\\n\u2028<é😀"},
	}
	// Types every seed is also decoded into, so a mutation that turns one
	// shape into another meets a decoder for the other.
	others := []reflect.Type{reflect.TypeFor[response](), reflect.TypeFor[order](), reflect.TypeFor[[]map[string]int]()}
	edits := []byte{' ', '"', '\\', '0', '9', '-', '.', 'e', ',', ':', '{', '}', '[', ']', 'n', 'x', 0x80, 0xff}
	var stats fastStats
	for _, s := range seeds {
		data, err := json.Marshal(s.v)
		if err != nil {
			t.Fatal(err)
		}
		typs := append([]reflect.Type{reflect.TypeOf(s.v)}, others...)
		check := func(b []byte) {
			for _, typ := range typs {
				checkMatchesNamed(t, &stats, decodeCase{name: s.name, typ: typ, input: b})
			}
		}
		check(data)
		for i := range data {
			check(data[:i])
		}
		for i := range data {
			mut := bytes.Clone(data)
			for _, e := range edits {
				if data[i] == e {
					continue
				}
				mut[i] = e
				checkMatchesNamed(t, &stats, decodeCase{name: s.name + "/edit", typ: typs[0], input: mut})
			}
			// Deleting and inserting a byte, for the seed's own type only.
			checkMatchesNamed(t, &stats, decodeCase{name: s.name + "/delete", typ: typs[0],
				input: append(bytes.Clone(data[:i]), data[i+1:]...)})
			for _, e := range []byte{' ', '\n', '"', ','} {
				ins := append(append(bytes.Clone(data[:i]), e), data[i:]...)
				checkMatchesNamed(t, &stats, decodeCase{name: s.name + "/insert", typ: typs[0], input: ins})
			}
		}
	}
	stats.log(t)
}

// TestTimeLocalZone sets time.Local, because encoding/json (through
// time.Time.UnmarshalJSON) gives an offset equal to the local zone's the
// time.Local location, not a fixed zone, and "Z" the UTC location; a decoder
// parsing times itself must do the same. Not parallel: it changes a global.
func TestTimeLocalZone(t *testing.T) {
	saved := time.Local
	t.Cleanup(func() { time.Local = saved })
	for _, local := range []*time.Location{time.FixedZone("CET", 3600), time.FixedZone("", 0), time.FixedZone("UTC", 0)} {
		time.Local = local
		for _, s := range []string{`"2024-06-10T12:34:56Z"`, `"2024-06-10T12:34:56+00:00"`, `"2024-06-10T12:34:56+01:00"`,
			`"2024-06-10T12:34:56.5+01:00"`, `"2024-06-10T12:34:56-01:00"`} {
			for _, c := range inContexts("local/"+local.String(), reflect.TypeFor[time.Time](), s) {
				checkMatchesNamed(t, nil, c)
			}
		}
		for _, tm := range []time.Time{sampleUTC.In(local), sampleUTC.Local(), time.Unix(1718000000, 7)} {
			for _, c := range encodings(t, "local/marshalled", tm, sampleUTC) {
				checkMatchesNamed(t, nil, c)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The fast path is taken, and declined, where it should be.

// TestFastPathTaken checks that fast really decodes json.Marshal output of
// plain types, not just falls back correctly. While decode.go holds the
// stub (fast always false) this test fails, on purpose: it passes once the
// fast path lands.
func TestFastPathTaken(t *testing.T) {
	note := "note"
	plain := []struct {
		name string
		v    any
	}{
		{"response", sampleResponse()},
		{"response/zero", response{}},
		{"metadata", struct {
			ID       string            `json:"id"`
			Metadata map[string]string `json:"metadata"`
		}{"x", map[string]string{"order_id": "10042", "channel": "web"}}},
		{"nested", struct {
			Customer customer `json:"customer"`
			Shipping address  `json:"shipping"`
		}{customer{ID: "c", Email: "e@x"}, address{Line1: "l", City: "c", Country: "CH"}}},
		{"slice-of-structs", struct {
			Items []lineItem `json:"items"`
		}{[]lineItem{{"a", 1, 1.5}, {"b", 2, 0.25}}}},
		{"pointer", struct {
			Customer *customer `json:"customer"`
			Note     *string   `json:"note"`
			Missing  *string   `json:"missing"`
		}{Customer: &customer{ID: "c"}, Note: &note}},
		{"time", struct {
			Created time.Time `json:"created"`
		}{sampleUTC.Add(123456789)}},
		// An optional timestamp: a pointer to a supported type.
		{"*time.Time", struct {
			Created  time.Time  `json:"created"`
			Canceled *time.Time `json:"canceled_at"`
		}{sampleUTC, ptr(sampleUTC.Add(time.Hour))}},
		{"bytes", struct {
			Sig []byte `json:"sig"`
		}{[]byte{0, 1, 2, 0xff}}},
		{"scalars", sampleScalars()},
		{"omitempty-absent", omitting{Keep: "k"}},
		{"escapes", response{ID: "a\"b\\c\nd<e>&f", Status: "é😀"}},
		{"[]response", []response{sampleResponse(), {}}},
		{"map[string]int", map[string]int{"a": 1, "b": 2}},
		{"*response", ptr(sampleResponse())},
	}
	var declined []string
	for _, p := range plain {
		data, err := json.Marshal(p.v)
		if err != nil {
			t.Fatal(err)
		}
		typ := reflect.TypeOf(p.v)
		got := reflect.New(typ)
		if !fast(bytes.Clone(data), got.Interface()) {
			declined = append(declined, fmt.Sprintf("%s (%v) %s", p.name, typ, data))
			continue
		}
		want := reflect.New(typ)
		if err := json.Unmarshal(data, want.Interface()); err != nil {
			t.Fatal(err)
		}
		if !exactlyEqual(got, want) {
			t.Errorf("%s: fast decoded %s as %s, json.Unmarshal as %s", p.name, data, show(got), show(want))
		}
	}
	switch {
	case len(declined) == len(plain):
		t.Errorf("fast declined every one of %d plain Marshal outputs: decode.go still holds the stub "+
			"(fast always returns false)? This test is expected to fail until the fast path lands.", len(plain))
	case len(declined) > 0:
		t.Errorf("fast declined %d of %d plain Marshal outputs it is meant to decode:\n%s",
			len(declined), len(plain), strings.Join(declined, "\n"))
	}

	// Types the fast path must leave to encoding/json, given their own
	// Marshal output: fast must decline and leave the target zero.
	mustDecline := []struct {
		name string
		v    any
	}{
		{"interface field", withAny{ID: "a", Data: "x"}},
		{"interface field nil", withAny{ID: "a"}},
		{"UnmarshalJSON", customJSON{Raw: "r"}},
		{"UnmarshalJSON field", struct {
			C customJSON `json:"c"`
			N int        `json:"n"`
		}{customJSON{"c"}, 1}},
		{"UnmarshalText field", struct {
			U upperText `json:"u"`
		}{"abc"}},
		{"embedded struct", embedded{address: address{City: "c"}, Extra: 1}},
		{"embedded time", embeddedTime{Time: sampleUTC}},
		{"string option", stringOpts{I: 1}},
		{"array", withArray{A: [3]int{1, 2, 3}}},
		{"json.Number", withNumber{N: "1"}},
		{"json.RawMessage", withRaw{R: json.RawMessage(`{"a":1}`)}},
	}
	for _, d := range mustDecline {
		data, err := json.Marshal(d.v)
		if err != nil {
			t.Fatal(err)
		}
		target := reflect.New(reflect.TypeOf(d.v))
		if fast(data, target.Interface()) {
			t.Errorf("%s: fast took %s into %T, a type it must leave to encoding/json", d.name, data, d.v)
		}
		if !target.Elem().IsZero() {
			t.Errorf("%s: fast left a non-zero %s", d.name, show(target))
		}
	}
}

// TestFastLeavesZeroOnFailure gives fast inputs that go wrong only after it
// has had the chance to write fields, allocate pointers, fill maps and
// slices: it must decline and leave the target zero, so that the fallback
// starts from a zero value.
func TestFastLeavesZeroOnFailure(t *testing.T) {
	orderJSON, err := json.Marshal(sampleOrder())
	if err != nil {
		t.Fatal(err)
	}
	respJSON, err := json.Marshal(sampleResponse())
	if err != nil {
		t.Fatal(err)
	}
	trimmed := func(b []byte) string { return string(b[:len(b)-1]) } // without the closing brace
	cases := []struct {
		name  string
		typ   reflect.Type
		input string
	}{
		{"trailing garbage", reflect.TypeFor[response](), string(respJSON) + "x"},
		{"trailing value", reflect.TypeFor[response](), string(respJSON) + "{}"},
		{"unknown last key", reflect.TypeFor[response](), trimmed(respJSON) + `,"extra":1}`},
		{"duplicate last key", reflect.TypeFor[response](), trimmed(respJSON) + `,"id":"again"}`},
		{"float in last int", reflect.TypeFor[response](), `{"id":"a","status":"b","amount":1,"currency":"c","created":1.5}`},
		{"overflow in last int", reflect.TypeFor[response](), `{"id":"a","status":"b","amount":1,"currency":"c","created":9223372036854775808}`},
		{"whitespace before end", reflect.TypeFor[response](), trimmed(respJSON) + ` }`},
		{"truncated", reflect.TypeFor[response](), trimmed(respJSON)},
		{"order trailing garbage", reflect.TypeFor[order](), string(orderJSON) + "]"},
		{"order unknown last key", reflect.TypeFor[order](), trimmed(orderJSON) + `,"zzz":null}`},
		{"order truncated", reflect.TypeFor[order](), trimmed(orderJSON)},
		{"order bad last map value", reflect.TypeFor[order](),
			`{"id":"o","customer":{"id":"c"},"metadata":{"a":"1","b":2}}`},
		{"order bad slice element", reflect.TypeFor[order](),
			`{"id":"o","customer":{"id":"c"},"items":[{"sku":"a","quantity":1,"price":1},{"sku":"b","quantity":"x"}]}`},
		{"order bad time", reflect.TypeFor[order](),
			`{"id":"o","customer":{"id":"c"},"shipping":{"line1":"l","city":"c","country":"C"},"items":[],"tags":["t"],"metadata":{},"created":"2024-13-01T00:00:00Z"}`},
		{"order bad base64", reflect.TypeFor[order](),
			`{"id":"o","customer":{"id":"c"},"items":[],"tags":[],"metadata":{},"created":"2024-06-10T12:34:56Z","signature":"A"}`},
		{"map bad last value", reflect.TypeFor[map[string]int](), `{"a":1,"b":2,"c":1.5}`},
		{"map dup key", reflect.TypeFor[map[string]int](), `{"a":1,"b":2,"a":3}`},
		{"slice bad last element", reflect.TypeFor[[]int](), `[1,2,3,"x"]`},
		{"slice trailing garbage", reflect.TypeFor[[]string](), `["a","b"]]`},
		{"pointer then garbage", reflect.TypeFor[*response](), string(respJSON) + ","},
		{"[]map bad", reflect.TypeFor[[]map[string]int](), `[{"a":1},{"b":2},{"c":true}]`},
		{"invalid utf8 late", reflect.TypeFor[response](), `{"id":"a","status":"b","amount":1,"currency":"c` + "\xff" + `","created":2}`},
	}
	for _, c := range cases {
		target := reflect.New(c.typ)
		ok := fast([]byte(c.input), target.Interface())
		want := reflect.New(c.typ)
		wantErr := json.Unmarshal([]byte(c.input), want.Interface())
		switch {
		case ok && wantErr != nil:
			t.Errorf("%s: fast accepted %q, which json.Unmarshal rejects: %v", c.name, c.input, wantErr)
		case ok && !exactlyEqual(target, want):
			t.Errorf("%s: fast decoded %q as %s, json.Unmarshal as %s", c.name, c.input, show(target), show(want))
		case !ok && !target.Elem().IsZero():
			t.Errorf("%s: fast declined %q but left %s", c.name, c.input, show(target))
		}
		// And Unmarshal as a whole still matches.
		checkMatchesNamed(t, nil, decodeCase{name: c.name, typ: c.typ, input: []byte(c.input)})
	}
}

// TestInvalidTargets checks that Unmarshal reports what json.Unmarshal
// reports for targets that are not non-nil pointers, rather than panic.
func TestInvalidTargets(t *testing.T) {
	data := []byte(`{"id":"a","status":"b","amount":1,"currency":"c","created":2}`)
	for _, v := range []any{nil, response{}, (*response)(nil), map[string]any(nil), 1} {
		wantErr := json.Unmarshal(data, v)
		var gotErr error
		func() {
			defer func() {
				if r := recover(); r != nil {
					gotErr = fmt.Errorf("panic: %v", r)
				}
			}()
			gotErr = Unmarshal(data, v)
		}()
		if !sameErr(gotErr, wantErr) {
			t.Errorf("Unmarshal(%T): error %v, want %v", v, gotErr, wantErr)
		}
	}
}

// Types used only by TestConcurrentFirstUse, so that their first decode,
// where a fast decoder builds and caches per-type state, happens there.
type (
	concA struct {
		X string            `json:"x"`
		Y []concB           `json:"y"`
		Z map[string]*concB `json:"z"`
	}
	concB struct {
		N int       `json:"n"`
		T time.Time `json:"t"`
		A *concA    `json:"a,omitempty"`
	}
	concC struct {
		P **concB `json:"p"`
		Q []byte  `json:"q"`
	}
)

// TestConcurrentFirstUse decodes never-seen types from many goroutines at
// once; under -race it catches unsynchronised per-type caches.
func TestConcurrentFirstUse(t *testing.T) {
	b := &concB{N: 1, T: sampleUTC, A: &concA{X: "inner"}}
	vals := []any{
		concA{X: "x", Y: []concB{{N: 2}}, Z: map[string]*concB{"b": b}},
		concB{N: 3, A: &concA{Y: []concB{}}},
		concC{P: &b, Q: []byte("q")},
		[]concC{{}},
		map[string]concA{"k": {}},
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range vals {
				v := vals[(i+g)%len(vals)]
				data, err := json.Marshal(v)
				if err != nil {
					t.Error(err)
					return
				}
				checkMatches(t, nil, reflect.TypeOf(v), data)
			}
		}()
	}
	wg.Wait()
}

// unlessJSONv2 returns inputs, or none under the JSON v2 experiment.
func unlessJSONv2(inputs ...string) []string {
	if jsonV2 {
		return nil
	}
	return inputs
}

// fromHook has the JSON v2 experiment's decoding hook, which encoding/json
// calls in that build. Its signature there takes a *jsontext.Decoder; the
// fast path looks the method up by name, so any signature must do.
type fromHook struct{ A int }

func (*fromHook) UnmarshalJSONFrom(any) error { return nil }

// TestFastDeclinesWhatEncodingJSONTreatsSpecially covers two cases found in
// review: a target that is itself a named pointer to time.Time (which
// encoding/json decodes as a struct, and rejects a string for), and a type
// with the v2 hook.
func TestFastDeclinesWhatEncodingJSONTreatsSpecially(t *testing.T) {
	var tm time.Time
	if fast([]byte(`"2024-06-10T12:34:56Z"`), nTimePtr(&tm)) || !tm.IsZero() {
		t.Error("fast decoded a time into a named pointer to time.Time")
	}
	//lint:ignore SA9005 the test checks what encoding/json does with a struct of no exported fields
	if err := Unmarshal([]byte(`"2024-06-10T12:34:56Z"`), nTimePtr(&tm)); !sameErr(err, json.Unmarshal([]byte(`"2024-06-10T12:34:56Z"`), nTimePtr(new(time.Time)))) {
		t.Errorf("Unmarshal into a named pointer to time.Time: %v", err)
	}
	var h struct{ F fromHook }
	if fast([]byte(`{"F":{"A":1}}`), &h) {
		t.Error("fast decoded a type with UnmarshalJSONFrom")
	}
}
