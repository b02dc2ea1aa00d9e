package idemhttp_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
)

// TestStoredKeyFindsTheRecord: an operator finds what the middleware
// recorded for a scope and a client's key, quoted or not, and forgetting it
// lets the handler run again for that scope only.
func TestStoredKeyFindsTheRecord(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		in, ok := s.(idempotency.Inspector)
		if !ok {
			t.Fatalf("%T does not implement idempotency.Inspector", s)
		}
		var h counter
		srv := serve(t, s, idemhttp.Config{Scope: func(r *http.Request) string { return r.Header.Get("Account") }}, &h)
		for _, acct := range []string{"acct-1", "acct-2"} {
			send(t, srv, req{Key: `"order-7"`, Body: "{}", Header: map[string]string{"Account": acct}})
		}
		ctx := context.Background()
		info, err := in.Inspect(ctx, idemhttp.DefaultNamespace, idemhttp.StoredKey("acct-1", "order-7"))
		if err != nil || info.State != idempotency.StateCompleted {
			t.Fatalf("Inspect(StoredKey(acct-1, order-7)) = %+v, %v; want the completed record", info, err)
		}
		if _, err := in.Inspect(ctx, idemhttp.DefaultNamespace, idemhttp.StoredKey("acct-3", "order-7")); !errors.Is(err, idempotency.ErrNotFound) {
			t.Errorf("Inspect for a scope that never sent the key: %v; want ErrNotFound", err)
		}
		if ok, err := in.Forget(ctx, idemhttp.DefaultNamespace, idemhttp.StoredKey("acct-1", "order-7")); !ok || err != nil {
			t.Fatalf("Forget = %v, %v; want true", ok, err)
		}
		for acct, want := range map[string]string{"acct-1": "", "acct-2": "true"} {
			rep := send(t, srv, req{Key: "order-7", Body: "{}", Header: map[string]string{"Account": acct}})
			if got := rep.Header.Get("Idempotent-Replayed"); got != want {
				t.Errorf("%s after forgetting acct-1's key: Idempotent-Replayed %q; want %q", acct, got, want)
			}
		}
		if n := h.n.Load(); n != 3 {
			t.Errorf("handler ran %d times; want 3 (two scopes, then acct-1's forgotten key again)", n)
		}
	})
}
