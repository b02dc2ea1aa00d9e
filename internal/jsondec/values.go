package jsondec

import (
	"encoding/base64"
	"math"
	"reflect"
	"strconv"
	"time"
)

// Every decoder takes null as encoding/json does into a zero value: it
// leaves the value as it is (encoding/json sets pointers, maps and slices to
// nil, and leaves other kinds alone; a time.Time's UnmarshalJSON ignores
// null too).

func decodeBool(d *decodeState, v reflect.Value, _ int) bool {
	switch {
	case d.null():
	case d.literal("true"):
		v.SetBool(true)
	case d.literal("false"):
	default:
		return false
	}
	return true
}

func decodeString(d *decodeState, v reflect.Value, _ int) bool {
	if d.null() {
		return true
	}
	s, ok := d.string()
	if ok {
		v.SetString(s)
	}
	return ok
}

// decodeInt takes integer literals only, as encoding/json does: 1.0 and
// 1e3 are errors there, and take the slow route here.
func decodeInt(d *decodeState, v reflect.Value, _ int) bool {
	if d.null() {
		return true
	}
	neg := d.consume('-')
	u, ok := d.digits()
	if !ok || d.numberContinues() {
		return false
	}
	var n int64
	switch {
	case !neg && u <= math.MaxInt64:
		n = int64(u)
	case neg && u <= 1<<63:
		n = int64(-u) // -(1<<63) wraps to math.MinInt64, as wanted
	default:
		return false
	}
	if v.OverflowInt(n) {
		return false
	}
	v.SetInt(n)
	return true
}

func decodeUint(d *decodeState, v reflect.Value, _ int) bool {
	if d.null() {
		return true
	}
	u, ok := d.digits()
	if !ok || d.numberContinues() || v.OverflowUint(u) {
		return false
	}
	v.SetUint(u)
	return true
}

// decodeFloat parses the literal as encoding/json does: strconv.ParseFloat
// at the field's precision, rejecting what overflows it.
func decodeFloat(d *decodeState, v reflect.Value, _ int) bool {
	if d.null() {
		return true
	}
	lit, ok := d.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(lit), v.Type().Bits())
	if err != nil || v.OverflowFloat(f) {
		return false
	}
	v.SetFloat(f)
	return true
}

// decodeBytes decodes base64 as encoding/json does, which makes "" an empty
// slice and null a nil one. Marshal writes base64 without escapes, and a
// literal without escapes is its own string.
func decodeBytes(d *decodeState, v reflect.Value, _ int) bool {
	if d.null() {
		return true
	}
	raw, ok := d.plainString()
	if !ok {
		return false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(b, raw)
	if err != nil {
		return false
	}
	v.SetBytes(b[:n])
	return true
}

// decodeTime calls time.Time's own UnmarshalJSON, as encoding/json does,
// with the literal including its quotes. time.Time.MarshalJSON writes
// RFC 3339 in plain ASCII; anything escaped takes the slow route.
func decodeTime(d *decodeState, v reflect.Value, _ int) bool {
	if d.null() {
		return true
	}
	start := d.off
	if _, ok := d.plainString(); !ok {
		return false
	}
	return v.Addr().Interface().(*time.Time).UnmarshalJSON(d.data[start:d.off]) == nil
}
