package idemhttp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
)

// TestStreaming: a handler that flushes streams to the client as it writes
// (the client reads the first chunk while the handler still waits), and its
// response, once complete within the limit, is recorded and replayed whole.
func TestStreaming(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs atomic.Int64
		cont := make(chan struct{})
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "event: one\n\n")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
			<-cont
			_, _ = io.WriteString(w, "event: two\n\n")
		}))
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/events", strings.NewReader("b"))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Idempotency-Key", "k")
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		chunk := make([]byte, len("event: one\n\n"))
		if _, err := io.ReadFull(resp.Body, chunk); err != nil || string(chunk) != "event: one\n\n" {
			t.Fatalf("first chunk = %q, %v", chunk, err)
		}
		close(cont) // the client had the first chunk before the handler wrote the second
		rest, err := io.ReadAll(resp.Body)
		if err != nil || string(rest) != "event: two\n\n" {
			t.Fatalf("rest = %q, %v", rest, err)
		}
		if resp.StatusCode != http.StatusCreated || resp.ContentLength != -1 {
			t.Fatalf("streamed response: status %d, Content-Length %d; want 201, unknown length", resp.StatusCode, resp.ContentLength)
		}
		rep := send(t, srv, req{Path: "/events", Key: "k", Body: "b"})
		wantReplay(t, reply{Status: 201, Body: "event: one\n\nevent: two\n\n"}, rep)
		if got, want := rep.Header.Get("Content-Type"), resp.Header.Get("Content-Type"); got != want || want == "" {
			t.Errorf("replayed Content-Type = %q, first = %q", got, want)
		}
		if runs.Load() != 1 {
			t.Errorf("handler ran %d times, want 1", runs.Load())
		}
	})
}

// TestFlushBeforeWrite: a handler that flushes before writing sends no
// Content-Type (net/http has nothing to sniff then), and neither does the
// replay.
func TestFlushBeforeWrite(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "<html>late</html>")
		}))
		first := send(t, srv, req{Key: "k"})
		rep := send(t, srv, req{Key: "k"})
		wantFresh(t, first, http.StatusOK)
		wantReplay(t, first, rep)
		if _, ok := first.Header["Content-Type"]; ok {
			t.Errorf("first response has Content-Type %q", first.Header.Get("Content-Type"))
		}
		if _, ok := rep.Header["Content-Type"]; ok {
			t.Errorf("replay has Content-Type %q", rep.Header.Get("Content-Type"))
		}
	})
}

// TestResponseController: through Unwrap, http.ResponseController reaches
// the connection's deadlines and full-duplex setting; Hijack is refused,
// since a hijacked connection cannot be recorded.
func TestResponseController(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetReadDeadline: %v", err)
			}
			if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline: %v", err)
			}
			if err := rc.EnableFullDuplex(); err != nil {
				t.Errorf("EnableFullDuplex: %v", err)
			}
			if _, _, err := rc.Hijack(); !errors.Is(err, idemhttp.ErrHijackCovered) {
				t.Errorf("Hijack error = %v, want ErrHijackCovered", err)
			}
			if _, _, err := w.(http.Hijacker).Hijack(); !errors.Is(err, idemhttp.ErrHijackCovered) {
				t.Errorf("Hijacker error = %v, want ErrHijackCovered", err)
			}
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				t.Errorf("Write after 204: %v, want http.ErrBodyNotAllowed", err)
			}
		}))
		wantFresh(t, send(t, srv, req{Key: "k"}), http.StatusNoContent)
	})
}

// TestInformational: a 1xx (103 Early Hints) goes to the client at once and
// is not part of the record; the replay sends the final response only.
func TestInformational(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "created")
		}))
		for i, wantHints := range []bool{true, false} {
			var hints atomic.Int64
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				if code == http.StatusEarlyHints && h.Get("Link") != "" {
					hints.Add(1)
				}
				return nil
			}}
			r, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodPost, srv.URL, strings.NewReader("b"))
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
			if resp.StatusCode != http.StatusCreated || string(body) != "created" {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
			}
			if got := hints.Load() == 1; got != wantHints {
				t.Errorf("request %d: got 103 = %v, want %v", i, got, wantHints)
			}
			if replayed := resp.Header.Get(idemhttp.ReplayedHeader) == "true"; replayed != (i == 1) {
				t.Errorf("request %d: replayed = %v", i, replayed)
			}
		}
	})
}

