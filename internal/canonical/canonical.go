package canonical

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// Version names the canonical form and the hash used by Fingerprint. It is
// stored beside every fingerprint so that a future change of the format is
// detectable instead of silently turning retries into new requests.
const Version = "jcs-sha256-1"

var (
	// ErrInvalidUTF8 reports a string that is not valid UTF-8: a Go string,
	// a map key, MarshalText output, or a string inside raw JSON from
	// json.RawMessage or a MarshalJSON method (including a lone surrogate
	// escape such as "\ud800"). encoding/json would replace the bad bytes
	// with U+FFFD and let different inputs collide, so they are rejected.
	ErrInvalidUTF8 = errors.New("idempotency: canonical: string is not valid UTF-8; use []byte for binary data")

	// ErrUnsupported reports a value that cannot be encoded as JSON, such as
	// a func, a channel, a complex number, NaN or ±Inf, a cycle, or a
	// number beyond the range of float64. When encoding/json produced the
	// error, it is wrapped too.
	ErrUnsupported = errors.New("idempotency: canonical: value cannot be encoded as JSON; remove or convert funcs, channels, complex numbers, NaN/Inf, cycles and out-of-range numbers")

	// ErrDuplicateKey reports an object with two members of the same name,
	// which can only come from raw JSON (json.RawMessage or a MarshalJSON
	// method) or from distinct map keys whose MarshalText output is equal.
	// JSON gives such objects no single meaning, so they cannot be
	// fingerprinted.
	ErrDuplicateKey = errors.New("idempotency: canonical: duplicate object member name; remove the duplicate from the json.RawMessage, MarshalJSON or MarshalText output")
)

// Marshal returns the canonical JSON form of v: the output of json.Marshal(v)
// re-emitted per RFC 8785 (JCS), except that integers written without
// fraction or exponent keep their exact value (see the package
// documentation).
func Marshal(v any) ([]byte, error) {
	st := getState()
	defer putState(st)
	if err := st.canonicalize(v); err != nil {
		return nil, err
	}
	return bytes.Clone(st.out), nil
}

// Fingerprint returns the lowercase hexadecimal SHA-256 of Marshal(v).
func Fingerprint(v any) (string, error) {
	var buf [2 * sha256.Size]byte
	return fingerprint(buf[:0], v)
}

// VersionedFingerprint returns Version + ":" + Fingerprint(v), the form that
// is stored, in one allocation.
func VersionedFingerprint(v any) (string, error) {
	var buf [len(Version) + 1 + 2*sha256.Size]byte
	return fingerprint(append(append(buf[:0], Version...), ':'), v)
}

// fingerprint appends the hex SHA-256 of Marshal(v) to prefix, whose
// capacity must hold it, and returns the whole as a string.
func fingerprint(prefix []byte, v any) (string, error) {
	st := getState()
	defer putState(st)
	if err := st.canonicalize(v); err != nil {
		return "", err
	}
	sum := sha256.Sum256(st.out)
	out := prefix[:len(prefix)+hex.EncodedLen(len(sum))]
	hex.Encode(out[len(prefix):], sum[:])
	return string(out), nil
}

// state holds the buffers of one canonicalization. It is pooled because a
// fingerprint is computed on every request and the buffers dominate the
// cost otherwise.
type state struct {
	src bytes.Buffer
	// enc writes into src so that encoding/json's output needs no copy, and
	// has HTML escaping off so that the parser has fewer escapes to undo.
	enc *json.Encoder

	in      []byte
	pos     int
	out     []byte
	names   []byte    // decoded member names that contained escapes
	members []member  // members of the objects currently being emitted
	tmp     []byte    // scratch copy used when reordering members
	perm    []int     // scratch member order
	pairs   []strPair // scratch members of a map[string]string (fast path)

	// sawFFFD records that the JSON contains U+FFFD, the only trace
	// encoding/json leaves when it replaces invalid UTF-8.
	sawFFFD bool
}

// maxPooledBuffer keeps one huge request from pinning its buffers forever.
const maxPooledBuffer = 1 << 20

var statePool = sync.Pool{New: func() any {
	st := new(state)
	st.enc = json.NewEncoder(&st.src)
	st.enc.SetEscapeHTML(false)
	return st
}}

func getState() *state { return statePool.Get().(*state) }

func putState(st *state) {
	if st.src.Cap() > maxPooledBuffer || cap(st.out) > maxPooledBuffer ||
		cap(st.tmp) > maxPooledBuffer || cap(st.names) > maxPooledBuffer ||
		cap(st.pairs) > maxPooledBuffer/32 {
		return
	}
	st.in = nil
	clear(st.members[:cap(st.members)])
	st.members = st.members[:0]
	statePool.Put(st)
}

// canonicalize leaves the canonical form of v in st.out. Plain values take
// the fast path; anything it declines, including every value that fails,
// goes through encoding/json and the parser from scratch.
func (st *state) canonicalize(v any) error {
	if st.encodeFast(v) {
		return nil
	}
	return st.canonicalizeSlow(v)
}

// canonicalizeSlow leaves the canonical form of v in st.out by re-parsing
// the output of encoding/json. It is the reference the fast path must
// agree with.
func (st *state) canonicalizeSlow(v any) error {
	st.src.Reset()
	if err := st.enc.Encode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	err := st.parse(st.src.Bytes())
	if st.sawFFFD && (err == nil || errors.Is(err, ErrDuplicateKey)) {
		// U+FFFD may be a replacement for invalid UTF-8 in a Go string.
		// Only the Go value can tell, so walk it; this also takes
		// precedence over a duplicate key that two replacements created.
		if werr := checkUTF8(reflect.ValueOf(v)); werr != nil {
			return werr
		}
	}
	return err
}
