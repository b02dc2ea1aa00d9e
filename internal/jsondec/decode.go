// Package jsondec decodes JSON that encoding/json.Marshal wrote back into a
// zero value of the same type, faster than encoding/json.Unmarshal and with
// exactly its result.
//
// It exists for the Manager's replay, which decodes every recorded response
// into a fresh value: encoding/json validates the whole input in a first
// pass, then decodes it by reflection in a second, and that was the largest
// part of what a replay cost beyond its one read.
//
// The fast path compiles a decoder per type, once, and accepts only input
// laid out as encoding/json.Marshal lays it out: object keys equal to field
// names, in field order, no whitespace. On anything else (an unknown or
// case-folded key, a value out of range, a type with an UnmarshalJSON
// method, invalid UTF-8, a lone surrogate) it gives up, zeroes the target
// and leaves the whole input to encoding/json, which then produces the value
// or the error it always has. So the fast path only has to agree with
// encoding/json on what it accepts; the differential tests and
// FuzzMatchesEncodingJSON check that it does.
package jsondec

import (
	"encoding/json"
	"reflect"
	"sync"
)

// Unmarshal decodes data into v, a non-nil pointer to a zero value, and
// returns what json.Unmarshal(data, v) would: the same value, or an error
// with the same message. v must point to a zero value: the fast path does
// not merge into existing contents as encoding/json does, and zeroes the
// target before it hands the input to encoding/json.
func Unmarshal(data []byte, v any) error {
	if fast(data, v) {
		return nil
	}
	return json.Unmarshal(data, v)
}

// fast decodes data into v and reports true, or reports false, leaving *v
// zero, when data or v's type needs encoding/json.
func fast(data []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Type().Name() != "" {
		// A named pointer type has no methods, so encoding/json does not
		// look for the pointee's either (a time.Time behind one is a
		// struct to it): not worth mirroring.
		return false
	}
	dec := decoderFor(rv.Type().Elem())
	if dec.decode == nil {
		return false
	}
	d := decodeState{data: data}
	target := rv.Elem()
	if dec.decode(&d, target, 0) && d.off == len(d.data) {
		return true
	}
	// Whatever the decoder wrote is new: fields of a value that was zero,
	// and values it allocated. Zeroing the target undoes all of it.
	target.SetZero()
	return false
}

// decodeFunc decodes the value at d.off into v, which is settable,
// addressable and zero, and reports true, or reports false to hand the whole
// input to encoding/json. depth counts the containers and pointers entered
// so far.
type decodeFunc func(d *decodeState, v reflect.Value, depth int) bool

// decoder holds the decode function of one type. It is a pointer so that a
// recursive type can refer to its own decoder before that is complete.
type decoder struct {
	decode decodeFunc // nil: the type needs encoding/json
}

// maxDepth bounds the recursion of the fast path. encoding/json allows
// 10000 levels; a value nested deeper than this takes its slower route.
const maxDepth = 1000

var (
	cache sync.Map // reflect.Type -> *decoder

	// slowOnly is cached for types that need encoding/json.
	slowOnly = &decoder{}
)

// decoderFor returns the cached decoder of t, compiling it first if needed.
func decoderFor(t reflect.Type) *decoder {
	if d, ok := cache.Load(t); ok {
		return d.(*decoder)
	}
	c := compiler{seen: make(map[reflect.Type]*decoder)}
	dec := c.compile(t)
	if dec == nil {
		dec = slowOnly
	}
	// Only t is published. Decoders of the types reachable from it are
	// complete once t is, and are compiled again as part of any other
	// type that reaches them.
	d, _ := cache.LoadOrStore(t, dec)
	return d.(*decoder)
}

// decodeState is the input and the position in it.
type decodeState struct {
	data []byte
	off  int
	buf  []byte // scratch for unescaping strings
}
