package idemgrpc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemgrpc"
	"github.com/idemkit/idempotency/idemgrpc/internal/testpb"
)

// TestScopeIsolation: the same key from two scopes runs the handler once per
// scope, and each scope is replayed its own outcome.
func TestScopeIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		svc := &payments{}
		c := serve(t, s, idemgrpc.Config{Methods: []string{chargeMethod}, Scope: scopeFromMetadata}, svc)

		req := charge("shared", 10)
		wantRun(t, call(ctx, c, "k", req, "x-account", "alice"), 1)
		wantRun(t, call(ctx, c, "k", req, "x-account", "bob"), 2)
		wantReplay(t, call(ctx, c, "k", req, "x-account", "alice"), 1)
		wantReplay(t, call(ctx, c, "k", req, "x-account", "bob"), 2)
		// Bob's other request under the same key is his own mismatch, not
		// Alice's business.
		wantRefusal(t, call(ctx, c, "k", charge("shared", 11), "x-account", "bob"), codes.FailedPrecondition, idemgrpc.ReasonRequestMismatch)
		wantRun(t, call(ctx, c, "k", charge("shared", 11), "x-account", "carol"), 3)
		if in, ok := s.(idempotency.Inspector); ok {
			for _, scope := range []string{"alice", "bob", "carol"} {
				if _, err := in.Inspect(ctx, idemgrpc.DefaultNamespace, idemgrpc.StoredKey(scope, "k")); err != nil {
					t.Fatalf("Inspect(StoredKey(%q)): %v", scope, err)
				}
			}
		}
	})
}

// TestConcurrentDuplicates: 50 identical calls at once run the handler
// once; without Wait the others are replayed or told it is in progress, with
// Wait every one gets the outcome.
func TestConcurrentDuplicates(t *testing.T) {
	for _, wait := range []time.Duration{0, time.Minute} {
		name := "no wait"
		if wait > 0 {
			name = "wait"
		}
		t.Run(name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, s idempotency.Store) {
				ctx := context.Background()
				const n = 50
				// The handler returns only once the other calls have
				// overlapped it: without Wait, once all n-1 were refused as
				// in progress; with Wait, once all n reached the
				// interceptor (the others then wait for its outcome).
				var arrived, refused atomic.Int64
				overlapped := make(chan struct{})
				svc := &payments{charge: func(_ context.Context, req *testpb.ChargeRequest, run int64) (*testpb.Payment, error) {
					<-overlapped
					return payment(req, run), nil
				}}
				obs := &idempotency.Observer{CallEnd: func(_ context.Context, _ idempotency.CallInfo, e idempotency.CallEnd) {
					if e.Outcome == idempotency.OutcomeInProgress && refused.Add(1) == n-1 && wait == 0 {
						close(overlapped)
					}
				}}
				idem := mustInterceptor(t, s, idemgrpc.Config{Methods: []string{chargeMethod}, Wait: wait, Observer: obs})
				c := serveWith(t, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
					if arrived.Add(1) == n && wait > 0 {
						close(overlapped)
					}
					return idem(ctx, req, info, h)
				}, svc)
				answers := make([]answer, n)
				var start, wg sync.WaitGroup
				start.Add(1)
				for i := range answers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						start.Wait()
						answers[i] = call(ctx, c, "same", charge("acct", 7))
					}()
				}
				start.Done()
				wg.Wait()
				if runs := svc.runs.Load(); runs != 1 {
					t.Fatalf("handler ran %d times, want 1", runs)
				}
				fresh := 0
				for _, a := range answers {
					switch {
					case a.st.Code() == codes.OK && a.resp.GetRun() == 1:
						if !a.replayed() {
							fresh++
						}
					case wait == 0 && a.st.Code() == codes.Aborted && reasonOf(a.st) == idemgrpc.ReasonRequestInProgress:
					default:
						t.Fatalf("answer %v, %v", a.resp, a.st)
					}
				}
				if fresh != 1 {
					t.Fatalf("%d answers were not marked replayed, want 1", fresh)
				}
				if r := replays(answers); (wait == 0 && r != 0) || (wait > 0 && r != n-1) {
					t.Fatalf("%d answers were replays; want %d", r, map[bool]int{true: 0, false: n - 1}[wait == 0])
				}
			})
		})
	}
}

