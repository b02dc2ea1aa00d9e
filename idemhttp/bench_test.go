package idemhttp_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/internal/testdb"
)

// benchRequest is a 1 KiB JSON POST with a key.
func benchRequest(key string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/payments?x=1", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Idempotency-Key", key)
	return r
}

// BenchmarkMiddleware measures a request through the middleware on each
// backend, without the network: a new key (claim, handler, completion) and a
// replay (one read), next to the store's floor for each (a bare Claim and
// Complete; a bare Claim that finds the completed record), so the
// middleware's own cost is the difference.
func BenchmarkMiddleware(b *testing.B) {
	body := bytes.Repeat([]byte("a"), 1024)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"pay_1","amount":100}`))
	})
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			store := testdb.NewStore(b, be)
			h := mustNew(b, store, idemhttp.Config{})(handler)
			claim := func(key string) idempotency.ClaimRequest {
				return idempotency.ClaimRequest{Namespace: "floor", Key: key, Fingerprint: "fp", Token: "t" + key, Lease: time.Minute, TTL: time.Hour}
			}
			ctx := context.Background()
			b.Run("floor-new-key", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					c := claim("new-" + strconv.Itoa(i))
					if _, err := store.Claim(ctx, c); err != nil {
						b.Fatal(err)
					}
					if err := store.Complete(ctx, idempotency.Lock{Namespace: c.Namespace, Key: c.Key, Token: c.Token}, idempotency.StateCompleted, body[:64], c.TTL); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("floor-replay", func(b *testing.B) {
				c := claim("replayed")
				if _, err := store.Claim(ctx, c); err != nil {
					b.Fatal(err)
				}
				if err := store.Complete(ctx, idempotency.Lock{Namespace: c.Namespace, Key: c.Key, Token: c.Token}, idempotency.StateCompleted, body[:64], c.TTL); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if r, err := store.Claim(ctx, c); err != nil || r.Claimed {
						b.Fatal(err, r.Claimed)
					}
				}
			})
			b.Run("new-key", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, benchRequest("new-"+strconv.Itoa(i), body))
					if rec.Code != http.StatusCreated {
						b.Fatal(rec.Code, rec.Body)
					}
				}
			})
			b.Run("replay", func(b *testing.B) {
				h.ServeHTTP(httptest.NewRecorder(), benchRequest("replayed", body))
				for b.Loop() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, benchRequest("replayed", body))
					if rec.Header().Get(idemhttp.ReplayedHeader) != "true" {
						b.Fatal("not replayed")
					}
				}
			})
		})
	}
}
