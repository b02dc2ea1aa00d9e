package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
)

// Lease is short so that the crashed worker's key is recovered within the
// demo; production services keep the 30s default.
const demoLease = time.Second

// chargeRequest is what a client POSTs to /charges.
type chargeRequest struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// ledger counts the charges that actually ran, by idempotency key.
type ledger struct {
	mu      sync.Mutex
	charges map[string]int
	next    int
}

func (l *ledger) charge(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.charges == nil {
		l.charges = map[string]int{}
	}
	l.charges[key]++
	l.next++
	return fmt.Sprintf("ch_%04d", l.next)
}

func (l *ledger) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.charges[key]
}

// account is the authenticated caller: the middleware's scope, so one
// account can never be replayed another's response.
func account(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// newPaymentsHandler is the service: POST /charges, protected by idemhttp.
// chargeFn does the work once the request is known to be new.
func newPaymentsHandler(store idempotency.Store, chargeFn func(w http.ResponseWriter, r *http.Request, req chargeRequest)) (http.Handler, error) {
	protect, err := idemhttp.New(store, idemhttp.Config{
		Namespace: "charges",
		Scope:     account,
		Lease:     demoLease,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /charges", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req chargeRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Amount <= 0 {
			http.Error(w, `{"error":"want {\"amount\": positive cents}"}`, http.StatusBadRequest)
			return
		}
		chargeFn(w, r, req)
	})))
	return mux, nil
}

// chargeCard is the normal worker: the card network takes a moment, then
// the charge is created.
func chargeCard(l *ledger, networkDelay time.Duration) func(http.ResponseWriter, *http.Request, chargeRequest) {
	return func(w http.ResponseWriter, r *http.Request, req chargeRequest) {
		time.Sleep(networkDelay) // a card network does not stop when the client hangs up
		id := l.charge(r.Header.Get("Idempotency-Key"))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/charges/"+id)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "amount": req.Amount, "currency": req.Currency})
	}
}
