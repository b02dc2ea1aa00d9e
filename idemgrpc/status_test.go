package idemgrpc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
	"github.com/idemkit/idempotency/idemgrpc"
	"github.com/idemkit/idempotency/idemgrpc/internal/testpb"
)

// TestReplay: a new key runs the handler, its retry is replayed with the
// replayed header, and the request's map field does not upset the
// fingerprint.
func TestReplay(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		svc := &payments{}
		c := serve(t, s, idemgrpc.Config{Methods: []string{chargeMethod}}, svc)

		wantRun(t, call(ctx, c, "k1", charge("acct", 100)), 1)
		for range 3 {
			a := call(ctx, c, "k1", charge("acct", 100))
			wantReplay(t, a, 1)
			if a.resp.GetId() != "pay_acct_1" || a.resp.GetAmount() != 100 {
				t.Fatalf("replayed %v", a.resp)
			}
		}
		wantRun(t, call(ctx, c, "k2", charge("acct", 100)), 2)
		if n := svc.runs.Load(); n != 2 {
			t.Fatalf("handler ran %d times, want 2", n)
		}
		if in, ok := s.(idempotency.Inspector); ok {
			info, err := in.Inspect(ctx, idemgrpc.DefaultNamespace, idemgrpc.StoredKey("", "k1"))
			if err != nil || info.State != idempotency.StateCompleted {
				t.Fatalf("Inspect(StoredKey) = %+v, %v; want a completed record", info, err)
			}
		}
	})
}

// TestRefusals covers the interceptor's own answers: a missing key, invalid
// keys, and a key reused with another request or method.
func TestRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		svc := &payments{}
		c := serve(t, s, idemgrpc.Config{Methods: []string{chargeMethod, lookupMethod}}, svc)

		wantRefusal(t, call(ctx, c, "", charge("acct", 1)), codes.InvalidArgument, idemgrpc.ReasonKeyMissing)
		long := strings.Repeat("k", idemgrpc.MaxKeyLen+1)
		wantRefusal(t, call(ctx, c, long, charge("acct", 1)), codes.InvalidArgument, idemgrpc.ReasonKeyInvalid)
		twice := call(ctx, c, "", charge("acct", 1), idemgrpc.DefaultMetadataKey, "a", idemgrpc.DefaultMetadataKey, "b")
		wantRefusal(t, twice, codes.InvalidArgument, idemgrpc.ReasonKeyInvalid)
		if n := svc.runs.Load(); n != 0 {
			t.Fatalf("handler ran %d times for refused calls", n)
		}

		// The longest key is fine.
		wantRun(t, call(ctx, c, long[1:], charge("acct", 1)), 1)

		wantRun(t, call(ctx, c, "k", charge("acct", 1)), 2)
		st := wantRefusal(t, call(ctx, c, "k", charge("acct", 2)), codes.FailedPrecondition, idemgrpc.ReasonRequestMismatch)
		if !strings.Contains(st.Message(), "different request") {
			t.Fatalf("mismatch message %q", st.Message())
		}
		// The same key and message on another covered method.
		var hdr metadata.MD
		_, err := c.Lookup(metadata.AppendToOutgoingContext(ctx, idemgrpc.DefaultMetadataKey, "k"), charge("acct", 1), grpc.Header(&hdr))
		wantRefusal(t, answer{st: status.Convert(err), header: hdr}, codes.FailedPrecondition, idemgrpc.ReasonRequestMismatch)
		wantReplay(t, call(ctx, c, "k", charge("acct", 1)), 2)
		if n := svc.runs.Load(); n != 2 {
			t.Fatalf("handler ran %d times, want 2", n)
		}
	})
}

