package canonical

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/idemkit/idempotency/internal/jsontag"
)

// fastField is one member of a struct's canonical form.
type fastField struct {
	name   string
	prefix []byte // `"name":` with the name escaped as JCS requires
	index  []int  // as in jsonField
	// viaPointer is set when index passes through an embedded pointer,
	// which encoding/json skips the field for when nil.
	viaPointer bool
	omitEmpty  bool
	omitZero   bool
	isZero     func(reflect.Value) bool
	enc        *fastEncoder
}

// structEncoder encodes the fields encoding/json selects (cachedFields
// mirrors it) in JCS order. Names are fixed per type, so the order and the
// escaped names are computed here once, and omitted fields are merely
// skipped at run time.
func (c *fastCompiler) structEncoder(t reflect.Type) encodeFunc {
	jfs := cachedFields(t)
	fields := make([]fastField, 0, len(jfs))
	for _, jf := range jfs {
		ft, viaPointer, tagName, plainOpts := fieldType(t, jf.index)
		if !plainOpts {
			// ",string" wraps the value in a string, and
			// GOEXPERIMENT=jsonv2 acts on options v1 ignores (inline,
			// format:…, unknown); the slow path follows whichever
			// encoding/json is built in. Rare enough to leave to it.
			return nil
		}
		if tagName != "" && !jsontag.ValidName(tagName) {
			// encoding/json ignores such a name in favour of the Go
			// field name, but GOEXPERIMENT=jsonv2 uses it as is; the
			// slow path follows whichever is built in.
			return nil
		}
		enc := c.compile(ft)
		if enc == nil {
			return nil
		}
		prefix, ok := appendJCSString(nil, jf.name)
		if !ok {
			return nil // cannot happen for a Go identifier or valid tag
		}
		fields = append(fields, fastField{
			name:       jf.name,
			prefix:     append(prefix, ':'),
			index:      jf.index,
			viaPointer: viaPointer,
			omitEmpty:  jf.omitEmpty,
			omitZero:   jf.omitZero,
			isZero:     jf.isZero,
			enc:        enc,
		})
	}
	// cachedFields leaves no two fields with one name, so this order is
	// total and is the order the parser would sort the members into.
	slices.SortFunc(fields, func(a, b fastField) int {
		return compareUTF16([]byte(a.name), []byte(b.name))
	})

	return func(st *state, v reflect.Value, depth int) bool {
		if depth >= fastMaxDepth {
			return false
		}
		st.out = append(st.out, '{')
		first := true
		for i := range fields {
			f := &fields[i]
			fv := v
			if f.viaPointer {
				var ok bool
				if fv, ok = fieldViaPointers(v, f.index); !ok {
					continue
				}
			} else {
				for _, x := range f.index {
					fv = fv.Field(x)
				}
			}
			// The same tests encoding/json applies, on the same field value.
			if f.omitEmpty && isEmptyValue(fv) {
				continue
			}
			if f.omitZero && (f.isZero == nil && fv.IsZero() || f.isZero != nil && f.isZero(fv)) {
				continue
			}
			if !first {
				st.out = append(st.out, ',')
			}
			first = false
			st.out = append(st.out, f.prefix...)
			if !f.enc.encode(st, fv, depth+1) {
				return false
			}
		}
		st.out = append(st.out, '}')
		return true
	}
}

// fieldType follows index from the struct type t as encoding/json does,
// returning the field's type, whether an embedded pointer lies on the way,
// the name in its json tag, and whether every tag on the way has no options
// but omitempty and omitzero.
func fieldType(t reflect.Type, index []int) (ft reflect.Type, viaPointer bool, tagName string, plainOpts bool) {
	ft = t
	plainOpts = true
	var sf reflect.StructField
	for _, i := range index {
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
			viaPointer = true
		}
		sf = ft.Field(i)
		ft = sf.Type
		_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		plainOpts = plainOpts && onlyOmitOptions(opts)
	}
	tagName, _, _ = strings.Cut(sf.Tag.Get("json"), ",")
	return ft, viaPointer, tagName, plainOpts
}

// onlyOmitOptions reports whether a json tag's options are only omitempty
// and omitzero, the ones the fast path implements.
func onlyOmitOptions(opts string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o != "omitempty" && o != "omitzero" {
			return false
		}
	}
	return true
}

// fieldViaPointers is reflect.Value.FieldByIndex, except that a nil
// embedded pointer reports false (encoding/json omits the field) instead
// of panicking.
func fieldViaPointers(v reflect.Value, index []int) (reflect.Value, bool) {
	for _, i := range index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v, true
}

// mapKeyKind says how encoding/json turns a map key into a member name.
type mapKeyKind uint8

const (
	stringKey mapKeyKind = iota
	intKey
	uintKey
)

// mapScratch holds settable values that map entries are copied into,
// because reflect.MapIter.Key and Value allocate for most types. It is
// pooled per map type so that nested maps of one type do not share it.
type mapScratch struct {
	iter     reflect.MapIter
	key, val reflect.Value
}

