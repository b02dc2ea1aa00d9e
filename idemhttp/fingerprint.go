package idemhttp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
)

// requestFingerprint is the request as the Manager fingerprints it: the same
// key with any difference here gets 422. Byte strings taken from the wire are
// []byte, not string, because the canonical form refuses invalid UTF-8 in
// strings and a client may send any bytes. The body is hashed first so that
// a 1 MiB body is not base64-encoded and canonicalised for nothing.
type requestFingerprint struct {
	Method     string              `json:"method"`
	Path       []byte              `json:"path"`
	Query      []byte              `json:"query"`
	Header     map[string][][]byte `json:"header,omitempty"`
	BodySHA256 []byte              `json:"body_sha256"`
}

// fingerprintOf describes r, whose body is body, with the given headers
// (canonical names; absent ones are left out, so absent and empty differ).
func fingerprintOf(r *http.Request, body []byte, headers []string) requestFingerprint {
	sum := sha256.Sum256(body)
	fp := requestFingerprint{
		Method:     r.Method,
		Path:       []byte(r.URL.EscapedPath()),
		Query:      []byte(r.URL.RawQuery),
		BodySHA256: sum[:],
	}
	for _, name := range headers {
		vals := r.Header.Values(name)
		if len(vals) == 0 {
			continue
		}
		if fp.Header == nil {
			fp.Header = make(map[string][][]byte, len(headers))
		}
		bs := make([][]byte, len(vals))
		for i, v := range vals {
			bs[i] = []byte(v)
		}
		// Lowercase: HTTP/2 and HTTP/3 send names in lowercase, and a
		// persisted fingerprint must not depend on Go's canonical form.
		fp.Header[lower(name)] = bs
	}
	return fp
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

var (
	errBodyTooLarge   = errors.New("request body over the limit")
	errBodyUnreadable = errors.New("request body could not be read")
)

// readBody reads r's whole body, at most limit bytes of it. A body declared
// or found to be longer is not read further: errBodyTooLarge.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	var tooLarge *http.MaxBytesError // an outer http.MaxBytesReader's limit
	switch {
	case errors.As(err, &tooLarge):
		return nil, errBodyTooLarge
	case err != nil:
		return nil, errors.Join(errBodyUnreadable, err)
	case int64(buf.Len()) > limit:
		return nil, errBodyTooLarge
	}
	return buf.Bytes(), nil
}

// withBody returns a shallow copy of r that carries ctx and whose body reads
// body again from the start, so the handler sees the request as it came.
func withBody(ctx context.Context, r *http.Request, body []byte) *http.Request {
	r2 := r.WithContext(ctx)
	r2.ContentLength = int64(len(body))
	if len(body) == 0 {
		r2.Body = http.NoBody
		r2.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return r2
	}
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return r2
}
