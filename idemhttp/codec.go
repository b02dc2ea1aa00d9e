package idemhttp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// recordedResponse is what the middleware stores for a key and replays: the
// status, the allow-listed headers and the body. A header present with no
// values is kept as such: for Content-Type it tells net/http not to sniff.
type recordedResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// maxEncodedHeaderBytes is the room left for recorded headers on top of
// Config.MaxResponseBytes; a response whose encoding is larger still is not
// recorded, like one whose body is over the limit.
const maxEncodedHeaderBytes = 64 << 10

// responseCodec stores a recordedResponse in a small binary format rather
// than JSON: header values and bodies are arbitrary bytes, which JSON would
// either mangle (invalid UTF-8 becomes U+FFFD) or inflate by a third
// (base64). Replays must be byte for byte.
//
// Format, version 1: the byte 1; uvarint status; uvarint number of header
// names, then for each, in sorted order, a string name, a uvarint number of
// values and the values as strings; then the body as a string. A string is a
// uvarint length and that many bytes. Nothing may follow.
type responseCodec struct{}

const codecVersion = 1

func (responseCodec) Marshal(v any) ([]byte, error) {
	rr, ok := v.(recordedResponse)
	if !ok {
		return nil, fmt.Errorf("idemhttp: codec cannot encode %T", v)
	}
	size := 1 + 2*binary.MaxVarintLen64 + len(rr.Body)
	for name, vals := range rr.Header {
		size += 2*binary.MaxVarintLen64 + len(name)
		for _, val := range vals {
			size += binary.MaxVarintLen64 + len(val)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(rr.Status))
	names := make([]string, 0, len(rr.Header))
	for name := range rr.Header {
		names = append(names, name)
	}
	slices.Sort(names) // the same response always encodes the same way
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendString(b, name)
		vals := rr.Header[name]
		b = binary.AppendUvarint(b, uint64(len(vals)))
		for _, val := range vals {
			b = appendString(b, val)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(rr.Body)))
	return append(b, rr.Body...), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errCorrupt = errors.New("idemhttp: recorded response is corrupt or was written by something else than idemhttp; use another Config.Namespace for other users of the store")

func (responseCodec) Unmarshal(data []byte, v any) error {
	rr, ok := v.(*recordedResponse)
	if !ok {
		return fmt.Errorf("idemhttp: codec cannot decode into %T", v)
	}
	d := decoder{b: data}
	if d.byte() != codecVersion {
		return fmt.Errorf("%w (unknown format version)", errCorrupt)
	}
	status := d.uvarint()
	if status < 100 || status > 999 {
		d.fail()
	}
	n := d.count()
	var h http.Header
	if n > 0 {
		h = make(http.Header, n)
	}
	for range n {
		name := d.string()
		vals := make([]string, d.count())
		for i := range vals {
			vals[i] = d.string()
		}
		h[name] = vals
	}
	body := d.bytes()
	if d.err || len(d.b) != 0 {
		return errCorrupt
	}
	*rr = recordedResponse{Status: int(status), Header: h, Body: body}
	return nil
}

// decoder reads the format; after the first error every read returns zero
// values and err stays set.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) fail() { d.err, d.b = true, nil }

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a number of items, each at least one byte long, so a corrupt
// count cannot make the decoder allocate more than the input's size.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }
