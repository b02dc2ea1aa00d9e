package idemgrpc_test

import (
	"context"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemgrpc"
	"github.com/idemkit/idempotency/idemgrpc/internal/testpb"
)

// TestNilResponseRecorded: a handler (or an inner interceptor) that
// returns neither a response nor an error has answered OK with an empty
// message; its retry is replayed, not run again.
func TestNilResponseRecorded(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		var runs atomic.Int64
		nilAnswer := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			runs.Add(1)
			return nil, nil
		}
		idem := mustInterceptor(t, s, idemgrpc.Config{Methods: []string{chargeMethod}})
		c := serveWith(t, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return idem(ctx, req, info, func(ctx context.Context, req any) (any, error) { return nilAnswer(ctx, req, info, h) })
		}, &payments{})
		ctx := context.Background()
		first := call(ctx, c, "k", charge("acct", 1))
		again := call(ctx, c, "k", charge("acct", 1))
		if first.st.Code() != codes.OK || again.st.Code() != codes.OK || first.replayed() || !again.replayed() {
			t.Fatalf("first = %v (replayed %v), again = %v (replayed %v); want OK, then an OK replay", first.st, first.replayed(), again.st, again.replayed())
		}
		if n := runs.Load(); n != 1 {
			t.Errorf("the handler ran %d times; want 1", n)
		}
	})
}

// TestReplayedAfterHeaderSent: when an interceptor before this one has
// sent the header already, the replayed entry goes in the trailer.
func TestReplayedAfterHeaderSent(t *testing.T) {
	idem := mustInterceptor(t, sqliteStore(t), idemgrpc.Config{Methods: []string{chargeMethod}})
	c := serveWith(t, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := grpc.SendHeader(ctx, metadata.Pairs("x-request-id", "r1")); err != nil {
			return nil, err
		}
		return idem(ctx, req, info, h)
	}, &payments{})
	ctx := metadata.AppendToOutgoingContext(context.Background(), idemgrpc.DefaultMetadataKey, "k")
	for i, want := range []bool{false, true} {
		var header, trailer metadata.MD
		if _, err := c.Charge(ctx, charge("acct", 1), grpc.Header(&header), grpc.Trailer(&trailer)); err != nil {
			t.Fatal(err)
		}
		got := len(trailer.Get(idemgrpc.ReplayedMetadataKey)) == 1 && trailer.Get(idemgrpc.ReplayedMetadataKey)[0] == "true"
		if got != want {
			t.Errorf("call %d: replayed in the trailer = %v (header %v, trailer %v); want %v", i, got, header, trailer, want)
		}
	}
}

// TestPermanentStatusKeepsItsMessage: a status error wrapped with
// idempotency.Permanent reaches the client as that status, the first time
// and on replay.
func TestPermanentStatusKeepsItsMessage(t *testing.T) {
	svc := &payments{charge: func(context.Context, *testpb.ChargeRequest, int64) (*testpb.Payment, error) {
		return nil, idempotency.Permanent(status.Error(codes.Aborted, "declined"))
	}}
	c := serve(t, sqliteStore(t), idemgrpc.Config{Methods: []string{chargeMethod}}, svc)
	for i := range 2 {
		a := call(context.Background(), c, "k", charge("acct", 1))
		if a.st.Code() != codes.Aborted || a.st.Message() != "declined" || a.replayed() != (i == 1) {
			t.Errorf("call %d = %v (replayed %v); want Aborted \"declined\"", i, a.st, a.replayed())
		}
	}
	if n := svc.runs.Load(); n != 1 {
		t.Errorf("the handler ran %d times; want 1", n)
	}
}
