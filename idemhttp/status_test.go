package idemhttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestStatusPaths walks every answer the middleware gives on its own, each
// case on a fresh server so that keys do not interfere.
func TestStatusPaths(t *testing.T) {
	type step struct {
		q      req
		status int
		// problem is the expected problem type; "" means the handler's
		// response, replay tells whether it must be a replay.
		problem string
		replay  bool
	}
	cases := []struct {
		name  string
		cfg   idemhttp.Config
		steps []step
		runs  int64 // handler runs expected
	}{
		{
			name: "first request then replay",
			steps: []step{
				{q: req{Key: "k1", Body: `{"a":1}`}, status: 201},
				{q: req{Key: "k1", Body: `{"a":1}`}, status: 201, replay: true},
				{q: req{Key: `"k1"`, Body: `{"a":1}`}, status: 201, replay: true}, // sf-string form of the same key
			},
			runs: 1,
		},
		{
			name:  "missing key",
			steps: []step{{q: req{Body: "x"}, status: 400, problem: idemhttp.ProblemKeyMissing}},
		},
		{
			name: "optional: missing key passes through every time",
			cfg:  idemhttp.Config{Optional: true},
			steps: []step{
				{q: req{Body: "x"}, status: 201},
				{q: req{Body: "x"}, status: 201},
			},
			runs: 2,
		},
		{
			name: "uncovered method needs no key and is not recorded",
			steps: []step{
				{q: req{Method: "PUT", Key: "k1"}, status: 201},
				{q: req{Method: "PUT", Key: "k1"}, status: 201},
				{q: req{Method: "GET"}, status: 201},
			},
			runs: 3,
		},
		{
			name: "PATCH is covered by default",
			steps: []step{
				{q: req{Method: "PATCH"}, status: 400, problem: idemhttp.ProblemKeyMissing},
				{q: req{Method: "PATCH", Key: "k"}, status: 201},
				{q: req{Method: "PATCH", Key: "k"}, status: 201, replay: true},
			},
			runs: 1,
		},
		{
			name: "configured methods and header",
			cfg:  idemhttp.Config{Methods: []string{"PUT"}, Header: "x-request-key"},
			steps: []step{
				{q: req{Method: "POST"}, status: 201},
				{q: req{Method: "PUT", Key: "k"}, status: 400, problem: idemhttp.ProblemKeyMissing}, // wrong header name
				{q: req{Method: "PUT", Header: map[string]string{"X-Request-Key": "k"}}, status: 201},
				{q: req{Method: "PUT", Header: map[string]string{"X-Request-Key": "k"}}, status: 201, replay: true},
			},
			runs: 2,
		},
		{
			name: "invalid keys",
			steps: []step{
				{q: req{Key: `""`}, status: 400, problem: idemhttp.ProblemKeyInvalid},
				{q: req{Key: `"abc`}, status: 400, problem: idemhttp.ProblemKeyInvalid},
				{q: req{Key: `"a\b"`}, status: 400, problem: idemhttp.ProblemKeyInvalid},
				{q: req{Key: `"a";p=1`}, status: 400, problem: idemhttp.ProblemKeyInvalid},
				{q: req{Key: "\xff\xfe"}, status: 400, problem: idemhttp.ProblemKeyInvalid},
			},
		},
		{
			name: "same key, different request",
			steps: []step{
				{q: req{Key: "k", Body: "a"}, status: 201},
				{q: req{Key: "k", Body: "b"}, status: 422, problem: idemhttp.ProblemRequestMismatch},
				{q: req{Key: "k", Body: "a", Path: "/other"}, status: 422, problem: idemhttp.ProblemRequestMismatch},
				{q: req{Key: "k", Body: "a", Path: "/things?x=1"}, status: 422, problem: idemhttp.ProblemRequestMismatch},
				{q: req{Key: "k", Body: "a", Method: "PATCH"}, status: 422, problem: idemhttp.ProblemRequestMismatch},
				{q: req{Key: "k", Body: "a", Header: map[string]string{"Content-Type": "text/plain"}}, status: 422, problem: idemhttp.ProblemRequestMismatch},
				{q: req{Key: "k", Body: "a"}, status: 201, replay: true},
			},
			runs: 1,
		},
		{
			name: "headers outside FingerprintHeaders do not matter",
			steps: []step{
				{q: req{Key: "k", Body: "a", Header: map[string]string{"User-Agent": "one"}}, status: 201},
				{q: req{Key: "k", Body: "a", Header: map[string]string{"User-Agent": "two"}}, status: 201, replay: true},
			},
			runs: 1,
		},
		{
			name: "configured FingerprintHeaders",
			cfg:  idemhttp.Config{FingerprintHeaders: []string{"x-tenant"}},
			steps: []step{
				{q: req{Key: "k", Header: map[string]string{"X-Tenant": "a", "Content-Type": "a/b"}}, status: 201},
				{q: req{Key: "k", Header: map[string]string{"X-Tenant": "a", "Content-Type": "c/d"}}, status: 201, replay: true},
				{q: req{Key: "k", Header: map[string]string{"X-Tenant": "b"}}, status: 422, problem: idemhttp.ProblemRequestMismatch},
			},
			runs: 1,
		},
		{
			name: "body over MaxBodyBytes",
			cfg:  idemhttp.Config{MaxBodyBytes: 4},
			steps: []step{
				{q: req{Key: "k", Body: "12345"}, status: 413, problem: idemhttp.ProblemRequestTooLarge},
				{q: req{Key: "k", Body: "1234"}, status: 201},
			},
			runs: 1,
		},
	}
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				cfg := tc.cfg
				cfg.Namespace = "status-" + itoa(int64(i)) // one store, isolated cases
				var h counter
				srv := serve(t, s, cfg, &h)
				var first reply
				for j, st := range tc.steps {
					rep := send(t, srv, st.q)
					switch {
					case st.problem != "":
						wantProblem(t, rep, st.status, st.problem)
					case st.replay:
						wantReplay(t, first, rep)
					default:
						wantFresh(t, rep, st.status)
						first = rep
					}
					if t.Failed() {
						t.Fatalf("step %d", j)
					}
				}
				if got := h.n.Load(); got != tc.runs {
					t.Errorf("handler ran %d times, want %d", got, tc.runs)
				}
			})
		}
	})
}