// TestFinalStatusReplayed: a handler's error with a final code is recorded
// with its message and details and replayed identically.
func TestFinalStatusReplayed(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		svc := &payments{charge: func(_ context.Context, _ *testpb.ChargeRequest, run int64) (*testpb.Payment, error) {
			st, err := status.New(codes.InvalidArgument, "amount must be positive").WithDetails(&errdetails.BadRequest{
				FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "amount", Description: "must be positive"}},
			})
			if err != nil {
				return nil, err
			}
			return nil, st.Err()
		}}
		// Through the store, and through a cache: the replay from memory
		// must be the same status.
		var hits atomic.Int64
		cache, err := idemcache.New(idemcache.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cache.Close)
		c := serve(t, s, idemgrpc.Config{Methods: []string{chargeMethod}}, svc)
		cached := serve(t, s, idemgrpc.Config{Methods: []string{chargeMethod}, Namespace: "cached", Cache: cache,
			Observer: &idempotency.Observer{CallEnd: func(_ context.Context, _ idempotency.CallInfo, e idempotency.CallEnd) {
				if e.Cached {
					hits.Add(1)
				}
			}}}, svc)
		for _, c := range []testpb.PaymentsClient{c, cached} {
			testFinalStatusReplayed(t, ctx, c)
		}
		if n := svc.runs.Load(); n != 2 {
			t.Fatalf("handler ran %d times, want once per namespace", n)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("%d replays came from the cache; want the second of the cached namespace's (the first reads the store)", n)
		}
	})
}

// testFinalStatusReplayed checks that the handler's final status is
// replayed with its details.
func testFinalStatusReplayed(t *testing.T, ctx context.Context, c testpb.PaymentsClient) {
	t.Helper()
	first := call(ctx, c, "k", charge("acct", -5))
	if first.st.Code() != codes.InvalidArgument || first.replayed() {
		t.Fatalf("first = %v (replayed %v)", first.st, first.replayed())
	}
	for range 2 {
		again := call(ctx, c, "k", charge("acct", -5))
		if !again.replayed() {
			t.Fatal("replayed status without the replayed header")
		}
		if !proto.Equal(again.st.Proto(), first.st.Proto()) {
			t.Fatalf("replayed status %v, want %v", again.st.Proto(), first.st.Proto())
		}
		var br *errdetails.BadRequest
		for _, d := range again.st.Details() {
			if b, ok := d.(*errdetails.BadRequest); ok {
				br = b
			}
		}
		if br.GetFieldViolations()[0].GetField() != "amount" {
			t.Fatalf("replayed details %v", again.st.Details())
		}
	}
}

// TestErrorsNotRecorded: an error whose code is not final releases the key,
// so the retry runs the handler; FinalCodes and Permanent change that.
func TestErrorsNotRecorded(t *testing.T) {
	ctx := context.Background()
	fail := func(errs ...error) func(context.Context, *testpb.ChargeRequest, int64) (*testpb.Payment, error) {
		return func(_ context.Context, req *testpb.ChargeRequest, run int64) (*testpb.Payment, error) {
			if int(run) <= len(errs) {
				return nil, errs[run-1]
			}
			return payment(req, run), nil
		}
	}
	t.Run("transient", func(t *testing.T) {
		var logs logBuffer
		svc := &payments{charge: fail(status.Error(codes.Unavailable, "down"), errors.New("plain"), context.DeadlineExceeded, uncomparableError{"x"})}
		c := serve(t, sqliteStore(t), idemgrpc.Config{Methods: []string{chargeMethod}, Logger: logs.Logger()}, svc)
		for i, want := range []codes.Code{codes.Unavailable, codes.Unknown, codes.DeadlineExceeded, codes.Unknown} {
			a := call(ctx, c, "k", charge("acct", 1))
			if a.st.Code() != want || a.replayed() {
				t.Fatalf("call %d: %v (replayed %v), want %v", i, a.st, a.replayed(), want)
			}
		}
		wantRun(t, call(ctx, c, "k", charge("acct", 1)), 5)
		wantReplay(t, call(ctx, c, "k", charge("acct", 1)), 5)
		if strings.Contains(logs.String(), "not recorded") {
			t.Fatalf("a released handler error was logged as not recorded:\n%s", logs.String())
		}
	})
	t.Run("no final codes", func(t *testing.T) {
		svc := &payments{charge: fail(status.Error(codes.InvalidArgument, "bad"))}
		c := serve(t, sqliteStore(t), idemgrpc.Config{Methods: []string{chargeMethod}, FinalCodes: []codes.Code{}}, svc)
		if a := call(ctx, c, "k", charge("acct", 1)); a.st.Code() != codes.InvalidArgument {
			t.Fatalf("first: %v", a.st)
		}
		wantRun(t, call(ctx, c, "k", charge("acct", 1)), 2)
	})
	t.Run("permanent", func(t *testing.T) {
		svc := &payments{charge: fail(idempotency.Permanent(status.Error(codes.Internal, "card declined")))}
		c := serve(t, sqliteStore(t), idemgrpc.Config{Methods: []string{chargeMethod}}, svc)
		first := call(ctx, c, "k", charge("acct", 1))
		again := call(ctx, c, "k", charge("acct", 1))
		if first.st.Code() != codes.Internal || again.st.Code() != codes.Internal || again.st.Message() != first.st.Message() || !again.replayed() {
			t.Fatalf("first %v, again %v (replayed %v)", first.st, again.st, again.replayed())
		}
		if n := svc.runs.Load(); n != 1 {
			t.Fatalf("handler ran %d times, want 1", n)
		}
	})
	t.Run("response too large", func(t *testing.T) {
		var logs logBuffer
		svc := &payments{}
		c := serve(t, sqliteStore(t), idemgrpc.Config{Methods: []string{chargeMethod}, MaxResponseBytes: 4, Logger: logs.Logger()}, svc)
		wantRun(t, call(ctx, c, "k", charge("acct", 1)), 1)
		wantRun(t, call(ctx, c, "k", charge("acct", 1)), 2)
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "MaxResponseBytes") {
			t.Fatalf("log:\n%s", logs.String())
		}
	})
}

// TestInProgress: a duplicate of a call in flight gets Aborted at once
// without Wait, and the outcome with Wait (here from another process: a
// second interceptor on the same store).
func TestInProgress(t *testing.T) {
	forEachShared(t, func(t *testing.T, open func(*testing.T) idempotency.Store) {
		ctx := context.Background()
		started, release := make(chan struct{}), make(chan struct{})
		svc := &payments{charge: func(_ context.Context, req *testpb.ChargeRequest, run int64) (*testpb.Payment, error) {
			if run == 1 {
				close(started)
				<-release
			}
			return payment(req, run), nil
		}}
		cfg := idemgrpc.Config{Methods: []string{chargeMethod}}
		c := serve(t, open(t), cfg, svc)

		// The other process polls the store with Wait; its observer says
		// when it has found the key taken.
		polled := make(chan struct{})
		var once sync.Once
		waitCfg := cfg
		waitCfg.Wait = idempotency.DefaultTTL
		waitCfg.Observer = &idempotency.Observer{StoreOp: func(context.Context, idempotency.StoreOp) { once.Do(func() { close(polled) }) }}
		other := serve(t, open(t), waitCfg, svc)

		firstDone := make(chan answer)
		go func() { firstDone <- call(ctx, c, "k", charge("acct", 1)) }()
		<-started

		wantRefusal(t, call(ctx, c, "k", charge("acct", 1)), codes.Aborted, idemgrpc.ReasonRequestInProgress)
		// Another request under the key is refused even in flight.
		wantRefusal(t, call(ctx, c, "k", charge("acct", 2)), codes.FailedPrecondition, idemgrpc.ReasonRequestMismatch)

		waited := make(chan answer)
		go func() { waited <- call(ctx, other, "k", charge("acct", 1)) }()
		<-polled
		close(release)
		wantRun(t, <-firstDone, 1)
		wantReplay(t, <-waited, 1)
		if n := svc.runs.Load(); n != 1 {
			t.Fatalf("handler ran %d times, want 1", n)
		}
	})
}

// uncomparableError is an error type that == cannot compare: the
// interceptor must not.
type uncomparableError []string

func (e uncomparableError) Error() string { return strings.Join(e, ",") }