// mapEncoder encodes maps with string or integer keys, as encoding/json
// does for keys without a MarshalText method: integers become their
// decimal digits. Keys are sorted in UTF-16 order by the parser's own
// member ordering, so the two paths cannot disagree on it.
func (c *fastCompiler) mapEncoder(t reflect.Type) encodeFunc {
	kt := t.Key()
	if hasMarshaler(kt) || hasMarshaler(reflect.PointerTo(kt)) {
		return nil
	}
	var kind mapKeyKind
	switch kt.Kind() {
	case reflect.String:
		kind = stringKey
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		kind = intKey
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		kind = uintKey
	default:
		return nil
	}
	elem := c.compile(t.Elem())
	if elem == nil {
		return nil
	}
	if t == stringMapType {
		return encodeStringMap
	}
	scratch := &sync.Pool{New: func() any {
		return &mapScratch{key: reflect.New(kt).Elem(), val: reflect.New(t.Elem()).Elem()}
	}}

	return func(st *state, v reflect.Value, depth int) bool {
		if v.IsNil() {
			st.out = append(st.out, "null"...)
			return true
		}
		// SetIterKey panics on a map read through an unexported field;
		// encoding/json never reaches one, but the slow path can decide.
		if depth >= fastMaxDepth || !v.CanInterface() {
			return false
		}
		st.out = append(st.out, '{')
		if v.Len() > 0 {
			sc := scratch.Get().(*mapScratch)
			ok := st.mapMembers(v, sc, kind, elem, depth)
			// Drop the references to the map and its last entry.
			sc.iter.Reset(reflect.Value{})
			sc.key.SetZero()
			sc.val.SetZero()
			scratch.Put(sc)
			if !ok {
				return false
			}
		}
		st.out = append(st.out, '}')
		return true
	}
}

// mapMembers emits the members of the non-empty map v in iteration order,
// recording them in st.members as the parser does, and then has st.order
// sort them.
func (st *state) mapMembers(v reflect.Value, sc *mapScratch, kind mapKeyKind, elem *fastEncoder, depth int) bool {
	objStart := len(st.out)
	base := len(st.members)
	// As in the parser: names of this object are dead once it is emitted,
	// and those of enclosing objects lie below this mark.
	namesBase := len(st.names)
	sc.iter.Reset(v)
	for sc.iter.Next() {
		sc.key.SetIterKey(&sc.iter)
		sc.val.SetIterValue(&sc.iter)
		if len(st.members) > base {
			st.out = append(st.out, ',')
		}
		start := len(st.out)
		nameStart := len(st.names)
		high := false
		switch kind {
		case stringKey:
			s := sc.key.String()
			var ok bool
			if st.out, ok = appendJCSString(st.out, s); !ok {
				return false
			}
			st.names = append(st.names, s...)
			high = hasHighRune(s)
		case intKey, uintKey:
			if kind == intKey {
				st.names = strconv.AppendInt(st.names, sc.key.Int(), 10)
			} else {
				st.names = strconv.AppendUint(st.names, sc.key.Uint(), 10)
			}
			st.out = append(st.out, '"')
			st.out = append(st.out, st.names[nameStart:]...)
			st.out = append(st.out, '"')
		}
		// Fixed before the value is encoded: nested objects append to
		// st.names only beyond it.
		name := st.names[nameStart:len(st.names):len(st.names)]
		st.out = append(st.out, ':')
		if !elem.encode(st, sc.val, depth+1) {
			return false
		}
		st.members = append(st.members, member{name: name, start: start, end: len(st.out), high: high})
	}
	if len(st.members)-base > 1 {
		if err := st.order(objStart, st.members[base:]); err != nil {
			return false // duplicate names cannot come from a Go map
		}
	}
	st.members = st.members[:base]
	st.names = st.names[:namesBase]
	return true
}

// stringMapType is the map type requests carry most (metadata, labels),
// which encodeStringMap writes without reflect's map iteration.
var stringMapType = reflect.TypeFor[map[string]string]()

// strPair is one member of a map[string]string being encoded.
type strPair struct{ k, v string }

// encodeStringMap is mapEncoder's encoder for exactly map[string]string:
// the members sorted by UTF-16 order of their names, which cannot repeat.
func encodeStringMap(st *state, v reflect.Value, depth int) bool {
	if v.IsNil() {
		st.out = append(st.out, "null"...)
		return true
	}
	if depth >= fastMaxDepth || !v.CanInterface() {
		return false
	}
	m := v.Interface().(map[string]string)
	pairs := st.pairs[:0]
	for k, e := range m {
		pairs = append(pairs, strPair{k, e})
	}
	slices.SortFunc(pairs, func(a, b strPair) int { return compareUTF16(a.k, b.k) })
	st.out = append(st.out, '{')
	ok := true
	for i, p := range pairs {
		if i > 0 {
			st.out = append(st.out, ',')
		}
		if st.out, ok = appendJCSString(st.out, p.k); !ok {
			break
		}
		st.out = append(st.out, ':')
		if st.out, ok = appendJCSString(st.out, p.v); !ok {
			break
		}
	}
	clear(pairs) // keep no strings of the caller's map alive in the pool
	st.pairs = pairs[:0]
	if !ok {
		return false
	}
	st.out = append(st.out, '}')
	return true
}
