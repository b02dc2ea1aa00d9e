package idemhttp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/internal/testlog"
	"github.com/idemkit/idempotency/internal/teststores"
)

// TestMain fails the run if a test leaves a goroutine behind: a handler,
// a heartbeat, a server or a pool.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// forEachStore runs fn in parallel on a fresh store of every backend: the
// SQL databases and the Redis deployments.
func forEachStore(t *testing.T, fn func(t *testing.T, s idempotency.Store)) {
	t.Helper()
	teststores.ForEach(t, fn)
}

// forEachShared runs fn in parallel on every backend with stores that share
// one table or key prefix: see teststores.ForEachShared.
func forEachShared(t *testing.T, fn func(t *testing.T, open func(*testing.T) idempotency.Store)) {
	t.Helper()
	teststores.ForEachShared(t, fn)
}

// mustNew returns the middleware or fails t.
func mustNew(t testing.TB, s idempotency.Store, cfg idemhttp.Config) func(http.Handler) http.Handler {
	t.Helper()
	mw, err := idemhttp.New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

// serve starts a server whose every route is h wrapped by the middleware.
func serve(t testing.TB, s idempotency.Store, cfg idemhttp.Config, h http.Handler) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", mustNew(t, s, cfg)(h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// counter is a handler that counts its runs and answers 201 with a body
// naming the run, so a replay is told from a new run by its body.
type counter struct {
	n atomic.Int64
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.n.Add(1)
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/things/"+itoa(n))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, `{"run":`+itoa(n)+`,"echo":`+itoa(int64(len(body)))+`}`)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// reply is a response read whole.
type reply struct {
	Status int
	Header http.Header
	Body   string
}

// req describes a request to send.
type req struct {
	Method string // defaults to POST
	Path   string // defaults to /things
	Key    string // no Idempotency-Key header when empty
	Body   string
	Header map[string]string
}

func send(t testing.TB, srv *httptest.Server, q req) reply {
	t.Helper()
	rep, err := trySend(srv, q)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// trySend is send for goroutines other than the test's.
func trySend(srv *httptest.Server, q req) (reply, error) {
	if q.Method == "" {
		q.Method = http.MethodPost
	}
	if q.Path == "" {
		q.Path = "/things"
	}
	r, err := http.NewRequest(q.Method, srv.URL+q.Path, strings.NewReader(q.Body))
	if err != nil {
		return reply{}, err
	}
	if q.Key != "" {
		r.Header.Set("Idempotency-Key", q.Key)
	}
	for k, v := range q.Header {
		r.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(r)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, nil
}

// wantProblem checks that rep is a problem of the given status and type.
func wantProblem(t testing.TB, rep reply, status int, typ string) idemhttp.Problem {
	t.Helper()
	if rep.Status != status {
		t.Fatalf("status = %d, want %d (body %s)", rep.Status, status, rep.Body)
	}
	if ct := rep.Header.Get("Content-Type"); ct != idemhttp.ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q", ct, idemhttp.ProblemContentType)
	}
	var p idemhttp.Problem
	if err := json.Unmarshal([]byte(rep.Body), &p); err != nil {
		t.Fatalf("problem body %q: %v", rep.Body, err)
	}
	if p.Type != typ || p.Status != status || p.Title == "" || p.Detail == "" {
		t.Fatalf("problem = %+v, want type %s and status %d with a title and a detail", p, typ, status)
	}
	if rep.Header.Get(idemhttp.ReplayedHeader) != "" {
		t.Fatalf("a problem carries %s", idemhttp.ReplayedHeader)
	}
	return p
}

// wantReplay checks rep against the first response: same status and body,
// marked as a replay.
func wantReplay(t testing.TB, first, rep reply) {
	t.Helper()
	if rep.Status != first.Status || rep.Body != first.Body {
		t.Fatalf("replay = %d %q, want %d %q", rep.Status, rep.Body, first.Status, first.Body)
	}
	if got := rep.Header.Get(idemhttp.ReplayedHeader); got != "true" {
		t.Fatalf("replay %s = %q, want true", idemhttp.ReplayedHeader, got)
	}
}

// wantFresh checks that rep came from a run of the handler.
func wantFresh(t testing.TB, rep reply, status int) {
	t.Helper()
	if rep.Status != status {
		t.Fatalf("status = %d, want %d (body %s)", rep.Status, status, rep.Body)
	}
	if got := rep.Header.Get(idemhttp.ReplayedHeader); got != "" {
		t.Fatalf("first response has %s = %q", idemhttp.ReplayedHeader, got)
	}
}

// logBuffer collects what a slog.Logger writes, for tests to read.
type logBuffer = testlog.Buffer
