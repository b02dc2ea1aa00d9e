package jsondec

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/idemkit/idempotency/internal/jsontag"
)

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	marshalerType       = reflect.TypeFor[json.Marshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	numberType          = reflect.TypeFor[json.Number]()
	timeType            = reflect.TypeFor[time.Time]()
)

// compiler compiles the decoders of one type and of the types reachable
// from it.
type compiler struct {
	seen map[reflect.Type]*decoder // compiled or in progress
}

// compile returns the decoder of t, or nil if t or a type reachable from it
// needs encoding/json.
func (c *compiler) compile(t reflect.Type) *decoder {
	if d, ok := c.seen[t]; ok {
		return d // possibly still in progress: t is recursive
	}
	if t == timeType {
		return &decoder{decode: decodeTime}
	}
	if t == numberType || hasUnmarshaler(t) && !isTimePointer(t) {
		return nil
	}
	d := new(decoder)
	c.seen[t] = d
	fn := c.build(t)
	if fn == nil {
		return nil // and so is the whole compilation: nothing is published
	}
	d.decode = fn
	return d
}

// hasUnmarshaler reports whether encoding/json may call a method to decode
// t. A method on *t counts: encoding/json calls it when the value is
// addressable, which every value the fast path reaches is (the one
// exception, a value behind a named pointer type, is handled where such a
// pointer is met). UnmarshalJSONFrom is the hook of the JSON v2
// experiment, under which encoding/json calls it; it is looked up by name
// so that this compiles without the experiment.
func hasUnmarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	if t.Implements(unmarshalerType) || t.Implements(textUnmarshalerType) ||
		pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType) {
		return true
	}
	_, ok := pt.MethodByName("UnmarshalJSONFrom") // *t's methods include t's
	return ok
}

// build returns the decode function of t, or nil if t needs encoding/json.
func (c *compiler) build(t reflect.Type) decodeFunc {
	switch t.Kind() {
	case reflect.Bool:
		return decodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decodeInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return decodeUint
	case reflect.Float32, reflect.Float64:
		return decodeFloat
	case reflect.String:
		return decodeString
	case reflect.Pointer:
		return c.pointerDecoder(t)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return bytesDecoder(t)
		}
		return c.sliceDecoder(t)
	case reflect.Map:
		return c.mapDecoder(t)
	case reflect.Struct:
		return c.structDecoder(t)
	}
	// Interfaces, arrays and the kinds encoding/json cannot decode at all.
	return nil
}

// bytesDecoder decodes base64 for a byte slice. encoding/json writes a
// slice of a byte type with methods of its own as an array, or through the
// methods: those take the slow route.
func bytesDecoder(t reflect.Type) decodeFunc {
	e := t.Elem()
	pe := reflect.PointerTo(e)
	for _, m := range []reflect.Type{marshalerType, textMarshalerType, unmarshalerType, textUnmarshalerType} {
		if e.Implements(m) || pe.Implements(m) {
			return nil
		}
	}
	return decodeBytes
}

// isTimePointer reports whether t is *time.Time, whose UnmarshalJSON is
// time.Time's own: decoding through the pointer is decoding the time.
func isTimePointer(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer && t.Name() == "" && t.Elem() == timeType
}

func (c *compiler) pointerDecoder(t reflect.Type) decodeFunc {
	if t.Name() != "" && t.Elem() == timeType {
		// encoding/json looks for methods on the pointers it walks, and a
		// named pointer type has none, so it decodes the time.Time behind
		// it as a struct without exported fields (an error for a string).
		// The JSON v2 experiment decodes the time. Leave both to it.
		return nil
	}
	elem := c.compile(t.Elem())
	if elem == nil {
		return nil
	}
	return func(d *decodeState, v reflect.Value, depth int) bool {
		if d.null() {
			return true
		}
		if depth++; depth > maxDepth {
			return false
		}
		p := reflect.New(t.Elem())
		if !elem.decode(d, p.Elem(), depth) {
			return false
		}
		v.Set(p)
		return true
	}
}

