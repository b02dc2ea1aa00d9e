package clienttest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/sqlstore"
)

// flakyStore fails the claims it is told to.
type flakyStore struct {
	idempotency.Store
	fail atomic.Int32
}

func (f *flakyStore) Claim(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	if f.fail.Add(-1) >= 0 {
		return idempotency.ClaimResult{}, errors.New("connection refused")
	}
	return f.Store.Claim(ctx, r)
}

func newStore(t *testing.T) idempotency.Store {
	t.Helper()
	db := sqlx.MustOpen("sqlite", sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "idem.db")))
	t.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRetryableHTTPDefaultPolicy runs go-retryablehttp with its default
// retry policy (connection errors, 429 and 5xx are retried) against the
// middleware: what it retries, and that no retry runs the handler twice.
func TestRetryableHTTPDefaultPolicy(t *testing.T) {
	store := &flakyStore{Store: newStore(t)}
	idem, err := idemhttp.New(store, idemhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var runs sync.Map // key -> *atomic.Int32
	count := func(key string) *atomic.Int32 {
		v, _ := runs.LoadOrStore(key, new(atomic.Int32))
		return v.(*atomic.Int32)
	}
	hold := make(chan struct{})
	held := make(chan struct{})
	handler := idem(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		count(key).Add(1)
		if key == "held" {
			close(held)
			<-hold
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"ch_`+key+`"}`)
	}))
	var requests sync.Map
	var cutFirst atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		v, _ := requests.LoadOrStore(key, new(atomic.Int32))
		n := v.(*atomic.Int32).Add(1)
		if key == "lost" && n == 1 && cutFirst.CompareAndSwap(false, true) {
			// The response is recorded, then lost on the way: the
			// connection is cut before a byte reaches the client.
			handler.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler)
		}
		handler.ServeHTTP(w, r)
	}))
	defer srv.Close()
	sent := func(key string) int32 {
		v, _ := requests.LoadOrStore(key, new(atomic.Int32))
		return v.(*atomic.Int32).Load()
	}

	client := retryablehttp.NewClient()
	client.Logger = nil
	client.RetryMax = 3
	client.RetryWaitMin = 10 * time.Millisecond
	client.RetryWaitMax = 2 * time.Second
	post := func(key, body string) *http.Response {
		t.Helper()
		req, err := retryablehttp.NewRequest(http.MethodPost, srv.URL+"/charges", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", key, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	// A response lost on the way: the client retries the cut connection
	// and gets the recorded response, replayed.
	if resp := post("lost", `{"amount":100}`); resp.StatusCode != http.StatusCreated || resp.Header.Get(idemhttp.ReplayedHeader) != "true" {
		t.Errorf("lost response: %d, replayed %q; want 201 replayed", resp.StatusCode, resp.Header.Get(idemhttp.ReplayedHeader))
	}
	if sent("lost") != 2 || count("lost").Load() != 1 {
		t.Errorf("lost response: %d requests, handler ran %d times; want 2 and 1", sent("lost"), count("lost").Load())
	}

	// The store is down for one claim: 503 with Retry-After, retried, and
	// the retry runs the handler once.
	store.fail.Store(1)
	if resp := post("down", `{"amount":100}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("store down once: %d; want 201 after a retry", resp.StatusCode)
	}
	if sent("down") != 2 || count("down").Load() != 1 {
		t.Errorf("store down once: %d requests, handler ran %d times; want 2 and 1", sent("down"), count("down").Load())
	}

	// The key reused for another request: 422, not retried.
	post("reuse", `{"amount":100}`)
	if resp := post("reuse", `{"amount":999}`); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("key reuse: %d; want 422", resp.StatusCode)
	}
	if sent("reuse") != 2 {
		t.Errorf("key reuse: %d requests for two calls; want 2: a 422 is not retried", sent("reuse"))
	}

	// A duplicate while the first is in flight: 409, which this policy
	// does not retry (a 4xx); the handler runs once.
	first := make(chan int, 1)
	go func() {
		req, _ := retryablehttp.NewRequest(http.MethodPost, srv.URL+"/charges", []byte(`{"amount":1}`))
		req.Header.Set("Idempotency-Key", "held")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-held
	if resp := post("held", `{"amount":1}`); resp.StatusCode != http.StatusConflict || resp.Header.Get("Retry-After") == "" {
		t.Errorf("duplicate in flight: %d, Retry-After %q; want 409 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(hold)
	if code := <-first; code != http.StatusCreated {
		t.Errorf("the first request: %d; want 201", code)
	}
	if sent("held") != 2 || count("held").Load() != 1 {
		t.Errorf("duplicate in flight: %d requests, handler ran %d times; want 2 and 1", sent("held"), count("held").Load())
	}
}
