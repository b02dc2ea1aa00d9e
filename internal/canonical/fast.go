package canonical

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"sync"
)

// The fast path writes the canonical form of a Go value directly, without
// encoding/json and the re-parse, for "plain" types: those whose JSON is
// fully determined by their kind and struct tags. A per-type encoder is
// compiled once and cached. The fast path never reports an error: on
// anything it is unsure of (invalid UTF-8, NaN, a cycle, a type it does not
// support) it gives up, and the slow path starts over from scratch and
// produces exactly the output or the error it always has. So the fast path
// only has to agree with the slow path on the values it accepts; the
// differential tests and FuzzFastMatchesSlow check that it does.

// encodeFunc appends the canonical form of v to st.out, or reports false
// to hand the whole value to the slow path. depth counts the containers,
// pointers and interfaces entered so far.
type encodeFunc func(st *state, v reflect.Value, depth int) bool

// fastEncoder holds the encoder of one type. It is a pointer so that a
// recursive type can refer to its own encoder before that is complete.
type fastEncoder struct {
	encode encodeFunc // nil: the type needs the slow path
}

// fastMaxDepth bounds the recursion of the fast path, which has no cycle
// detection of its own: past this depth it gives up, and the slow path
// reports a cycle as encoding/json does, or nesting beyond maxDepth as the
// parser does. Pointers and interfaces count too, since a pointer cycle
// needs no container. A legal value this deep is rare enough that its
// slower encoding does not matter.
const fastMaxDepth = 1000

var (
	fastCache sync.Map // reflect.Type -> *fastEncoder

	// slowOnly is cached for types that need the slow path.
	slowOnly = &fastEncoder{}

	jsonNumberType = reflect.TypeFor[json.Number]()
)

// encodeFast leaves the canonical form of v in st.out and reports true, or
// reports false if v needs the slow path (st.out is then garbage).
func (st *state) encodeFast(v any) bool {
	st.out = st.out[:0]
	st.names = st.names[:0]
	st.members = st.members[:0]
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		st.out = append(st.out, "null"...)
		return true
	}
	e := fastEncoderFor(rv.Type())
	return e.encode != nil && e.encode(st, rv, 0)
}

// fastEncoderFor returns the cached encoder of t, compiling it first if
// needed. Its encode is nil if t or any type reachable from it is not
// plain.
func fastEncoderFor(t reflect.Type) *fastEncoder {
	if e, ok := fastCache.Load(t); ok {
		return e.(*fastEncoder)
	}
	c := fastCompiler{seen: make(map[reflect.Type]*fastEncoder)}
	if c.compile(t) == nil {
		fastCache.Store(t, slowOnly)
		return slowOnly
	}
	// Only a complete compilation is published: encoders built while an
	// enclosing type was still in progress assumed that type plain, which
	// holds only if the whole compilation succeeded.
	for typ, enc := range c.seen {
		fastCache.LoadOrStore(typ, enc)
	}
	e, _ := fastCache.Load(t)
	return e.(*fastEncoder)
}

// fastCompiler compiles the encoders of one type and of the types reachable
// from it.
type fastCompiler struct {
	seen map[reflect.Type]*fastEncoder // compiled or in progress
}

// compile returns the encoder of t, or nil if t is not plain.
func (c *fastCompiler) compile(t reflect.Type) *fastEncoder {
	if e, ok := c.seen[t]; ok {
		return e // possibly still in progress: t is recursive
	}
	if e, ok := fastCache.Load(t); ok {
		if e := e.(*fastEncoder); e.encode != nil {
			return e
		}
		return nil
	}
	if !plainType(t) {
		return nil
	}
	e := new(fastEncoder)
	c.seen[t] = e
	fn := c.build(t)
	if fn == nil {
		return nil
	}
	e.encode = fn
	return e
}

// plainType reports whether t itself (not yet its elements or fields) is
// encoded by encoding/json from its kind alone.
//
// A method on *t is enough to exclude t: encoding/json calls it whenever
// the value is addressable, and mirroring that distinction is not worth
// the risk. Float32 is excluded because encoding/json formats it with
// float32 precision, which the slow path then reads as a float64 literal.
func plainType(t reflect.Type) bool {
	if t == jsonNumberType || hasMarshaler(t) || hasMarshaler(reflect.PointerTo(t)) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float64, reflect.String,
		reflect.Pointer, reflect.Interface, reflect.Struct, reflect.Map, reflect.Slice, reflect.Array:
		return true
	}
	return false // Float32, Complex*, Chan, Func, UnsafePointer
}

func hasMarshaler(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType)
}