// TestPassThrough: methods not covered and streaming calls reach the handler
// untouched, key or no key; Optional lets a covered call without a key
// through.
func TestPassThrough(t *testing.T) {
	ctx := context.Background()
	s := sqliteStore(t)
	svc := &payments{}
	c := serve(t, s, idemgrpc.Config{Methods: []string{chargeMethod}}, svc)

	for i := range 2 {
		p, err := c.Lookup(ctx, charge("acct", 1))
		if err != nil || p.GetRun() != int64(i+1) {
			t.Fatalf("Lookup without a key: %v, %v", p, err)
		}
	}
	for i := range 2 {
		stream, err := c.Watch(withKey(ctx, "k"), charge("acct", 1))
		if err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			p, err := stream.Recv()
			if err != nil || p.GetRun() != int64(3+2*i+j) {
				t.Fatalf("Watch call %d message %d: %v, %v", i, j, p, err)
			}
		}
		if hdr, _ := stream.Header(); len(hdr.Get(idemgrpc.ReplayedMetadataKey)) != 0 {
			t.Fatal("a stream is marked replayed")
		}
	}

	opt := serve(t, s, idemgrpc.Config{Namespace: "optional", Match: func(m string) bool { return m == chargeMethod }, Optional: true}, svc)
	before := svc.runs.Load()
	wantRun(t, call(ctx, opt, "", charge("acct", 1)), before+1)
	wantRun(t, call(ctx, opt, "", charge("acct", 1)), before+2)
	wantRun(t, call(ctx, opt, "k", charge("acct", 1)), before+3)
	wantReplay(t, call(ctx, opt, "k", charge("acct", 1)), before+3)
}

// failingStore is a store whose claims fail, as a database that is down.
type failingStore struct{ idempotency.Store }

func (failingStore) Claim(context.Context, idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	return idempotency.ClaimResult{}, errors.New("connection refused")
}

// TestStoreUnavailable: a store that fails gets Unavailable, the handler
// does not run, and the failure is logged, with the key hashed when asked.
func TestStoreUnavailable(t *testing.T) {
	ctx := context.Background()
	for _, hash := range []bool{false, true} {
		var logs logBuffer
		svc := &payments{}
		c := serve(t, failingStore{sqliteStore(t)}, idemgrpc.Config{Methods: []string{chargeMethod}, Logger: logs.Logger(), HashKeysInLogs: hash}, svc)
		wantRefusal(t, call(ctx, c, "secret-key", charge("acct", 1)), codes.Unavailable, idemgrpc.ReasonStoreUnavailable)
		if n := svc.runs.Load(); n != 0 {
			t.Fatalf("handler ran %d times on a failing store", n)
		}
		out := logs.String()
		if !strings.Contains(out, "connection refused") || strings.Contains(out, "secret-key") != !hash {
			t.Fatalf("HashKeysInLogs %v, log:\n%s", hash, out)
		}
	}
}

