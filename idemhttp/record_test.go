package idemhttp_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
)

// statusSequence answers each run with the next status of its list, the
// body naming the run.
type statusSequence struct {
	statuses []int
	n        atomic.Int64
}

func (s *statusSequence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.n.Add(1)
	w.WriteHeader(s.statuses[min(int(n), len(s.statuses))-1])
	_, _ = io.WriteString(w, "run "+itoa(n))
}

// TestWhatIsRecorded: 2xx and 4xx are recorded and replayed; 5xx are not
// (the retry runs the handler again) unless RecordServerErrors; 408, 425 and
// 429 ask for a retry of the same request and are never recorded.
func TestWhatIsRecorded(t *testing.T) {
	cases := []struct {
		name   string
		cfg    idemhttp.Config
		first  int
		second int // status of the retry
		replay bool
	}{
		{name: "201 recorded", first: 201, second: 201, replay: true},
		{name: "200 recorded", first: 200, second: 200, replay: true},
		{name: "404 recorded", first: 404, second: 404, replay: true},
		{name: "409 from the handler recorded", first: 409, second: 409, replay: true},
		{name: "500 released", first: 500, second: 201},
		{name: "503 released", first: 503, second: 201},
		{name: "429 released", first: 429, second: 201},
		{name: "408 released", first: 408, second: 201},
		{name: "425 released", first: 425, second: 201},
		{name: "500 recorded with RecordServerErrors", cfg: idemhttp.Config{RecordServerErrors: true}, first: 500, second: 500, replay: true},
		{name: "429 released even with RecordServerErrors", cfg: idemhttp.Config{RecordServerErrors: true}, first: 429, second: 201},
	}
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := &statusSequence{statuses: []int{tc.first, 201}}
				var logs logBuffer
				cfg := tc.cfg
				cfg.Namespace = "rec-" + itoa(int64(i))
				cfg.Logger = logs.Logger()
				srv := serve(t, s, cfg, h)
				first := send(t, srv, req{Key: "k", Body: "b"})
				wantFresh(t, first, tc.first)
				if first.Body != "run 1" {
					t.Fatalf("first body = %q: the client must get the handler's response whether or not it is recorded", first.Body)
				}
				second := send(t, srv, req{Key: "k", Body: "b"})
				if tc.replay {
					wantReplay(t, first, second)
					if h.n.Load() != 1 {
						t.Fatalf("handler ran %d times, want 1", h.n.Load())
					}
					return
				}
				wantFresh(t, second, tc.second)
				if second.Body != "run 2" {
					t.Fatalf("retry body = %q, want run 2", second.Body)
				}
				if !strings.Contains(logs.String(), "response not recorded") {
					t.Errorf("unrecorded response not logged:\n%s", logs.String())
				}
				// The 201 of the retry is recorded.
				wantReplay(t, second, send(t, srv, req{Key: "k", Body: "b"}))
			})
		}
	})
}

// TestPanicReleasesKey: a panicking handler's panic reaches the caller
// unchanged (net/http then drops the connection), and the key is free again
// so the retry runs the handler.
func TestPanicReleasesKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs atomic.Int64
		boom := errors.New("boom")
		h := mustNew(t, s, idemhttp.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if runs.Add(1) == 1 {
				_, _ = w.Write([]byte("partial"))
				panic(boom)
			}
			w.WriteHeader(http.StatusCreated)
		}))
		rec, p := serveDirect(h, "k", strings.NewReader("b"))
		if p != boom {
			t.Fatalf("recovered %v, want the handler's panic value", p)
		}
		if rec.Body.Len() != 0 || rec.Code != http.StatusOK || len(rec.Header()) != 0 {
			t.Fatalf("a panicking handler's partial response reached the client: %d %v %q", rec.Code, rec.Header(), rec.Body)
		}
		r, p := serveDirect(h, "k", strings.NewReader("b"))
		if p != nil {
			t.Fatalf("retry panicked: %v", p)
		}
		if r.Code != http.StatusCreated || runs.Load() != 2 {
			t.Fatalf("retry after panic: status %d after %d runs, want 201 after 2", r.Code, runs.Load())
		}
	})
}

// serveDirect calls h without a server (so that requests a client would
// refuse to send can be made, and panics caught) and returns the response and
// what h panicked with.
func serveDirect(h http.Handler, key string, body io.Reader) (rec *httptest.ResponseRecorder, panicked any) {
	rec = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/things", body)
	if key != "" {
		r.Header["Idempotency-Key"] = []string{key}
	}
	defer func() { panicked = recover() }()
	h.ServeHTTP(rec, r)
	return rec, nil
}

// TestResponseOverLimit: a response body over MaxResponseBytes reaches the
// client whole but is not recorded: the key is released and it is logged.
func TestResponseOverLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs atomic.Int64
		big := bytes.Repeat([]byte("x"), 10_000)
		var logs logBuffer
		srv := serve(t, s, idemhttp.Config{MaxResponseBytes: 4096, Logger: logs.Logger()}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusCreated)
			for i := 0; i < len(big); i += 1000 {
				_, _ = w.Write(big[i : i+1000])
			}
		}))
		for i := range 2 {
			rep := send(t, srv, req{Key: "k"})
			wantFresh(t, rep, http.StatusCreated)
			if rep.Body != string(big) {
				t.Fatalf("request %d: body of %d bytes, want %d", i, len(rep.Body), len(big))
			}
		}
		if runs.Load() != 2 {
			t.Errorf("handler ran %d times, want 2: an unrecorded response releases the key", runs.Load())
		}
		if !strings.Contains(logs.String(), "MaxResponseBytes") {
			t.Errorf("oversized response not logged:\n%s", logs.String())
		}
	})
}
