package idemhttp_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
	"github.com/idemkit/idempotency/idemhttp"
)

// rawExchange sends one HTTP/1.1 request over a fresh connection and returns
// the response exactly as it came off the wire, with the Date line removed
// (it differs between any two responses).
func rawExchange(t *testing.T, srv *httptest.Server, key string, body []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var reqBuf bytes.Buffer
	reqBuf.WriteString("POST /things HTTP/1.1\r\nHost: test\r\nConnection: close\r\nIdempotency-Key: " + key + "\r\n")
	reqBuf.WriteString("Content-Length: " + itoa(int64(len(body))) + "\r\n\r\n")
	reqBuf.Write(body)
	if _, err := conn.Write(reqBuf.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return dropLines(resp, "Date: ")
}

// dropLines removes the header lines starting with any of prefixes.
func dropLines(resp []byte, prefixes ...string) []byte {
	head, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	if !ok {
		return resp
	}
	var out [][]byte
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		drop := false
		for _, p := range prefixes {
			drop = drop || bytes.HasPrefix(line, []byte(p))
		}
		if !drop {
			out = append(out, line)
		}
	}
	return append(append(bytes.Join(out, []byte("\r\n")), "\r\n\r\n"...), body...)
}

// binaryBody holds every byte value, invalid UTF-8 included.
func binaryBody() []byte {
	b := make([]byte, 0, 512)
	for i := range 512 {
		b = append(b, byte(i*7))
	}
	return b
}