// TestUnreadableRecord: a record the interceptor cannot replay (corrupt, or
// of a message type the server does not know) gets Internal, and the
// handler does not run.
func TestUnreadableRecord(t *testing.T) {
	ctx := context.Background()
	req := charge("acct", 1)
	fp, err := idemgrpc.StoredFingerprint(chargeMethod, req)
	if err != nil {
		t.Fatal(err)
	}
	for name, payload := range map[string][]byte{
		"corrupt":      {9, 9, 9},
		"unknown type": append([]byte{1, 1, 11}, "x.Unknown00"...),
		"bad message":  append(append([]byte{1, 1, byte(len("idemkit.idemgrpc.testpb.Payment"))}, "idemkit.idemgrpc.testpb.Payment"...), 0xff),
		"bad status":   {1, 2, 0, 0xff},
	} {
		t.Run(name, func(t *testing.T) {
			s := sqliteStore(t)
			key := idemgrpc.StoredKey("", "k")
			lock := idempotency.Lock{Namespace: idemgrpc.DefaultNamespace, Key: key, Token: "tok"}
			cr, err := s.Claim(ctx, idempotency.ClaimRequest{Namespace: lock.Namespace, Key: key, Fingerprint: fp, Token: lock.Token, Lease: time.Minute, TTL: time.Hour})
			if err != nil || !cr.Claimed {
				t.Fatalf("claim: %+v, %v", cr, err)
			}
			if err := s.Complete(ctx, lock, idempotency.StateCompleted, payload, time.Hour); err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			svc := &payments{}
			c := serve(t, s, idemgrpc.Config{Methods: []string{chargeMethod}, Logger: logs.Logger()}, svc)
			wantRefusal(t, call(ctx, c, "k", req), codes.Internal, idemgrpc.ReasonRecordUnreadable)
			if svc.runs.Load() != 0 || !strings.Contains(logs.String(), "cannot be replayed") {
				t.Fatalf("runs %d, log:\n%s", svc.runs.Load(), logs.String())
			}
		})
	}
}

// TestObserver: the Observer sees covered calls through the Manager.
func TestObserver(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var outcomes []idempotency.Outcome
	obs := &idempotency.Observer{CallEnd: func(_ context.Context, call idempotency.CallInfo, end idempotency.CallEnd) {
		mu.Lock()
		defer mu.Unlock()
		if call.Namespace == "obs" {
			outcomes = append(outcomes, end.Outcome)
		}
	}}
	c := serve(t, sqliteStore(t), idemgrpc.Config{Namespace: "obs", Methods: []string{chargeMethod}, Observer: obs}, &payments{})
	call(ctx, c, "k", charge("acct", 1))
	call(ctx, c, "k", charge("acct", 1))
	call(ctx, c, "k", charge("acct", 2))
	mu.Lock()
	defer mu.Unlock()
	want := []idempotency.Outcome{idempotency.OutcomeExecuted, idempotency.OutcomeReplayed, idempotency.OutcomeMismatch}
	if len(outcomes) != len(want) {
		t.Fatalf("outcomes %v, want %v", outcomes, want)
	}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", outcomes, want)
		}
	}
}

var _ testpb.PaymentsServer = (*payments)(nil)

// TestPanicReleasesKey: a handler that panics records nothing; behind a
// recovery interceptor the client gets Internal and its retry runs the
// handler again.
func TestPanicReleasesKey(t *testing.T) {
	ctx := context.Background()
	svc := &payments{charge: func(_ context.Context, req *testpb.ChargeRequest, run int64) (*testpb.Payment, error) {
		if run == 1 {
			panic("boom")
		}
		return payment(req, run), nil
	}}
	recovery := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = status.Errorf(codes.Internal, "panic: %v", r)
			}
		}()
		return handler(ctx, req)
	}
	idem := mustInterceptor(t, sqliteStore(t), idemgrpc.Config{Methods: []string{chargeMethod}})
	c := serveWith(t, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return recovery(ctx, req, info, func(ctx context.Context, req any) (any, error) { return idem(ctx, req, info, handler) })
	}, svc)
	if a := call(ctx, c, "k", charge("acct", 1)); a.st.Code() != codes.Internal {
		t.Fatalf("panicking call: %v", a.st)
	}
	wantRun(t, call(ctx, c, "k", charge("acct", 1)), 2)
	wantReplay(t, call(ctx, c, "k", charge("acct", 1)), 2)
}

// replays counts the answers marked replayed.
func replays(answers []answer) int {
	n := 0
	for _, a := range answers {
		if a.replayed() {
			n++
		}
	}
	return n
}
