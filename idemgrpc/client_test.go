package idemgrpc_test

import (
	"context"
	"regexp"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemgrpc"
	"github.com/idemkit/idempotency/idemgrpc/internal/testpb"
)

// retryPolicy is a service config that retries the test service's calls on
// Aborted (a duplicate in flight) and Unavailable, at once.
const retryPolicy = `{"methodConfig": [{
	"name": [{"service": "idemkit.idemgrpc.testpb.Payments"}],
	"retryPolicy": {
		"maxAttempts": 4,
		"initialBackoff": "0.001s",
		"maxBackoff": "0.001s",
		"backoffMultiplier": 1,
		"retryableStatusCodes": ["ABORTED", "UNAVAILABLE"]
	}
}]}`

func mustClientInterceptor(t testing.TB, cfg idemgrpc.ClientConfig) grpc.UnaryClientInterceptor {
	t.Helper()
	i, err := idemgrpc.UnaryClientInterceptor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestClientKeyAcrossRetries: the client interceptor gives a call one key,
// which gRPC's retry policy sends again with every attempt; the attempt
// after a failure that released the key runs the handler again under that
// key, and a new call gets a new key.
func TestClientKeyAcrossRetries(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		ctx := context.Background()
		svc := &payments{charge: func(_ context.Context, req *testpb.ChargeRequest, run int64) (*testpb.Payment, error) {
			if run < 3 {
				return nil, status.Error(codes.Unavailable, "try again")
			}
			return payment(req, run), nil
		}}
		c := serve(t, s, idemgrpc.Config{Methods: []string{chargeMethod}}, svc,
			grpc.WithUnaryInterceptor(mustClientInterceptor(t, idemgrpc.ClientConfig{})),
			grpc.WithDefaultServiceConfig(retryPolicy))

		p, err := c.Charge(ctx, charge("acct", 1))
		if err != nil || p.GetRun() != 3 {
			t.Fatalf("Charge = %v, %v; want run 3 after two retried attempts", p, err)
		}
		keys := svc.seenKeys()
		if len(keys) != 3 || keys[0] != keys[1] || keys[1] != keys[2] || !uuidV4.MatchString(keys[0]) {
			t.Fatalf("keys of the attempts: %q; want one UUID three times", keys)
		}
		// The same key replays; a new call has a new key and runs.
		var hdr metadata.MD
		p, err = c.Charge(idemgrpc.WithKey(ctx, keys[0]), charge("acct", 1), grpc.Header(&hdr))
		if err != nil || p.GetRun() != 3 || hdr.Get(idemgrpc.ReplayedMetadataKey)[0] != "true" {
			t.Fatalf("Charge WithKey = %v, %v, header %v; want the replay of run 3", p, err, hdr)
		}
		p, err = c.Charge(ctx, charge("acct", 1))
		if err != nil || p.GetRun() != 4 {
			t.Fatalf("new call = %v, %v; want run 4", p, err)
		}
		if keys := svc.seenKeys(); len(keys) != 4 || keys[3] == keys[0] {
			t.Fatalf("keys: %q; want a new key for the new call", keys)
		}
	})
}

// TestClientInterceptor: which calls get a key, and a key already in the
// outgoing metadata wins.
func TestClientInterceptor(t *testing.T) {
	ctx := context.Background()
	s := sqliteStore(t)
	svc := &payments{}
	// The server covers both methods; the client gives keys to Charge only.
	srvCfg := idemgrpc.Config{Methods: []string{chargeMethod, lookupMethod}}
	c := serve(t, s, srvCfg, svc, grpc.WithUnaryInterceptor(mustClientInterceptor(t, idemgrpc.ClientConfig{Methods: []string{chargeMethod}})))
	if _, err := c.Charge(ctx, charge("acct", 1)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Lookup(ctx, charge("acct", 1))
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || reasonOf(st) != idemgrpc.ReasonKeyMissing {
		t.Fatalf("Lookup without a key: %v", st)
	}
	if _, err := c.Charge(withKey(ctx, "mine"), charge("acct", 1)); err != nil {
		t.Fatal(err)
	}
	if keys := svc.seenKeys(); len(keys) != 2 || keys[1] != "mine" {
		t.Fatalf("keys %q", keys)
	}

	// Match, and a metadata key of one's own on both sides.
	srvCfg.MetadataKey, srvCfg.Namespace = "x-request-key", "custom"
	var seen []string
	svc2 := &payments{charge: func(ctx context.Context, req *testpb.ChargeRequest, run int64) (*testpb.Payment, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		seen = append(seen, md.Get("x-request-key")...)
		return payment(req, run), nil
	}}
	c2 := serve(t, s, srvCfg, svc2, grpc.WithUnaryInterceptor(mustClientInterceptor(t, idemgrpc.ClientConfig{
		MetadataKey: "x-request-key",
		Match:       func(m string) bool { return m == chargeMethod },
	})))
	if _, err := c2.Charge(idemgrpc.WithKey(ctx, "chosen"), charge("acct", 1)); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "chosen" {
		t.Fatalf("keys %q", seen)
	}
}

func TestNewKey(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		k := idemgrpc.NewKey()
		if !uuidV4.MatchString(k) || seen[k] {
			t.Fatalf("NewKey() = %q (seen before: %v)", k, seen[k])
		}
		seen[k] = true
	}
}

func TestConfigValidation(t *testing.T) {
	s := sqliteStore(t)
	for name, cfg := range map[string]idemgrpc.Config{
		"no method":          {},
		"bad method":         {Methods: []string{"Charge"}},
		"half method":        {Methods: []string{"/svc/"}},
		"upper metadata key": {Methods: []string{chargeMethod}, MetadataKey: "Idempotency-Key"},
		"binary key":         {Methods: []string{chargeMethod}, MetadataKey: "key-bin"},
		"grpc key":           {Methods: []string{chargeMethod}, MetadataKey: "grpc-key"},
		"replayed key":       {Methods: []string{chargeMethod}, MetadataKey: idemgrpc.ReplayedMetadataKey},
		"OK final":           {Methods: []string{chargeMethod}, FinalCodes: []codes.Code{codes.OK}},
		"negative max":       {Methods: []string{chargeMethod}, MaxResponseBytes: -1},
		"short lease":        {Methods: []string{chargeMethod}, Lease: 1},
	} {
		if _, err := idemgrpc.UnaryServerInterceptor(s, cfg); err == nil {
			t.Errorf("%s: UnaryServerInterceptor accepted %+v", name, cfg)
		}
	}
	if _, err := idemgrpc.UnaryServerInterceptor(nil, idemgrpc.Config{Methods: []string{chargeMethod}}); err == nil {
		t.Error("UnaryServerInterceptor accepted a nil store")
	}
	for name, cfg := range map[string]idemgrpc.ClientConfig{
		"bad method": {Methods: []string{"nope"}},
		"binary key": {MetadataKey: "k-bin"},
	} {
		if _, err := idemgrpc.UnaryClientInterceptor(cfg); err == nil {
			t.Errorf("%s: UnaryClientInterceptor accepted %+v", name, cfg)
		}
	}
}
