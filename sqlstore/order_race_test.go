package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

// TestClaimOrdersRaceEachOther: an adaptive store may claim in either order
// from one call to the next, and processes switch independently, so stores
// in different orders race for the same keys. Four stores on their own
// pools, two writing first and two reading first, send 16 claims at once
// for a new key, an expired record (two different requests, while a
// cleaner deletes it), a lapsed lease (the same request) and a claim its
// owner releases during the race: never more than one winner, and exactly
// one where the key is free throughout.
func TestClaimOrdersRaceEachOther(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		stores := make([]*sqlstore.Store, 4)
		for i := range stores {
			stores[i] = f.Store(t)
			sqlstore.ForceClaimOrder(stores[i], sqlstore.ClaimOrders[i%2])
		}
		ctx := context.Background()
		const (
			fpA = "test:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			fpB = "test:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		)
		claim := func(s *sqlstore.Store, key, fp, token string, lease, ttl time.Duration) (idempotency.ClaimResult, error) {
			return s.Claim(ctx, idempotency.ClaimRequest{Namespace: "race", Key: key, Fingerprint: fp, Token: token, Lease: lease, TTL: ttl})
		}
		mustClaim := func(key string, lease, ttl time.Duration) idempotency.Lock {
			t.Helper()
			lock := idempotency.Lock{Namespace: "race", Key: key, Token: "owner-" + key}
			if r, err := claim(stores[0], key, fpA, lock.Token, lease, ttl); err != nil || !r.Claimed {
				t.Fatalf("setting up %s: %+v, %v", key, r, err)
			}
			return lock
		}
		for _, mode := range []string{"new", "expired", "lapsed", "released"} {
			for round := range 8 {
				key := fmt.Sprintf("%s-%d", mode, round)
				var during func()
				switch mode {
				case "expired":
					lock := mustClaim(key, time.Hour, time.Hour)
					if err := stores[0].Complete(ctx, lock, idempotency.StateCompleted, []byte("old"), time.Millisecond); err != nil {
						t.Fatal(err)
					}
					during = func() { _, _ = stores[3].DeleteExpired(ctx, 10) }
				case "lapsed":
					mustClaim(key, time.Millisecond, time.Hour)
				case "released":
					lock := mustClaim(key, time.Hour, time.Hour)
					during = func() {
						if err := stores[2].Release(ctx, lock); err != nil {
							t.Errorf("release: %v", err)
						}
					}
				}
				if mode == "expired" || mode == "lapsed" {
					time.Sleep(5 * time.Millisecond) // past the 1 ms expiry or lease: only the clock can tell
				}

				var (
					wg      sync.WaitGroup
					mu      sync.Mutex
					winners []string
					start   = make(chan struct{})
				)
				if during != nil {
					wg.Add(1)
					go func() { defer wg.Done(); <-start; during() }()
				}
				for g := range 16 {
					fp := fpA
					if mode == "expired" && g%2 == 1 {
						fp = fpB // an expired record may be claimed by another request
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						token := fmt.Sprintf("g%d", g)
						r, err := claim(stores[g%4], key, fp, token, time.Hour, time.Hour)
						if err != nil {
							t.Errorf("%s: claim: %v", key, err)
							return
						}
						if r.Claimed {
							mu.Lock()
							winners = append(winners, token)
							mu.Unlock()
						}
					}()
				}
				close(start)
				wg.Wait()
				want := 1
				if mode == "released" && len(winners) == 0 {
					want = 0 // every claim ran before the release
				}
				if len(winners) != want {
					t.Errorf("%s: winners %v, want exactly one", key, winners)
				}
			}
		}
	})
}