// build returns the encode function of the plain type t, or nil if a type
// reachable from it is not plain.
func (c *fastCompiler) build(t reflect.Type) encodeFunc {
	switch t.Kind() {
	case reflect.Bool:
		return encodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return encodeInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return encodeUint
	case reflect.Float64:
		return encodeFloat64
	case reflect.String:
		return encodeString
	case reflect.Interface:
		return encodeInterface
	case reflect.Pointer:
		return c.pointerEncoder(t)
	case reflect.Slice:
		if isByteSlice(t) {
			return encodeBytes
		}
		return c.arrayEncoder(t, true)
	case reflect.Array:
		return c.arrayEncoder(t, false)
	case reflect.Struct:
		return c.structEncoder(t)
	case reflect.Map:
		return c.mapEncoder(t)
	}
	return nil
}

func encodeBool(st *state, v reflect.Value, _ int) bool {
	if v.Bool() {
		st.out = append(st.out, "true"...)
	} else {
		st.out = append(st.out, "false"...)
	}
	return true
}

// encodeInt and encodeUint emit plain decimal digits. That is what the slow
// path makes of them: encoding/json writes the digits, and appendInteger
// keeps any integer literal of at most 21 digits as written, while 64-bit
// integers have at most 20.
func encodeInt(st *state, v reflect.Value, _ int) bool {
	st.out = strconv.AppendInt(st.out, v.Int(), 10)
	return true
}

func encodeUint(st *state, v reflect.Value, _ int) bool {
	st.out = strconv.AppendUint(st.out, v.Uint(), 10)
	return true
}

// encodeFloat64 emits the ECMAScript form. Whatever literal encoding/json
// writes for a finite float64 denotes that float64 exactly when read back
// (its shortest round-trip digits), and the slow path prints any such
// literal as appendES6 does: integers below 10^21 keep their digits, which
// are the ECMAScript form, and everything else is reformatted by it.
func encodeFloat64(st *state, v reflect.Value, _ int) bool {
	f := v.Float()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return false // encoding/json's error, via the slow path
	}
	st.out = appendES6(st.out, f)
	return true
}

func encodeString(st *state, v reflect.Value, _ int) bool {
	var ok bool
	st.out, ok = appendJCSString(st.out, v.String())
	return ok
}

// encodeInterface looks up the encoder of the dynamic type, which decides
// on its own whether it is plain.
func encodeInterface(st *state, v reflect.Value, depth int) bool {
	if v.IsNil() {
		st.out = append(st.out, "null"...)
		return true
	}
	if depth >= fastMaxDepth {
		return false
	}
	ev := v.Elem()
	e := fastEncoderFor(ev.Type())
	return e.encode != nil && e.encode(st, ev, depth+1)
}

func (c *fastCompiler) pointerEncoder(t reflect.Type) encodeFunc {
	elem := c.compile(t.Elem())
	if elem == nil {
		return nil
	}
	return func(st *state, v reflect.Value, depth int) bool {
		if v.IsNil() {
			st.out = append(st.out, "null"...)
			return true
		}
		if depth >= fastMaxDepth {
			return false
		}
		return elem.encode(st, v.Elem(), depth+1)
	}
}

// isByteSlice reports whether encoding/json encodes the slice type t as a
// base64 string; its test is on the pointer to the element type.
func isByteSlice(t reflect.Type) bool {
	return t.Elem().Kind() == reflect.Uint8 && !hasMarshaler(reflect.PointerTo(t.Elem()))
}

// encodeBytes emits standard base64, which needs no escaping.
func encodeBytes(st *state, v reflect.Value, _ int) bool {
	if v.IsNil() {
		st.out = append(st.out, "null"...)
		return true
	}
	st.out = append(st.out, '"')
	st.out = base64.StdEncoding.AppendEncode(st.out, v.Bytes())
	st.out = append(st.out, '"')
	return true
}

// arrayEncoder encodes slices (nil is null) and arrays element by element.
func (c *fastCompiler) arrayEncoder(t reflect.Type, slice bool) encodeFunc {
	elem := c.compile(t.Elem())
	if elem == nil {
		return nil
	}
	return func(st *state, v reflect.Value, depth int) bool {
		if slice && v.IsNil() {
			st.out = append(st.out, "null"...)
			return true
		}
		if depth >= fastMaxDepth {
			return false
		}
		st.out = append(st.out, '[')
		for i, n := 0, v.Len(); i < n; i++ {
			if i > 0 {
				st.out = append(st.out, ',')
			}
			if !elem.encode(st, v.Index(i), depth+1) {
				return false
			}
		}
		st.out = append(st.out, ']')
		return true
	}
}
