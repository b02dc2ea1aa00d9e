package idemgrpc_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemgrpc"
	"github.com/idemkit/idempotency/idemgrpc/internal/testpb"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/internal/testlog"
	"github.com/idemkit/idempotency/internal/teststores"
)

// TestMain fails the run if a test leaves a goroutine behind: a handler, a
// heartbeat, a server, a client connection or a pool.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Full method names of the test service.
const (
	chargeMethod = testpb.Payments_Charge_FullMethodName
	lookupMethod = testpb.Payments_Lookup_FullMethodName
)

// forEachStore runs fn in parallel on a fresh store of every backend: the
// SQL databases and the Redis deployments.
func forEachStore(t *testing.T, fn func(t *testing.T, s idempotency.Store)) {
	t.Helper()
	teststores.ForEach(t, fn)
}

// sqliteStore returns a fresh store on SQLite, for tests of what does not
// depend on the backend.
func sqliteStore(t *testing.T) idempotency.Store {
	t.Helper()
	return testdb.NewStore(t, testdb.Backends()[0])
}

// payments is the test service. Charge counts its runs and answers a
// Payment naming the run, so a replay is told from a new run; charge, when
// set, replaces its body. Watch streams two payments per call.
type payments struct {
	testpb.UnimplementedPaymentsServer
	runs   atomic.Int64
	charge func(ctx context.Context, req *testpb.ChargeRequest, run int64) (*testpb.Payment, error)

	mu   sync.Mutex
	keys []string // the key metadata of every Charge run, in order
}

func (p *payments) Charge(ctx context.Context, req *testpb.ChargeRequest) (*testpb.Payment, error) {
	n := p.runs.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	p.mu.Lock()
	p.keys = append(p.keys, md.Get(idemgrpc.DefaultMetadataKey)...)
	p.mu.Unlock()
	if p.charge != nil {
		return p.charge(ctx, req, n)
	}
	return payment(req, n), nil
}

func (p *payments) seenKeys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys...)
}

func payment(req *testpb.ChargeRequest, run int64) *testpb.Payment {
	return &testpb.Payment{Id: fmt.Sprintf("pay_%s_%d", req.GetAccount(), run), Amount: req.GetAmount(), Run: run}
}

func (p *payments) Lookup(ctx context.Context, req *testpb.ChargeRequest) (*testpb.Payment, error) {
	return payment(req, p.runs.Add(1)), nil
}

func (p *payments) Watch(req *testpb.ChargeRequest, stream grpc.ServerStreamingServer[testpb.Payment]) error {
	for range 2 {
		if err := stream.Send(payment(req, p.runs.Add(1))); err != nil {
			return err
		}
	}
	return nil
}

// scopeFromMetadata is the tests' stand-in for authentication: the scope is
// the x-account metadata entry.
func scopeFromMetadata(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-account"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// mustInterceptor returns the server interceptor or fails t.
func mustInterceptor(t testing.TB, s idempotency.Store, cfg idemgrpc.Config) grpc.UnaryServerInterceptor {
	t.Helper()
	i, err := idemgrpc.UnaryServerInterceptor(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// serve starts a gRPC server on an in-memory listener with svc behind the
// interceptor and returns a client of it; clientOpts are added to the
// client's options. Both are stopped when t ends.
func serve(t testing.TB, s idempotency.Store, cfg idemgrpc.Config, svc testpb.PaymentsServer, clientOpts ...grpc.DialOption) testpb.PaymentsClient {
	t.Helper()
	return serveWith(t, mustInterceptor(t, s, cfg), svc, clientOpts...)
}

func serveWith(t testing.TB, interceptor grpc.UnaryServerInterceptor, svc testpb.PaymentsServer, clientOpts ...grpc.DialOption) testpb.PaymentsClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.UnaryInterceptor(interceptor))
	testpb.RegisterPaymentsServer(srv, svc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	opts := append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, clientOpts...)
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-done
	})
	return testpb.NewPaymentsClient(conn)
}

// answer is what a unary call got: the response or the status, and the
// header metadata.
type answer struct {
	resp   *testpb.Payment
	st     *status.Status
	header metadata.MD
}

func (a answer) replayed() bool {
	v := a.header.Get(idemgrpc.ReplayedMetadataKey)
	return len(v) == 1 && v[0] == "true"
}

// call makes one Charge call with key (none when empty) and the other
// metadata pairs given.
func call(ctx context.Context, c testpb.PaymentsClient, key string, req *testpb.ChargeRequest, pairs ...string) answer {
	if key != "" {
		pairs = append(pairs, idemgrpc.DefaultMetadataKey, key)
	}
	if len(pairs) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, pairs...)
	}
	var a answer
	resp, err := c.Charge(ctx, req, grpc.Header(&a.header))
	a.resp = resp
	a.st = status.Convert(err)
	return a
}

func charge(account string, amount int64) *testpb.ChargeRequest {
	return &testpb.ChargeRequest{Account: account, Amount: amount, Labels: map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}}
}

// wantRun checks that a is a fresh (not replayed) response of run n.
func wantRun(t testing.TB, a answer, n int64) {
	t.Helper()
	if a.st.Code() != codes.OK {
		t.Fatalf("status = %v, want OK", a.st)
	}
	if a.resp.GetRun() != n || a.replayed() {
		t.Fatalf("got run %d (replayed %v), want a fresh run %d", a.resp.GetRun(), a.replayed(), n)
	}
}

// wantReplay checks that a is a replay of run n.
func wantReplay(t testing.TB, a answer, n int64) {
	t.Helper()
	if a.st.Code() != codes.OK {
		t.Fatalf("status = %v, want OK", a.st)
	}
	if a.resp.GetRun() != n || !a.replayed() {
		t.Fatalf("got run %d (replayed %v), want a replay of run %d", a.resp.GetRun(), a.replayed(), n)
	}
}

// wantRefusal checks that a is one of the interceptor's refusals, with code
// and reason, and returns its status.
func wantRefusal(t testing.TB, a answer, code codes.Code, reason string) *status.Status {
	t.Helper()
	if a.st.Code() != code {
		t.Fatalf("status = %v, want code %v", a.st, code)
	}
	if got := reasonOf(a.st); got != reason {
		t.Fatalf("ErrorInfo reason = %q, want %q (status %v)", got, reason, a.st)
	}
	if a.replayed() {
		t.Fatal("a refusal is marked replayed")
	}
	retry := retryInfoOf(a.st)
	if wantRetry := code == codes.Aborted || code == codes.Unavailable; (retry != nil) != wantRetry {
		t.Fatalf("RetryInfo = %v, want one: %v", retry, wantRetry)
	}
	return a.st
}

func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetDomain() == idemgrpc.ErrorDomain {
			return ei.GetReason()
		}
	}
	return ""
}

func retryInfoOf(st *status.Status) *errdetails.RetryInfo {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri
		}
	}
	return nil
}

// logBuffer collects what a slog.Logger writes, for tests to read.
type logBuffer = testlog.Buffer

// forEachShared runs fn in parallel on every backend with stores that share
// one table or key prefix: see teststores.ForEachShared.
func forEachShared(t *testing.T, fn func(t *testing.T, open func(*testing.T) idempotency.Store)) {
	t.Helper()
	teststores.ForEachShared(t, fn)
}

// withKey returns ctx with key in the outgoing key metadata.
func withKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, idemgrpc.DefaultMetadataKey, key)
}
