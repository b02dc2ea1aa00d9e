package sqlstore_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/testdb"
)

// BenchmarkStore measures the store's statements without the Manager on
// every backend: a claim of a new key, a claim that finds a completed
// record (a replay), and a completion. Compare with BenchmarkDo in the root
// package for what the Manager adds.
func BenchmarkStore(b *testing.B) {
	testdb.RequireAll(b)
	const fp = "jcs-sha256-1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	payload := []byte(`{"id":"ch_3N4c5D6e7F8g9H0i","status":"succeeded","amount":12999,"currency":"eur","created":1718000000}`)
	for _, backend := range testdb.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			s := testdb.NewStore(b, backend)
			ctx := context.Background()
			seq := 0
			claim := func(key string) idempotency.ClaimResult {
				seq++
				cr, err := s.Claim(ctx, idempotency.ClaimRequest{Namespace: "bench", Key: key, Fingerprint: fp,
					Token: "tok-" + strconv.Itoa(seq), Lease: idempotency.DefaultLease, TTL: idempotency.DefaultTTL})
				if err != nil {
					b.Fatal(err)
				}
				return cr
			}
			complete := func(key string) {
				lock := idempotency.Lock{Namespace: "bench", Key: key, Token: "tok-" + strconv.Itoa(seq)}
				if err := s.Complete(ctx, lock, idempotency.StateCompleted, payload, idempotency.DefaultTTL); err != nil {
					b.Fatal(err)
				}
			}
			const replayKeys = 256
			for i := range replayKeys {
				k := "replay-" + strconv.Itoa(i)
				claim(k)
				complete(k)
			}
			n := 0
			b.Run("claim-new", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					n++
					if cr := claim("new-" + strconv.Itoa(n)); !cr.Claimed {
						b.Fatal("a new key was not claimed")
					}
				}
			})
			b.Run("claim-replay", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					if cr := claim("replay-" + strconv.Itoa(i%replayKeys)); cr.Claimed {
						b.Fatal("a completed key was claimed")
					}
				}
			})
			b.Run("claim-complete", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					n++
					k := "new-" + strconv.Itoa(n)
					claim(k)
					complete(k)
				}
			})
		})
	}
}
