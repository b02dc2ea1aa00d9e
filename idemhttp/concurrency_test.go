package idemhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/internal/testdb"
)

const duplicates = 50

// sendAll sends n identical requests at once, spread over servers, and
// returns the replies as they come.
func sendAll(t *testing.T, n int, q req, servers ...*httptest.Server) <-chan reply {
	t.Helper()
	out := make(chan reply, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rep, err := trySend(servers[i%len(servers)], q)
			if err != nil {
				t.Error(err)
				rep.Status = -1
			}
			out <- rep
		}()
	}
	close(start)
	t.Cleanup(wg.Wait)
	return out
}

// TestConcurrentDuplicates: 50 identical requests at once run the handler
// once; the other 49 get 409 while it runs. The handler holds its response
// until all 49 have been answered, so the test does not depend on timing.
func TestConcurrentDuplicates(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs atomic.Int64
		release := make(chan struct{})
		srv := serve(t, s, idemhttp.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if runs.Add(1) == 1 {
				<-release
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("done"))
		}))
		replies := sendAll(t, duplicates, req{Key: "k", Body: "b"}, srv)
		releaseOnce := sync.OnceFunc(func() { close(release) })
		t.Cleanup(releaseOnce) // a failed test still lets the handler return
		for range duplicates - 1 {
			wantProblem(t, <-replies, http.StatusConflict, idemhttp.ProblemRequestInProgress)
		}
		releaseOnce()
		wantFresh(t, <-replies, http.StatusCreated)
		if n := runs.Load(); n != 1 {
			t.Fatalf("handler ran %d times, want 1", n)
		}
	})
}

// TestConcurrentDuplicatesWait: with Wait, 50 identical requests at once,
// sent to two servers with their own pools on one table (two processes),
// all get the one response: the handler runs once, 49 replies are replays.
// The handler answers only once all 50 requests have reached the servers,
// so the duplicates really are in flight together.
func TestConcurrentDuplicatesWait(t *testing.T) {
	forEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) {
		var runs, arrived atomic.Int64
		allArrived := make(chan struct{})
		arrive := sync.OnceFunc(func() { close(allArrived) })
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := runs.Add(1)
			<-allArrived
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("run " + itoa(n)))
		})
		cfg := idemhttp.Config{Wait: time.Minute, Lease: 2 * time.Second}
		var servers []*httptest.Server
		for range 2 {
			idem := mustNew(t, open(t), cfg)(handler)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if arrived.Add(1) == duplicates {
					arrive()
				}
				idem.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			servers = append(servers, srv)
		}
		replies := sendAll(t, duplicates, req{Key: "k", Body: "b"}, servers...)
		t.Cleanup(arrive) // a failed test still lets the handler return
		fresh := 0
		for range duplicates {
			rep := <-replies
			if rep.Status != http.StatusCreated || rep.Body != "run 1" {
				t.Fatalf("reply %d %q, want 201 run 1", rep.Status, rep.Body)
			}
			if rep.Header.Get(idemhttp.ReplayedHeader) != "true" {
				fresh++
			}
		}
		if fresh != 1 || runs.Load() != 1 {
			t.Fatalf("%d fresh replies after %d runs, want 1 and 1", fresh, runs.Load())
		}
	})
}

// TestScopeIsolation: the same key sent by two scopes runs the handler
// twice, each scope is replayed its own response, and no scope can reach
// another's even when scope and key are spliced differently.
func TestScopeIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var h counter
		srv := serve(t, s, idemhttp.Config{Scope: func(r *http.Request) string { return r.Header.Get("X-Account") }}, &h)
		as := func(account, key, body string) req {
			q := req{Key: key, Body: body}
			if account != "" {
				q.Header = map[string]string{"X-Account": account}
			}
			return q
		}
		alice := send(t, srv, as("alice", "k", "alice's"))
		bob := send(t, srv, as("bob", "k", "bob's longer body"))
		anon := send(t, srv, as("", "k", "x"))
		wantFresh(t, alice, http.StatusCreated)
		wantFresh(t, bob, http.StatusCreated)
		wantFresh(t, anon, http.StatusCreated)
		if alice.Body == bob.Body || bob.Body == anon.Body {
			t.Fatalf("scopes shared a response: %q %q %q", alice.Body, bob.Body, anon.Body)
		}
		wantReplay(t, alice, send(t, srv, as("alice", "k", "alice's")))
		wantReplay(t, bob, send(t, srv, as("bob", "k", "bob's longer body")))
		// Bob sending Alice's exact request is still Bob's key: a mismatch
		// with his own, never a replay of hers.
		wantProblem(t, send(t, srv, as("bob", "k", "alice's")), http.StatusUnprocessableEntity, idemhttp.ProblemRequestMismatch)

		one := send(t, srv, as("a", "b:c", "x"))
		two := send(t, srv, as("a:b", "c", "x"))
		wantFresh(t, one, http.StatusCreated)
		wantFresh(t, two, http.StatusCreated)
		if n := h.n.Load(); n != 5 {
			t.Fatalf("handler ran %d times, want 5", n)
		}
	})
}

// TestObserverSeesRequests: the middleware's Manager reports each request
// with a key to Config.Observer: a first run, then a replay.
func TestObserverSeesRequests(t *testing.T) {
	var mu sync.Mutex
	var outcomes []idempotency.Outcome
	obs := &idempotency.Observer{CallEnd: func(_ context.Context, _ idempotency.CallInfo, e idempotency.CallEnd) {
		mu.Lock()
		outcomes = append(outcomes, e.Outcome)
		mu.Unlock()
	}}
	s := testdb.NewStore(t, testdb.Backends()[0])
	var h counter
	srv := serve(t, s, idemhttp.Config{Observer: obs}, &h)
	first := send(t, srv, req{Key: "k", Body: "b"})
	wantFresh(t, first, http.StatusCreated)
	wantReplay(t, first, send(t, srv, req{Key: "k", Body: "b"}))
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(outcomes) != "[executed replayed]" {
		t.Errorf("observer saw %v; want [executed replayed]", outcomes)
	}
}