// TestReplayByteExact compares a replay with the first response byte for
// byte on the wire: status line, every allow-listed header, and the body.
// Headers outside the allow-list, Set-Cookie first, reach the first client
// only; the replay adds Idempotent-Replayed.
func TestReplayByteExact(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"allow-listed headers and a binary body", func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Location", "/things/42")
			h.Set("ETag", `"v1"`)
			h.Add("Link", "</a>; rel=a")
			h.Add("Link", "</b>; rel=b")
			h.Set("Content-Disposition", "attachment; filename=\"\xe9t\xe9.bin\"") // obs-text: not UTF-8
			h.Set("Set-Cookie", "session=secret")
			h.Set("X-Internal", "first client only")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(body[:100])
			_, _ = w.Write(body[100:])
		}},
		{"sniffed Content-Type", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		}},
		{"Content-Type present without value: no sniffing", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		}},
		{"204 with ETag", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v2"`)
			w.WriteHeader(http.StatusNoContent)
		}},
		{"handler wrote nothing", func(w http.ResponseWriter, r *http.Request) {}},
		{"4xx is recorded", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"title":"amount must be positive"}`)
		}},
		{"Content-Length set by the handler", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		}},
		{"large body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(bytes.Repeat([]byte("0123456789abcdef"), 40<<10)) // 640 KiB
		}},
	}
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		for i, tc := range cases {
			for _, cached := range []bool{false, true} {
				name, cfg := tc.name, idemhttp.Config{Namespace: "exact-" + itoa(int64(i))}
				var hit *atomic.Bool
				if cached { // the replay comes from memory, and must not differ
					hit = new(atomic.Bool)
					name, cfg.Namespace, cfg.Cache = name+", cached", cfg.Namespace+"-cached", newCache(t)
					cfg.Observer = &idempotency.Observer{CallEnd: func(_ context.Context, _ idempotency.CallInfo, e idempotency.CallEnd) {
						hit.Store(e.Cached)
					}}
				}
				t.Run(name, func(t *testing.T) { testReplayByteExact(t, s, cfg, tc.handler, hit) })
			}
		}
	})
}

// newCache returns an idemcache.Cache closed when t ends.
func newCache(t *testing.T) *idemcache.Cache {
	c, err := idemcache.New(idemcache.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// testReplayByteExact is one case of TestReplayByteExact; hit, when not
// nil, must report that the replay came from the cache.
func testReplayByteExact(t *testing.T, s idempotency.Store, cfg idemhttp.Config, handler http.HandlerFunc, hit *atomic.Bool) {
	var runs atomic.Int64
	srv := serve(t, s, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		handler(w, r)
	}))
	body := binaryBody()
	first := rawExchange(t, srv, "key", body)
	replay := rawExchange(t, srv, "key", body)
	if hit != nil { // the first replay read the store; this one comes from memory
		replay = rawExchange(t, srv, "key", body)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
	if hit != nil && !hit.Load() {
		t.Error("the replay did not come from the cache")
	}
	if bytes.Contains(first, []byte(idemhttp.ReplayedHeader)) {
		t.Fatalf("first response is marked as a replay:\n%q", first)
	}
	if !bytes.Contains(replay, []byte("\r\n"+idemhttp.ReplayedHeader+": true\r\n")) {
		t.Fatalf("replay lacks %s: true:\n%q", idemhttp.ReplayedHeader, replay)
	}
	for _, h := range []string{"Set-Cookie", "X-Internal"} {
		if bytes.Contains(replay, []byte(h)) {
			t.Errorf("replay carries %s, which is not allow-listed", h)
		}
	}
	want := dropLines(first, "Set-Cookie: ", "X-Internal: ")
	got := dropLines(replay, idemhttp.ReplayedHeader+": ")
	if !bytes.Equal(got, want) {
		t.Fatalf("replay differs from the first response\nfirst:  %q\nreplay: %q", trim(want), trim(got))
	}
}

// trim shortens a response for a failure message.
func trim(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "..."...)
	}
	return b
}

// TestSetCookieNeverReplayedByDefault checks the first client gets its
// cookie and a replay does not; listing Set-Cookie in ReplayHeaders replays
// it (an explicit, documented choice).
func TestSetCookieNeverReplayedByDefault(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "secret"})
		w.WriteHeader(http.StatusCreated)
	})
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		for _, tc := range []struct {
			cfg        idemhttp.Config
			wantCookie bool
		}{
			{idemhttp.Config{Namespace: "default"}, false},
			{idemhttp.Config{Namespace: "cookies", ReplayHeaders: []string{"set-cookie"}}, true},
		} {
			srv := serve(t, s, tc.cfg, handler)
			first := send(t, srv, req{Key: "k"})
			if first.Header.Get("Set-Cookie") == "" {
				t.Fatal("first response lost its Set-Cookie")
			}
			rep := send(t, srv, req{Key: "k"})
			wantReplay(t, first, rep)
			if got := rep.Header.Get("Set-Cookie") != ""; got != tc.wantCookie {
				t.Errorf("namespace %s: replay has Set-Cookie = %v, want %v", tc.cfg.Namespace, got, tc.wantCookie)
			}
		}
	})
}

// TestReplayKeepsOuterHeaders: headers set by middleware outside this one
// reach both the first response and the replay, and the handler sees them.
func TestReplayKeepsOuterHeaders(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		mw := mustNew(t, s, idemhttp.Config{})
		inner := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if w.Header().Get("X-Request-Id") == "" {
				t.Error("handler does not see the outer middleware's header")
			}
			w.WriteHeader(http.StatusCreated)
		}))
		outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", r.Header.Get("X-Trace"))
			inner.ServeHTTP(w, r)
		})
		srv := httptest.NewServer(outer)
		defer srv.Close()
		first := send(t, srv, req{Key: "k", Header: map[string]string{"X-Trace": "one"}})
		rep := send(t, srv, req{Key: "k", Header: map[string]string{"X-Trace": "two"}})
		wantFresh(t, first, http.StatusCreated)
		wantReplay(t, first, rep)
		if first.Header.Get("X-Request-Id") != "one" || rep.Header.Get("X-Request-Id") != "two" {
			t.Errorf("X-Request-Id = %q then %q, want one then two", first.Header.Get("X-Request-Id"), rep.Header.Get("X-Request-Id"))
		}
	})
}
