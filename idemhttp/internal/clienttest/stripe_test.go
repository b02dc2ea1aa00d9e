package clienttest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/idemkit/idempotency/idemhttp"
)

// stripeEnvelope renders refusals in Stripe's error envelope, as
// idemhttp's ExampleConfig_refuse does.
func stripeEnvelope(w http.ResponseWriter, _ *http.Request, f idemhttp.Refusal) {
	typ := "api_error"
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

// stripeAPI is a Stripe-like charges endpoint behind the middleware,
// counting the requests that reach it and the charges it makes.
type stripeAPI struct {
	srv               *httptest.Server
	requests, charges atomic.Int32
	cutFirst          atomic.Bool // lose the first response after it is recorded
}

func newStripeAPI(t *testing.T, cfg idemhttp.Config) *stripeAPI {
	t.Helper()
	idem, err := idemhttp.New(newStore(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := &stripeAPI{}
	charges := idem(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := a.charges.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"ch_`+string(rune('0'+n))+`","object":"charge","amount":`+r.FormValue("amount")+`}`)
	}))
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.requests.Add(1) == 1 && a.cutFirst.Load() {
			charges.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler) // recorded, then lost on the way
		}
		charges.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *stripeAPI) client() *stripe.Client {
	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(a.srv.URL),
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return stripe.NewClient("sk_test_clienttest", stripe.WithBackends(&stripe.Backends{API: b, Connect: b, Uploads: b, MeterEvents: b}))
}

func charge(c *stripe.Client, key string, amount int64) (*stripe.Charge, error) {
	params := &stripe.ChargeCreateParams{Amount: stripe.Int64(amount), Currency: stripe.String("usd")}
	params.SetIdempotencyKey(key)
	return c.V1Charges.Create(context.Background(), params)
}

// TestStripeClientLostResponseIsReplayed: stripe-go retries a response
// lost after the charge was recorded and gets the recorded charge.
func TestStripeClientLostResponseIsReplayed(t *testing.T) {
	api := newStripeAPI(t, idemhttp.Config{Refuse: stripeEnvelope})
	api.cutFirst.Store(true)
	ch, err := charge(api.client(), "k", 100)
	if err != nil || ch.ID != "ch_1" {
		t.Fatalf("charge = %+v, %v; want ch_1", ch, err)
	}
	if api.requests.Load() != 2 || api.charges.Load() != 1 {
		t.Errorf("%d requests, %d charges; want 2 and 1", api.requests.Load(), api.charges.Load())
	}
}

// TestStripeClientKeyReuse: stripe-go retries an error whose body is not
// Stripe's envelope, so with problem details a refused key reuse is sent
// three times; with the envelope (Config.Refuse) it stops at once. Either
// way no second charge is made.
func TestStripeClientKeyReuse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		refuse   func(http.ResponseWriter, *http.Request, idemhttp.Refusal)
		requests int32
	}{
		{"problem details", nil, 1 + 3},
		{"Stripe's envelope", stripeEnvelope, 1 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newStripeAPI(t, idemhttp.Config{Refuse: tc.refuse})
			c := api.client()
			if _, err := charge(c, "k", 100); err != nil {
				t.Fatal(err)
			}
			_, err := charge(c, "k", 200)
			var serr *stripe.Error
			if tc.refuse != nil && (!errors.As(err, &serr) || serr.HTTPStatusCode != http.StatusUnprocessableEntity || serr.Type != "idempotency_error") {
				t.Errorf("key reuse = %v; want a 422 idempotency_error", err)
			}
			if err == nil {
				t.Error("key reuse succeeded")
			}
			if api.requests.Load() != tc.requests || api.charges.Load() != 1 {
				t.Errorf("%d requests, %d charges; want %d and 1", api.requests.Load(), api.charges.Load(), tc.requests)
			}
		})
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// TestStripeClientTimeoutThen409ThenReplay: the first attempt outlives the
// client's timeout; stripe-go retries and meets the charge in progress
// (409, problem details, which it retries); once the charge is done, the
// next retry gets it replayed. One charge.
func TestStripeClientTimeoutThen409ThenReplay(t *testing.T) {
	idem, err := idemhttp.New(newStore(t), idemhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	saw409 := make(chan struct{})
	var once atomic.Bool
	var charges, requests atomic.Int32
	handler := idem(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		charges.Add(1)
		<-saw409 // the charge is still running when the retry arrives
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"ch_1","object":"charge","amount":100}`)
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		sw := &statusWriter{ResponseWriter: w}
		handler.ServeHTTP(sw, r)
		if sw.status == http.StatusConflict && once.CompareAndSwap(false, true) {
			close(saw409)
		}
	}))
	defer srv.Close()
	defer func() { // a failing test must not leave the handler blocked: Close waits for it
		if once.CompareAndSwap(false, true) {
			close(saw409)
		}
	}()
	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(srv.URL),
		MaxNetworkRetries: stripe.Int64(3),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		HTTPClient:        &http.Client{Timeout: 300 * time.Millisecond},
	})
	c := stripe.NewClient("sk_test_clienttest", stripe.WithBackends(&stripe.Backends{API: b, Connect: b, Uploads: b, MeterEvents: b}))
	ch, err := charge(c, "k", 100)
	if err != nil || ch.ID != "ch_1" {
		t.Fatalf("charge = %+v, %v; want ch_1 in the end", ch, err)
	}
	if charges.Load() != 1 || requests.Load() < 3 {
		t.Errorf("%d charges over %d requests; want 1 charge, and a timeout, a 409 and a replay", charges.Load(), requests.Load())
	}
}

// TestStripeClient503RunsAgain: a handler's 503 is not recorded, so the
// key is free and stripe-go's retry runs the handler again.
func TestStripeClient503RunsAgain(t *testing.T) {
	idem, err := idemhttp.New(newStore(t), idemhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := httptest.NewServer(idem(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"ch_2","object":"charge","amount":100}`)
	})))
	defer srv.Close()
	api := &stripeAPI{srv: srv}
	ch, err := charge(api.client(), "k", 100)
	if err != nil || ch.ID != "ch_2" {
		t.Fatalf("charge = %+v, %v; want ch_2 from the second run", ch, err)
	}
	if runs.Load() != 2 {
		t.Errorf("the handler ran %d times; want 2: a 503 is not recorded", runs.Load())
	}
}
