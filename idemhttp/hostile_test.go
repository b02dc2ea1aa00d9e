package idemhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
)

// generator yields size bytes without holding them, and counts how many were
// read, so a test can send 100 MB and see how much the server took.
type generator struct {
	size int64
	read atomic.Int64
}

func (g *generator) Read(p []byte) (int, error) {
	left := g.size - g.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), left))
	for i := range p[:n] {
		p[i] = byte(i)
	}
	g.read.Add(int64(n))
	return n, nil
}

const hundredMB = 100 << 20

// TestHostileKeys: keys a client should not send get 400 and never reach
// the handler or the store. Keys with control characters cannot be sent by
// Go's client, so those requests go to the handler directly.
func TestHostileKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var h counter
		mw := mustNew(t, s, idemhttp.Config{})
		handler := mw(&h)
		for _, key := range []string{
			strings.Repeat("k", 10<<10), // 10 KB
			strings.Repeat("k", idemhttp.MaxKeyLen+1),
			`"` + strings.Repeat("k", idemhttp.MaxKeyLen+1) + `"`,
			"a\x01b", "a\tb", "a\x7fb", "a\x00b", "\x1b[31mred", "a\u0085b", // C0, tab, DEL, NUL, escape, C1
			"\xff\xfe", "a\xc3", // not UTF-8
			`"a` + "\x01" + `b"`, `"é"`, // a quoted key is printable ASCII only
			" ", `""`, `"a" "b"`, `"a\"`,
		} {
			rec, p := serveDirect(handler, key, strings.NewReader("b"))
			if p != nil {
				t.Fatalf("key %q: panic %v", trimKey(key), p)
			}
			rep := reply{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
			wantProblem(t, rep, http.StatusBadRequest, idemhttp.ProblemKeyInvalid)
			if len(rep.Body) > 1000 {
				t.Errorf("key %q: problem of %d bytes: the detail must not echo the key", trimKey(key), len(rep.Body))
			}
		}
		if h.n.Load() != 0 {
			t.Fatalf("handler ran %d times for invalid keys", h.n.Load())
		}

		// The same checks through a real server, for what a client can send.
		srv := serve(t, s, idemhttp.Config{}, &h)
		wantProblem(t, send(t, srv, req{Key: strings.Repeat("k", 10<<10)}), http.StatusBadRequest, idemhttp.ProblemKeyInvalid)
		// Valid extremes: the longest key, bare and quoted with escapes,
		// and a key beyond ASCII.
		longest := strings.Repeat("k", idemhttp.MaxKeyLen)
		quoted := `"` + strings.Repeat(`\"`, idemhttp.MaxKeyLen/2) + strings.Repeat("k", idemhttp.MaxKeyLen/2) + `"` // MaxKeyLen once unquoted
		for _, key := range []string{longest, quoted, "ключ-🔑 with spaces"} {
			first := send(t, srv, req{Key: key})
			wantFresh(t, first, http.StatusCreated)
			wantReplay(t, first, send(t, srv, req{Key: key}))
		}
		if h.n.Load() != 3 {
			t.Fatalf("handler ran %d times, want 3", h.n.Load())
		}
	})
}

func trimKey(k string) string {
	if len(k) > 40 {
		return k[:40] + "..."
	}
	return k
}

// TestHugeBody: a 100 MB body gets 413 after reading at most MaxBodyBytes+1
// bytes of it, whether its length is declared or not.
func TestHugeBody(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var h counter
		const limit = 64 << 10
		handler := mustNew(t, s, idemhttp.Config{MaxBodyBytes: limit})(&h)
		for _, declared := range []bool{true, false} {
			g := &generator{size: hundredMB}
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/things", g)
			r.Header.Set("Idempotency-Key", "k")
			r.ContentLength = -1 // chunked
			if declared {
				r.ContentLength = hundredMB
			}
			handler.ServeHTTP(rec, r)
			wantProblem(t, reply{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}, http.StatusRequestEntityTooLarge, idemhttp.ProblemRequestTooLarge)
			read := g.read.Load()
			if declared && read != 0 {
				t.Errorf("declared 100 MB: read %d bytes, want none", read)
			}
			if !declared && read > limit+1 {
				t.Errorf("chunked 100 MB: read %d bytes, want at most %d", read, limit+1)
			}
		}

		// Through a real server: the client is answered without sending
		// the whole body.
		srv := serve(t, s, idemhttp.Config{MaxBodyBytes: limit}, &h)
		g := &generator{size: hundredMB}
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/things", g)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Idempotency-Key", "k")
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantProblem(t, reply{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, http.StatusRequestEntityTooLarge, idemhttp.ProblemRequestTooLarge)
		t.Logf("client sent %d bytes of 100 MB", g.read.Load())
		if sent := g.read.Load(); sent >= hundredMB {
			t.Errorf("the client had to send all %d bytes", sent)
		}
		if h.n.Load() != 0 {
			t.Fatalf("handler ran %d times for bodies over the limit", h.n.Load())
		}
	})
}

// TestOddBodies: a binary body and a request without Content-Type work like
// any other; the body reaches the handler intact.
func TestOddBodies(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs atomic.Int64
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			body, err := io.ReadAll(r.Body)
			if err != nil || r.ContentLength != int64(len(body)) {
				t.Errorf("handler read %d bytes (Content-Length %d), error %v", len(body), r.ContentLength, err)
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(body) // echo
		}))
		bin := string(binaryBody())
		first := send(t, srv, req{Key: "bin", Body: bin})
		if first.Status != http.StatusOK || first.Body != bin {
			t.Fatalf("binary echo: %d, %d bytes", first.Status, len(first.Body))
		}
		wantReplay(t, first, send(t, srv, req{Key: "bin", Body: bin}))
		flipped := []byte(bin)
		flipped[300] ^= 1
		wantProblem(t, send(t, srv, req{Key: "bin", Body: string(flipped)}), http.StatusUnprocessableEntity, idemhttp.ProblemRequestMismatch)

		// Go's client sends no Content-Type for a strings.Reader.
		plain := send(t, srv, req{Key: "no-ct", Body: "x"})
		wantFresh(t, plain, http.StatusOK)
		wantReplay(t, plain, send(t, srv, req{Key: "no-ct", Body: "x"}))
		wantProblem(t, send(t, srv, req{Key: "no-ct", Body: "x", Header: map[string]string{"Content-Type": "text/plain"}}),
			http.StatusUnprocessableEntity, idemhttp.ProblemRequestMismatch)
		empty := send(t, srv, req{Key: "empty"})
		wantFresh(t, empty, http.StatusOK)
		wantReplay(t, empty, send(t, srv, req{Key: "empty"}))
		if runs.Load() != 3 {
			t.Fatalf("handler ran %d times, want 3", runs.Load())
		}
	})
}