// TestInProgress holds a request in its handler and sends its duplicate:
// 409 with Retry-After, and once the first finishes, the duplicate's retry
// is its replay.
func TestInProgress(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		entered, release := make(chan struct{}), make(chan struct{})
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("done"))
		}))
		firstc := make(chan reply, 1)
		go func() {
			rep, err := trySend(srv, req{Key: "k", Body: "b"})
			if err != nil {
				t.Error(err)
			}
			firstc <- rep
		}()
		<-entered
		rep := send(t, srv, req{Key: "k", Body: "b"})
		wantProblem(t, rep, http.StatusConflict, idemhttp.ProblemRequestInProgress)
		if got := rep.Header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q, want 1", got)
		}
		// A different request with the key in flight is a mismatch, not
		// a conflict.
		wantProblem(t, send(t, srv, req{Key: "k", Body: "other"}), http.StatusUnprocessableEntity, idemhttp.ProblemRequestMismatch)
		close(release)
		first := <-firstc
		wantFresh(t, first, http.StatusAccepted)
		wantReplay(t, first, send(t, srv, req{Key: "k", Body: "b"}))
	})
}

// TestStoreUnavailable: when the store cannot be reached the handler does not
// run and the client is told to retry: 503 with Retry-After.
func TestStoreUnavailable(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		db := f.Open(t)
		s, err := sqlstore.New(db, sqlstore.Config{Dialect: b.Dialect, Table: f.Table})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		var h counter
		srv := serve(t, s, idemhttp.Config{Logger: logs.Logger()}, &h)
		wantFresh(t, send(t, srv, req{Key: "k"}), http.StatusCreated)
		s.Close()
		db.Close()
		rep := send(t, srv, req{Key: "k2"})
		wantProblem(t, rep, http.StatusServiceUnavailable, idemhttp.ProblemStoreUnavailable)
		if rep.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if h.n.Load() != 1 {
			t.Errorf("handler ran %d times, want 1: it must not run without a claim", h.n.Load())
		}
		if !strings.Contains(logs.String(), "idempotency store failed") {
			t.Errorf("store failure not logged; log:\n%s", logs.String())
		}
	})
}

// TestCancelledWhileWaiting: a duplicate whose request is cancelled while it
// waits for the in-flight one is answered 503 (the handler did not run for
// it), never an empty 200.
func TestCancelledWhileWaiting(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs atomic.Int64
		entered, release := make(chan struct{}), make(chan struct{})
		h := mustNew(t, s, idemhttp.Config{Wait: time.Hour})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			close(entered)
			<-release
			w.WriteHeader(http.StatusCreated)
		}))
		done := make(chan int)
		go func() {
			rec, _ := serveDirect(h, "k", strings.NewReader("b"))
			done <- rec.Code
		}()
		<-entered
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader("b")).WithContext(ctx)
		r.Header.Set("Idempotency-Key", "k")
		h.ServeHTTP(rec, r)
		close(release)
		wantProblem(t, reply{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}, http.StatusServiceUnavailable, idemhttp.ProblemStoreUnavailable)
		if code := <-done; code != http.StatusCreated || runs.Load() != 1 {
			t.Fatalf("first request: %d after %d runs, want 201 after 1", code, runs.Load())
		}
	})
}

// failingReader fails after a few bytes, like a client that went away.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("connection reset by peer")
	}
	f.n--
	p[0] = 'x'
	return 1, nil
}

// TestBodyUnreadable: a body that cannot be read to its end gets 400 and
// the handler does not run.
func TestBodyUnreadable(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var h counter
		rec, p := serveDirect(mustNew(t, s, idemhttp.Config{})(&h), "k", &failingReader{n: 3})
		if p != nil {
			t.Fatal(p)
		}
		wantProblem(t, reply{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}, http.StatusBadRequest, idemhttp.ProblemBodyUnreadable)
		if h.n.Load() != 0 {
			t.Fatal("handler ran without its body")
		}
	})
}

// TestCompletionFails: when the store goes away while the handler runs, the
// handler's response still reaches the client, and the failure to record it
// is logged as an error.
func TestCompletionFails(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		db := f.Open(t)
		s, err := sqlstore.New(db, sqlstore.Config{Dialect: b.Dialect, Table: f.Table})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		// The completion is retried while the lease holds: a short one
		// keeps the test short.
		srv := serve(t, s, idemhttp.Config{Logger: logs.Logger(), Lease: 300 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.Close()
			db.Close() // the database is gone before the outcome is written
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("charged"))
		}))
		rep := send(t, srv, req{Key: "k"})
		wantFresh(t, rep, http.StatusCreated)
		if rep.Body != "charged" {
			t.Fatalf("body = %q: the client must get the handler's response", rep.Body)
		}
		if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "store could not be written") {
			t.Errorf("unrecorded outcome not logged as an error:\n%s", logs.String())
		}
	})
}
