package canonical

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// invalidUTF8 carries the location of an invalid string while the walk
// unwinds; segments are collected innermost first.
type invalidUTF8 struct{ path []string }

func (e *invalidUTF8) Error() string {
	p := slices.Clone(e.path)
	slices.Reverse(p)
	return ErrInvalidUTF8.Error() + " (at value" + strings.Join(p, "") + ")"
}

func (e *invalidUTF8) Unwrap() error { return ErrInvalidUTF8 }

// at prefixes the location of err with segment if err is an *invalidUTF8.
func at(err error, segment string) error {
	if e, ok := err.(*invalidUTF8); ok {
		e.path = append(e.path, segment)
	}
	return err
}

// checkUTF8 reports ErrInvalidUTF8 if encoding/json replaced invalid UTF-8
// somewhere in v, which its output alone cannot reveal.
//
// It visits what encoding/json encodes, the same way: the strings, map
// keys and MarshalText results that encoding/json itself escapes. The
// output of MarshalJSON (including json.RawMessage) reaches the parser
// unchanged and is validated there, but the method itself commonly calls
// json.Marshal on its fields, which replaces invalid UTF-8 out of the
// parser's sight. So the value behind a MarshalJSON method is walked too,
// as if it had no method: conservative, since the method might not encode
// a string that is checked, but a false alarm is an error the caller sees
// while a miss is two requests sharing a fingerprint.
//
// Behind a MarshalJSON method may lie what the JSON does not show, such as
// parent pointers, so the walk cannot rely on json.Marshal having found no
// cycle: it skips pointers, maps and slices it has already entered (their
// content is checked once, which is all that matters) and gives up with
// ErrUnsupported beyond maxWalkDepth rather than exhaust the stack.
func checkUTF8(v reflect.Value) error {
	var w walker
	return w.walk(v, false, 0)
}

// maxWalkDepth bounds the recursion of the walk; pointer and interface
// chains are followed in a loop and do not count.
const maxWalkDepth = 100000

var errWalkTooDeep = fmt.Errorf("%w: value nested more than %d levels deep behind a MarshalJSON method", ErrUnsupported, maxWalkDepth)

type walker struct {
	visited map[visit]struct{}
}

// visit identifies a pointer, map or slice target. The type is part of it
// because a struct and its first field share an address.
type visit struct {
	ptr uintptr
	len int
	typ reflect.Type
}

// enter reports whether v is entered for the first time.
func (w *walker) enter(v reflect.Value) bool {
	k := visit{ptr: v.Pointer(), typ: v.Type()}
	if v.Kind() == reflect.Slice {
		k.len = v.Len()
	}
	if _, ok := w.visited[k]; ok {
		return false
	}
	if w.visited == nil {
		w.visited = make(map[visit]struct{})
	}
	w.visited[k] = struct{}{}
	return true
}

// walk checks v; plain means v is behind a MarshalJSON method and is walked
// as encoding/json would encode it without one.
func (w *walker) walk(v reflect.Value, plain bool, depth int) error {
	if depth > maxWalkDepth {
		return errWalkTooDeep
	}
	for v.IsValid() {
		t := v.Type()
		if !plain {
			// The encoder choice follows newTypeEncoder in encoding/json:
			// addressable values also use pointer-receiver methods.
			addr := t.Kind() != reflect.Pointer && v.CanAddr()
			if t.Implements(marshalerType) || (addr && reflect.PointerTo(t).Implements(marshalerType)) {
				plain = true
			} else if t.Implements(textMarshalerType) || (addr && reflect.PointerTo(t).Implements(textMarshalerType)) {
				return checkText(v, t.Implements(textMarshalerType))
			}
		}
		switch v.Kind() {
		case reflect.String:
			if !utf8.ValidString(v.String()) {
				return &invalidUTF8{}
			}
			return nil
		case reflect.Pointer:
			if v.IsNil() || !w.enter(v) {
				return nil
			}
			v = v.Elem()
		case reflect.Interface:
			v = v.Elem() // nil yields the zero Value and ends the loop
		case reflect.Struct:
			return w.walkStruct(v, t, depth)
		case reflect.Map:
			if v.IsNil() || !w.enter(v) {
				return nil
			}
			return w.walkMap(v, t, depth)
		case reflect.Slice, reflect.Array:
			if cannotHoldText(t.Elem()) {
				return nil
			}
			if v.Kind() == reflect.Slice && (v.IsNil() || !w.enter(v)) {
				return nil
			}
			for i := range v.Len() {
				if err := w.walk(v.Index(i), false, depth+1); err != nil {
					return at(err, "["+strconv.Itoa(i)+"]")
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// checkText validates the MarshalText output of v, which encoding/json
// would escape with U+FFFD replacements. direct tells whether v's own type
// (rather than only its pointer type) has the method.
func checkText(v reflect.Value, direct bool) error {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return nil // encoded as null
	}
	var tm encoding.TextMarshaler
	if direct {
		var ok bool
		if tm, ok = v.Interface().(encoding.TextMarshaler); !ok {
			return nil // nil interface, encoded as null
		}
	} else {
		tm = v.Addr().Interface().(encoding.TextMarshaler)
	}
	b, err := tm.MarshalText()
	if err != nil {
		// It succeeded moments ago inside json.Marshal.
		return fmt.Errorf("%w: MarshalText of %s failed when called again; make it deterministic: %w", ErrUnsupported, v.Type(), err)
	}
	if !utf8.Valid(b) {
		return &invalidUTF8{path: []string{" (MarshalText of " + v.Type().String() + ")"}}
	}
	return nil
}

func (w *walker) walkStruct(v reflect.Value, t reflect.Type, depth int) error {
fields:
	for _, f := range cachedFields(t) {
		fv := v
		for _, i := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue fields // embedded nil pointer: encoding/json skips
				}
				fv = fv.Elem()
			}
			fv = fv.Field(i)
		}
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if f.omitZero && (f.isZero == nil && fv.IsZero() || f.isZero != nil && f.isZero(fv)) {
			continue
		}
		if err := w.walk(fv, false, depth+1); err != nil {
			return at(err, "."+f.name)
		}
	}
	return nil
}

func (w *walker) walkMap(v reflect.Value, t reflect.Type, depth int) error {
	kt := t.Key()
	keyString := kt.Kind() == reflect.String // takes precedence over MarshalText
	keyText := !keyString && kt.Implements(textMarshalerType)
	checkValues := !cannotHoldText(t.Elem())
	if !keyString && !keyText && !checkValues {
		return nil
	}
	for it := v.MapRange(); it.Next(); {
		k := it.Key()
		switch {
		case keyString:
			if !utf8.ValidString(k.String()) {
				return &invalidUTF8{path: []string{"[key " + strconv.Quote(k.String()) + "]"}}
			}
		case keyText:
			if err := checkText(k, true); err != nil {
				return at(err, "[key "+fmt.Sprint(k.Interface())+"]")
			}
		}
		if !checkValues {
			continue
		}
		if err := w.walk(it.Value(), false, depth+1); err != nil {
			if keyString {
				return at(err, "["+strconv.Quote(k.String())+"]")
			}
			return at(err, "["+fmt.Sprint(k.Interface())+"]")
		}
	}
	return nil
}

// cannotHoldText reports whether values of type t encode to JSON without
// any string that encoding/json itself escapes, so walking them is wasted
// work; []byte and numeric slices are the common case.
func cannotHoldText(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		// Only MarshalText can turn a number into a string; a MarshalJSON
		// method's output is parsed, and the number behind it is no text.
		return !reflect.PointerTo(t).Implements(textMarshalerType)
	}
	return false
}
