package idemhttp

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"
)

func sampleResponse() recordedResponse {
	return recordedResponse{
		Status: 201,
		Header: http.Header{
			"Content-Type":        {"application/json"},
			"Link":                {"</a>; rel=a", "</b>; rel=b"},
			"Content-Disposition": {"attachment; filename=\"\xe9t\xe9\""},
			"Etag":                {},
		},
		Body: []byte("\x00\xff binary \xc3"),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, rr := range []recordedResponse{
		sampleResponse(),
		{Status: 204},
		{Status: 999, Body: bytes.Repeat([]byte{0}, 70000)},
	} {
		b, err := responseCodec{}.Marshal(rr)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := responseCodec{}.Marshal(rr)
		if !bytes.Equal(b, again) {
			t.Fatal("the same response encodes two ways")
		}
		var got recordedResponse
		if err := (responseCodec{}).Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Status != rr.Status || !bytes.Equal(got.Body, rr.Body) || len(got.Header) != len(rr.Header) {
			t.Fatalf("round trip: %+v, want %+v", got, rr)
		}
		for name, vals := range rr.Header {
			g, ok := got.Header[name]
			if !ok || len(g) != len(vals) || (len(vals) > 0 && !reflect.DeepEqual(g, []string(vals))) {
				t.Fatalf("header %s: %q (present %v), want %q", name, g, ok, vals)
			}
		}
	}
}

// TestCodecRefusesCorruption: every truncation and a few bit flips of a valid
// record are refused (or decode to something), never panic, and trailing
// bytes are refused.
func TestCodecRefusesCorruption(t *testing.T) {
	b, err := responseCodec{}.Marshal(sampleResponse())
	if err != nil {
		t.Fatal(err)
	}
	var rr recordedResponse
	for n := range len(b) {
		if err := (responseCodec{}).Unmarshal(b[:n], &rr); err == nil {
			t.Fatalf("truncated to %d of %d bytes: decoded", n, len(b))
		}
	}
	if err := (responseCodec{}).Unmarshal(append(bytes.Clone(b), 0), &rr); err == nil {
		t.Fatal("trailing byte: decoded")
	}
	if err := (responseCodec{}).Unmarshal([]byte(`{"status":201}`), &rr); err == nil {
		t.Fatal("JSON from another Manager: decoded")
	}
	for i := range b {
		flipped := bytes.Clone(b)
		flipped[i] ^= 0x80
		_ = (responseCodec{}).Unmarshal(flipped, &rr) // must not panic
	}
	if _, err := (responseCodec{}).Marshal("not a response"); err == nil {
		t.Fatal("Marshal of another type succeeded")
	}
	if err := (responseCodec{}).Unmarshal(b, new(string)); err == nil {
		t.Fatal("Unmarshal into another type succeeded")
	}
}

func FuzzCodecUnmarshal(f *testing.F) {
	b, _ := responseCodec{}.Marshal(sampleResponse())
	f.Add(b)
	f.Add([]byte{1, 0xc8, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var rr recordedResponse
		if err := (responseCodec{}).Unmarshal(data, &rr); err != nil {
			return
		}
		// What decodes survives a round trip unchanged.
		again, err := responseCodec{}.Marshal(rr)
		if err != nil {
			t.Fatal(err)
		}
		var rr2 recordedResponse
		if err := (responseCodec{}).Unmarshal(again, &rr2); err != nil || !reflect.DeepEqual(rr, rr2) {
			t.Fatalf("%+v re-decodes to %+v (%v)", rr, rr2, err)
		}
	})
}