func (c *compiler) sliceDecoder(t reflect.Type) decodeFunc {
	elem := c.compile(t.Elem())
	if elem == nil {
		return nil
	}
	return func(d *decodeState, v reflect.Value, depth int) bool {
		depth, null, ok := d.enter('[', depth)
		if null || !ok {
			return null
		}
		// encoding/json makes [] an empty slice, not a nil one.
		v.Set(reflect.MakeSlice(t, 0, 0))
		if d.consume(']') {
			return true
		}
		for i := 0; ; i++ {
			v.Grow(1)
			v.SetLen(i + 1)
			if !elem.decode(d, v.Index(i), depth) {
				return false
			}
			if done, more := d.next(']'); !more {
				return done
			}
		}
	}
}

// mapDecoder decodes objects into maps with string keys. Map keys with an
// UnmarshalText method, and integer keys, take the slow route. A key that
// appears twice keeps its last value, as in encoding/json.
func (c *compiler) mapDecoder(t reflect.Type) decodeFunc {
	kt := t.Key()
	if kt.Kind() != reflect.String || hasUnmarshaler(kt) {
		return nil
	}
	elem := c.compile(t.Elem())
	if elem == nil {
		return nil
	}
	return func(d *decodeState, v reflect.Value, depth int) bool {
		depth, null, ok := d.enter('{', depth)
		if null || !ok {
			return null
		}
		v.Set(reflect.MakeMap(t))
		if d.consume('}') {
			return true
		}
		key := reflect.New(kt).Elem()
		val := reflect.New(t.Elem()).Elem()
		for {
			s, ok := d.string()
			if !ok || !d.consume(':') {
				return false
			}
			key.SetString(s)
			val.SetZero()
			if !elem.decode(d, val, depth) {
				return false
			}
			v.SetMapIndex(key, val)
			if done, more := d.next('}'); !more {
				return done
			}
		}
	}
}

// field is a struct field as encoding/json names it.
type field struct {
	name  string
	index int
	dec   *decoder
}

// structDecoder decodes an object whose keys name the fields exactly and
// in field order, as encoding/json.Marshal writes them; fields it left out
// (omitempty, omitzero) stay zero. Any other key, or a key out of order,
// hands the input to encoding/json, which also knows what to do with
// case-folded and duplicate keys.
func (c *compiler) structDecoder(t reflect.Type) decodeFunc {
	fields, ok := c.structFields(t)
	if !ok {
		return nil
	}
	return func(d *decodeState, v reflect.Value, depth int) bool {
		depth, null, ok := d.enter('{', depth)
		if null || !ok {
			return null
		}
		if d.consume('}') {
			return true
		}
		next := 0
		for {
			key, ok := d.plainKey()
			if !ok {
				return false
			}
			for next < len(fields) && fields[next].name != string(key) {
				next++
			}
			if next == len(fields) {
				return false
			}
			f := fields[next]
			next++
			if !f.dec.decode(d, v.Field(f.index), depth) {
				return false
			}
			if done, more := d.next('}'); !more {
				return done
			}
		}
	}
}

// structFields lists t's fields in order as encoding/json names them, or
// reports false if t has a field whose treatment is not plain: an embedded
// field (promotion and its dominance rules), a tag option other than
// omitempty and omitzero (",string" changes the encoding; the JSON v2
// experiment acts on others), a tag name encoding/json replaces by the
// field's (rare enough not to mirror, and the v2 experiment rules
// otherwise), or two fields sharing a name.
func (c *compiler) structFields(t reflect.Type) ([]field, bool) {
	var fields []field
	names := make(map[string]bool)
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil, false
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		for o := range strings.SplitSeq(opts, ",") {
			if o != "" && o != "omitempty" && o != "omitzero" {
				return nil, false
			}
		}
		if name != "" && !jsontag.ValidName(name) {
			return nil, false
		}
		if name == "" {
			name = sf.Name
		}
		if names[name] {
			return nil, false
		}
		names[name] = true
		dec := c.compile(sf.Type)
		if dec == nil {
			return nil, false
		}
		fields = append(fields, field{name: name, index: i, dec: dec})
	}
	return fields, true
}
