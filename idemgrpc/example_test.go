package idemgrpc_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/idemkit/idempotency/idemgrpc"
	"github.com/idemkit/idempotency/idemgrpc/internal/testpb"
	"github.com/idemkit/idempotency/sqlstore"
)

// accountKey is the context key under which authenticate stores the caller.
type accountKey struct{}

// authenticate stands for real authentication: it maps the authorization
// metadata to an account and puts it in the context, before the idempotency
// interceptor runs.
func authenticate(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	tokens := map[string]string{"token-alice": "acct_alice", "token-bob": "acct_bob"}
	if v := md.Get("authorization"); len(v) == 1 && tokens[v[0]] != "" {
		return handler(context.WithValue(ctx, accountKey{}, tokens[v[0]]), req)
	}
	return nil, status.Error(codes.Unauthenticated, "unknown caller")
}

// paymentsServer charges and counts its charges.
type paymentsServer struct {
	testpb.UnimplementedPaymentsServer
	charges atomic.Int64
}

func (s *paymentsServer) Charge(ctx context.Context, req *testpb.ChargeRequest) (*testpb.Payment, error) {
	n := s.charges.Add(1)
	return &testpb.Payment{Id: fmt.Sprintf("pay_%d", n), Amount: req.GetAmount()}, nil
}

// Example puts a payments service behind the interceptor, scoped by the
// authenticated account, on SQLite, and shows a first call, its retry
// (replayed), the same key reused for another request (FailedPrecondition)
// and the same key from another account (its own payment).
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "idemgrpc-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "idem.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(sqlx.NewDb(db, "sqlite"), sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	// The server: authentication first, then the idempotency interceptor.
	idem, err := idemgrpc.UnaryServerInterceptor(store, idemgrpc.Config{
		Methods: []string{testpb.Payments_Charge_FullMethodName},
		Scope:   func(ctx context.Context) string { account, _ := ctx.Value(accountKey{}).(string); return account },
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(authenticate, idem))
	testpb.RegisterPaymentsServer(srv, &paymentsServer{})
	lis := bufconn.Listen(1 << 20) // in memory; a real server listens on TCP
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	// The client sends the key in the idempotency-key metadata entry.
	conn, err := grpc.NewClient("passthrough:///payments",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := testpb.NewPaymentsClient(conn)

	charge := func(token, key string, amount int64) {
		ctx := metadata.AppendToOutgoingContext(ctx, "authorization", token, idemgrpc.DefaultMetadataKey, key)
		var header metadata.MD
		p, err := client.Charge(ctx, &testpb.ChargeRequest{Amount: amount}, grpc.Header(&header))
		if err != nil {
			fmt.Println(status.Code(err))
			return
		}
		fmt.Println(p.GetId(), p.GetAmount(), "replayed:", len(header.Get(idemgrpc.ReplayedMetadataKey)) > 0)
	}
	charge("token-alice", "8e03978e-40d5-43e8-bc93-6894a57f9324", 100) // runs
	charge("token-alice", "8e03978e-40d5-43e8-bc93-6894a57f9324", 100) // a retry: replayed
	charge("token-alice", "8e03978e-40d5-43e8-bc93-6894a57f9324", 200) // the key reused for another request
	charge("token-bob", "8e03978e-40d5-43e8-bc93-6894a57f9324", 100)   // Bob's key is his own
	// Output:
	// pay_1 100 replayed: false
	// pay_1 100 replayed: true
	// FailedPrecondition
	// pay_2 100 replayed: false
}
