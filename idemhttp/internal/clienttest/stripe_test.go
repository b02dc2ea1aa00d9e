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
