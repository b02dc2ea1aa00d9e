package idemhttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/sqlstore"
)

// stripeError renders the middleware's refusals in Stripe's error envelope,
// so that Stripe's client libraries read them as Stripe errors and do not
// retry a refusal a retry cannot fix.
func stripeError(w http.ResponseWriter, r *http.Request, f idemhttp.Refusal) {
	typ := "api_error" // 500, 503: worth a retry
	switch f.Status {
	case http.StatusConflict, http.StatusUnprocessableEntity:
		typ = "idempotency_error"
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		typ = "invalid_request_error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": typ, "message": f.Detail}})
}

// ExampleConfig_refuse answers refusals in an API's own error format:
// here Stripe's.
func ExampleConfig_refuse() {
	dir, err := os.MkdirTemp("", "idemhttp-refuse")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db := sqlx.MustOpen("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "idem.db")))
	defer db.Close()
	store, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		log.Fatal(err)
	}
	idem, err := idemhttp.New(store, idemhttp.Config{Refuse: stripeError})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(idem(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"ch_1"}`)
	})))
	defer srv.Close()

	post := func(key, body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/charges", strings.NewReader(body))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Error struct{ Type string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", e.Error.Type)))
	}
	post("k1", "amount=100")
	post("k1", "amount=200") // the same key for another request
	post("", "amount=100")   // no key
	// Output:
	// 201
	// 422 idempotency_error
	// 400 invalid_request_error
}