// TestInvalidWriteHeaderPanics: as with net/http, an invalid status code
// panics in the handler, so it is never recorded; the key is released.
func TestInvalidWriteHeaderPanics(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs atomic.Int64
		h := mustNew(t, s, idemhttp.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if runs.Add(1) == 1 {
				w.WriteHeader(42)
			}
			w.WriteHeader(http.StatusCreated)
		}))
		if _, p := serveDirect(h, "k", strings.NewReader("b")); p == nil {
			t.Fatal("WriteHeader(42) did not panic")
		}
		if rec, p := serveDirect(h, "k", strings.NewReader("b")); p != nil || rec.Code != http.StatusCreated {
			t.Fatalf("retry: %d, panic %v", rec.Code, p)
		}
	})
}

// TestHeaderAfterWriteHeader: as with net/http, headers changed after
// WriteHeader have no effect, on the first response or the replay.
func TestHeaderAfterWriteHeader(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/early")
			w.WriteHeader(http.StatusCreated)
			w.Header().Set("Location", "/late")
			w.Header().Set("ETag", `"late"`)
		}))
		first := send(t, srv, req{Key: "k"})
		rep := send(t, srv, req{Key: "k"})
		wantReplay(t, first, rep)
		for _, r := range []reply{first, rep} {
			if r.Header.Get("Location") != "/early" || r.Header.Get("ETag") != "" {
				t.Errorf("Location %q, ETag %q: want /early and none", r.Header.Get("Location"), r.Header.Get("ETag"))
			}
		}
	})
}

// TestOverLimitFirstWriteIsSniffed: a handler's first write, already over
// MaxResponseBytes and without a Content-Type, reaches the client with the
// Content-Type net/http would sniff from it.
func TestOverLimitFirstWriteIsSniffed(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		page := "<!DOCTYPE html><html><body>" + strings.Repeat("x", 8192) + "</body></html>"
		srv := serve(t, s, idemhttp.Config{MaxResponseBytes: 4096}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, page)
		}))
		rep := send(t, srv, req{Key: "k", Body: "b"})
		if rep.Body != page {
			t.Fatalf("body of %d bytes, want the page of %d", len(rep.Body), len(page))
		}
		if got := rep.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("Content-Type = %q, want what net/http sniffs, text/html; charset=utf-8", got)
		}
	})
}

// TestEmptyWriteWithoutBody: as with net/http, an empty write succeeds after
// a status that has no body.
func TestEmptyWriteWithoutBody(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var n int
		var werr error
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			n, werr = w.Write(nil)
		}))
		rep := send(t, srv, req{Key: "k", Body: "b"})
		if rep.Status != http.StatusNoContent || n != 0 || werr != nil {
			t.Fatalf("status %d, Write(nil) = %d, %v; want 204 and 0, nil", rep.Status, n, werr)
		}
	})
}

// TestOverLimitWriteSniffedWithBufferedPrefix: a small buffered start and a
// write that goes over the limit are sniffed together, as net/http sniffs
// the first 512 bytes it sends.
func TestOverLimitWriteSniffedWithBufferedPrefix(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		srv := serve(t, s, idemhttp.Config{MaxResponseBytes: 4096}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<!DOCTYPE")
			_, _ = io.WriteString(w, " html><html><body>"+strings.Repeat("x", 8192)+"</body></html>")
		}))
		rep := send(t, srv, req{Key: "k", Body: "b"})
		if got := rep.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("Content-Type = %q, want what net/http sniffs, text/html; charset=utf-8", got)
		}
	})
}
