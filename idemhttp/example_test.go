package idemhttp_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/sqlstore"
)

// accountKey is the context key under which authenticate stores the caller.
type accountKey struct{}

// authenticate stands for real authentication: it maps a bearer token to an
// account and refuses requests without one.
func authenticate(next http.Handler) http.Handler {
	tokens := map[string]string{"token-alice": "acct_alice", "token-bob": "acct_bob"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accountKey{}, account)))
	})
}

// Example puts a payments endpoint behind the middleware, scoped by the
// authenticated account, and shows a first request, its retry (replayed),
// the same key reused for another request (422), and the same key from
// another account (its own payment).
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "idemhttp-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "idem.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(sqlx.NewDb(db, "sqlite"), sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	idem, err := idemhttp.New(store, idemhttp.Config{
		Namespace: "payments-api",
		// The account is part of the key's identity: one account can
		// never be replayed another's response.
		Scope: func(r *http.Request) string { return r.Context().Value(accountKey{}).(string) },
	})
	if err != nil {
		log.Fatal(err)
	}

	var payments atomic.Int64
	createPayment := func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Amount int }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		id := fmt.Sprintf("pay_%d", payments.Add(1)) // the side effect a retry must not repeat
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/payments/"+id)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "amount": in.Amount})
	}

	mux := http.NewServeMux()
	// Authentication runs first, so Scope can read the account.
	mux.Handle("POST /payments", authenticate(idem(http.HandlerFunc(createPayment))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(token, key, body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/payments", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Content-Type") == idemhttp.ProblemContentType {
			var p idemhttp.Problem
			_ = json.Unmarshal(out, &p)
			out = []byte(p.Type)
		}
		fmt.Printf("%d replayed=%t %s\n", resp.StatusCode, resp.Header.Get(idemhttp.ReplayedHeader) == "true", strings.TrimSpace(string(out)))
	}

	post("token-alice", "order-17", `{"amount":100}`) // runs the handler
	post("token-alice", "order-17", `{"amount":100}`) // a retry: replayed
	post("token-alice", "order-17", `{"amount":999}`) // the key reused for another request
	post("token-bob", "order-17", `{"amount":100}`)   // another account, its own key space

	// Output:
	// 201 replayed=false {"amount":100,"id":"pay_1"}
	// 201 replayed=true {"amount":100,"id":"pay_1"}
	// 422 replayed=false https://idemkit.dev/problems/request-mismatch
	// 201 replayed=false {"amount":100,"id":"pay_2"}
}
