package idemhttp_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/internal/testdb"
)

// failingStore is a store whose claims fail, as a store that is down.
type failingStore struct{ idempotency.Store }

func (failingStore) Claim(context.Context, idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	return idempotency.ClaimResult{}, errors.New("connection refused")
}

// TestRefuseRendersEveryRefusal: Config.Refuse writes every refusal the
// middleware makes, with its status, type and detail, and Retry-After is
// set for 409 and 503 whatever the hook writes.
func TestRefuseRendersEveryRefusal(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var (
			mu   sync.Mutex
			seen []idemhttp.Refusal
		)
		refuse := func(w http.ResponseWriter, r *http.Request, f idemhttp.Refusal) {
			mu.Lock()
			seen = append(seen, f)
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(`{"error":{"type":"x"}}`))
		}
		started, release := make(chan struct{}), make(chan struct{})
		var once, releaseOnce sync.Once
		letGo := func() { releaseOnce.Do(func() { close(release) }) }
		defer letGo() // a failing test must not leave the handler blocked: the server's Close waits for it
		srv := serve(t, s, idemhttp.Config{Refuse: refuse, MaxBodyBytes: 16}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				once.Do(func() { close(started) })
				<-release
			}
			w.WriteHeader(http.StatusCreated)
		}))
		down := serve(t, failingStore{s}, idemhttp.Config{Refuse: refuse}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Error("the handler ran although the store is down")
		}))

		send(t, srv, req{Key: "k", Body: "a"})
		slowDone := make(chan error, 1)
		go func() {
			_, err := trySend(srv, req{Path: "/slow", Key: "slow", Body: "a"})
			slowDone <- err
		}()
		<-started
		cases := []struct {
			rep        reply
			status     int
			typ        string
			retryAfter bool
		}{
			{send(t, srv, req{Body: "a"}), 400, idemhttp.ProblemKeyMissing, false},
			{send(t, srv, req{Key: strings.Repeat("k", 300), Body: "a"}), 400, idemhttp.ProblemKeyInvalid, false},
			{send(t, srv, req{Key: "big", Body: strings.Repeat("x", 17)}), 413, idemhttp.ProblemRequestTooLarge, false},
			{send(t, srv, req{Key: "k", Body: "b"}), 422, idemhttp.ProblemRequestMismatch, false},
			{send(t, srv, req{Path: "/slow", Key: "slow", Body: "a"}), 409, idemhttp.ProblemRequestInProgress, true},
			{send(t, down, req{Key: "k", Body: "a"}), 503, idemhttp.ProblemStoreUnavailable, true},
		}
		letGo()
		if err := <-slowDone; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != len(cases) {
			t.Fatalf("Refuse saw %d refusals, want %d: %+v", len(seen), len(cases), seen)
		}
		for i, c := range cases {
			f := seen[i]
			if f.Status != c.status || f.Type != c.typ || f.Detail == "" || f.Title == "" {
				t.Errorf("refusal %d = %+v, want status %d, type %s, a title and a detail", i, f, c.status, c.typ)
			}
			if c.rep.Status != c.status || c.rep.Body != `{"error":{"type":"x"}}` {
				t.Errorf("answer %d = %d %q, want the hook's %d", i, c.rep.Status, c.rep.Body, c.status)
			}
			if got := c.rep.Header.Get("Retry-After"); (got != "") != c.retryAfter || c.retryAfter != (f.RetryAfter > 0) {
				t.Errorf("answer %d: Retry-After %q, Refusal.RetryAfter %v; want them %v", i, got, f.RetryAfter, c.retryAfter)
			}
		}
	})
}

// TestHashKeysInLogsHidesTheKey: with HashKeysInLogs, a client's key never
// reaches the log, not even inside the store's error, which quotes the
// stored key.
func TestHashKeysInLogsHidesTheKey(t *testing.T) {
	const secret = "card-4242-4242-4242-4242"
	for _, hash := range []bool{false, true} {
		var logs logBuffer
		srv := serve(t, failingStore{testdb.NewStore(t, testdb.Backends()[0])}, idemhttp.Config{HashKeysInLogs: hash, Logger: logs.Logger()},
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("the handler ran although the store is down") }))
		send(t, srv, req{Key: secret, Body: "a"})
		got := logs.String()
		if !strings.Contains(got, "idempotency store failed") {
			t.Fatalf("hash=%v: the store's failure was not logged:\n%s", hash, got)
		}
		if leaked := strings.Contains(got, secret); leaked == hash {
			t.Errorf("hash=%v: key in the log = %v:\n%s", hash, leaked, got)
		}
		if hash && !strings.Contains(got, "key_sha256=") {
			t.Errorf("hash=true: no key_sha256 attribute:\n%s", got)
		}
	}
}
