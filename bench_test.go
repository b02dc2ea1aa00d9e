package idempotency_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
	"github.com/idemkit/idempotency/internal/testdb"
)

// benchRequest and benchResponse are a typical payment call: about 200 and
// 100 bytes of JSON, like internal/cmd/idembench's.
type benchRequest struct {
	Account     string            `json:"account"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

type benchResponse struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Created  int64  `json:"created"`
}

var benchReq = benchRequest{
	Account:     "acct_1N2b3C4d5E6f7G8h",
	Amount:      12999,
	Currency:    "eur",
	Description: "Order #100234: 3 items, express shipping",
	Metadata:    map[string]string{"order_id": "100234", "customer": "cus_9f8e7d6c", "channel": "web"},
}

func benchCharge(context.Context, benchRequest) (benchResponse, error) {
	return benchResponse{ID: "ch_3N4c5D6e7F8g9H0i", Status: "succeeded", Amount: 12999, Currency: "eur", Created: 1718000000}, nil
}

// BenchmarkDo measures Manager.Do on every backend (SQLite always; the
// server databases when their DSNs are set): a new key (claim, fn,
// completion) and a replay (one read), from one goroutine and from 32.
// internal/cmd/idembench compares the same calls with hand-written SQL.
func BenchmarkDo(b *testing.B) {
	testdb.RequireAll(b)
	for _, backend := range testdb.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			m, err := idempotency.New[benchRequest, benchResponse](testdb.NewStore(b, backend), idempotency.Config{Namespace: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			const replayKeys = 256
			for i := range replayKeys {
				if _, err := m.Do(ctx, "replay-"+strconv.Itoa(i), benchReq, benchCharge); err != nil {
					b.Fatal(err)
				}
			}
			var seq atomic.Int64
			newKey := func(ctx context.Context) error {
				r, err := m.DoResult(ctx, "new-"+strconv.FormatInt(seq.Add(1), 10), benchReq, benchCharge)
				if err == nil && r.Replayed {
					b.Error("a new key was replayed")
				}
				return err
			}
			replay := func(ctx context.Context) error {
				r, err := m.DoResult(ctx, "replay-"+strconv.FormatInt(seq.Add(1)%replayKeys, 10), benchReq, benchCharge)
				if err == nil && !r.Replayed {
					b.Error("a completed key ran fn again")
				}
				return err
			}
			for _, bc := range []struct {
				name string
				op   func(context.Context) error
				par  int // goroutines; 1 runs serially
			}{
				{"new", newKey, 1},
				{"replay", replay, 1},
				{"new/c32", newKey, 32},
				{"replay/c32", replay, 32},
			} {
				b.Run(bc.name, func(b *testing.B) { runOps(b, bc.par, bc.op) })
			}
		})
	}
}

// BenchmarkDoOverhead measures what Manager.Do itself costs, on a store
// that answers at once without a database: fingerprinting, the owner
// token, the heartbeat, the codec. Compare with BenchmarkDo's round trips.
func BenchmarkDoOverhead(b *testing.B) {
	fp, err := idempotency.Fingerprint(benchReq)
	if err != nil {
		b.Fatal(err)
	}
	payload, err := idempotency.JSONCodec{}.Marshal(benchResponse{ID: "ch_3N4c5D6e7F8g9H0i", Status: "succeeded", Amount: 12999, Currency: "eur", Created: 1718000000})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// An Observer whose hooks do nothing measures the observation's own
	// cost; without one (nil, the default) it should not show at all.
	noop := &idempotency.Observer{
		CallStart: func(ctx context.Context, _ idempotency.CallInfo) context.Context { return ctx },
		CallEnd:   func(context.Context, idempotency.CallInfo, idempotency.CallEnd) {},
		StoreOp:   func(context.Context, idempotency.StoreOp) {},
	}
	// With a cache: new keys (each a distinct key, beside the same
	// without a cache) pay for the entry they add; replays are hits.
	cache, err := idemcache.New(idemcache.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer cache.Close()
	done := instantStore{record: idempotency.Record{Fingerprint: idempotency.FingerprintVersion + ":" + fp, State: idempotency.StateCompleted, Payload: payload, ExpiresIn: time.Hour}}
	for _, bc := range []struct {
		name     string
		store    idempotency.Store
		obs      *idempotency.Observer
		cache    idempotency.Cache
		distinct bool // a new key each time
	}{
		{"new", instantStore{claimed: true}, nil, nil, false},
		{"replay", done, nil, nil, false},
		{"new-observed", instantStore{claimed: true}, noop, nil, false},
		{"replay-observed", done, noop, nil, false},
		{"new-keys", instantStore{claimed: true}, nil, nil, true},
		{"new-keys-cached", instantStore{claimed: true}, nil, cache, true},
		{"replay-cached", done, nil, cache, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := idempotency.New[benchRequest, benchResponse](bc.store, idempotency.Config{Namespace: "bench", Observer: bc.obs, Cache: bc.cache})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				key := "key-1"
				if bc.distinct { // never seen before, in any run
					key = "key-" + strconv.FormatInt(overheadKeys.Add(1), 10)
				}
				if _, err := m.Do(ctx, key, benchReq, benchCharge); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// overheadKeys numbers BenchmarkDoOverhead's distinct keys.
var overheadKeys atomic.Int64

// instantStore answers every claim the same way without storing anything.
type instantStore struct {
	claimed bool
	record  idempotency.Record
}

func (s instantStore) Claim(context.Context, idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	return idempotency.ClaimResult{Claimed: s.claimed, Record: s.record}, nil
}

func (instantStore) Renew(context.Context, idempotency.Lock, time.Duration, time.Duration) error {
	return nil
}

func (instantStore) Complete(context.Context, idempotency.Lock, idempotency.State, []byte, time.Duration) error {
	return nil
}

func (instantStore) Release(context.Context, idempotency.Lock) error { return nil }

func (instantStore) DeleteExpired(context.Context, int) (int64, error) { return 0, nil }

// runOps runs op b.N times on par goroutines and reports allocations.
func runOps(b *testing.B, par int, op func(context.Context) error) {
	b.ReportAllocs()
	ctx := context.Background()
	if par == 1 {
		for b.Loop() {
			if err := op(ctx); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	// RunParallel starts GOMAXPROCS×p goroutines: round up to par.
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((par + procs - 1) / procs)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
