package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/chaos"
	"github.com/idemkit/idempotency/internal/testredis"
	"github.com/idemkit/idempotency/redisstore"
)

// TestMain keeps go-redis's own log of failed dials, which TestRedisDown
// provokes, out of the test output.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func single(t *testing.T) testredis.Backend {
	t.Helper()
	testredis.RequireAll(t)
	for _, b := range testredis.Backends() {
		if !b.Cluster {
			return b
		}
	}
	t.Skip(testredis.EnvAddr + " not set")
	return testredis.Backend{}
}

func TestNewRejectsBadConfig(t *testing.T) {
	b := single(t)
	c := b.Client(t)
	if _, err := redisstore.New(nil, redisstore.Config{}); err == nil {
		t.Error("New(nil) = nil error")
	}
	bad := []redisstore.Config{
		{Prefix: "{pinned}"},
		{Prefix: "two words"},
		{WaitReplicas: -1},
		{WaitReplicas: 1, WaitTimeout: -time.Second},
	}
	for _, cfg := range bad {
		if _, err := redisstore.New(c, cfg); err == nil {
			t.Errorf("New(%+v) = nil error; want one", cfg)
		}
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": b.Addrs[0]}})
	defer ring.Close()
	if _, err := redisstore.New(ring, redisstore.Config{}); err == nil || !strings.Contains(err.Error(), "Ring") {
		t.Errorf("a Ring: %v; want an error that says why a Ring will not do", err)
	}
	if _, err := redisstore.New(c, redisstore.Config{WaitReplicas: 1, WaitTimeout: time.Microsecond}); err == nil {
		t.Error("WaitTimeout under a millisecond (WAIT 0 waits for ever): nil error")
	}
}

func TestLargeResponse(t *testing.T) {
	b := single(t)
	m, err := idempotency.New[string, []byte](testredis.NewStore(t, b), idempotency.Config{})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	key := strings.Repeat("😀", 63) + "abc" // 255 bytes of 4-byte UTF-8
	fn := func(context.Context, string) ([]byte, error) { return big, nil }
	ctx := context.Background()
	if _, err := m.Do(ctx, key, "r", fn); err != nil {
		t.Fatal(err)
	}
	r, err := m.DoResult(ctx, key, "r", fn)
	if err != nil || !r.Replayed || !bytes.Equal(r.Value, big) {
		t.Fatalf("replay of 1 MiB: replayed=%v, %d bytes, equal=%v, %v", r.Replayed, len(r.Value), bytes.Equal(r.Value, big), err)
	}
	if _, err := m.Do(ctx, "a\x00b", "r", fn); !errors.Is(err, idempotency.ErrInvalidKey) {
		t.Errorf("key with NUL: %v; want ErrInvalidKey", err)
	}
}

// TestRedisDown: with the server unreachable (connection refused) Do fails
// with an error that names the store, fn does not run, and nothing is
// recorded: once Redis answers again the key runs. New against it fails.
func TestRedisDown(t *testing.T) {
	b := single(t)
	proxy, err := chaos.Listen(b.Addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	prefix := b.NewPrefix(t)
	// Fewer retries than go-redis's default only make the test quicker.
	c := redis.NewClient(&redis.Options{Addr: proxy.Addr(), MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	s, err := redisstore.New(c, redisstore.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	m, err := idempotency.New[string, string](s, idempotency.Config{})
	if err != nil {
		t.Fatal(err)
	}
	proxy.Close() // the port refuses connections from now on
	ran := 0
	fn := func(context.Context, string) (string, error) { ran++; return "charged", nil }
	ctx := context.Background()
	_, err = m.Do(ctx, "k", "r", fn)
	var op *net.OpError
	if err == nil || !errors.As(err, &op) || !strings.Contains(err.Error(), "redisstore: claim") {
		t.Fatalf("Do with Redis down: %v; want the store's claim error wrapping the network error", err)
	}
	if ran != 0 {
		t.Fatalf("fn ran %d times without a claim", ran)
	}
	if _, err := redisstore.New(c, redisstore.Config{Prefix: prefix}); err == nil || !strings.Contains(err.Error(), "cannot check the Redis server") {
		t.Errorf("New with Redis down: %v; want 'cannot check the Redis server'", err)
	}

	up, err := idempotency.New[string, string](b.Store(t, b.Client(t), redisstore.Config{Prefix: prefix}), idempotency.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := up.DoResult(ctx, "k", "r", fn)
	if err != nil || r.Replayed || ran != 1 {
		t.Fatalf("once Redis answers: %+v, %v, fn ran %d; want a first run: nothing was recorded", r, err, ran)
	}
}

// TestServerChecks: New refuses a server that may evict records, and warns
// once (without failing) about one that refuses CONFIG, as managed services
// do.
func TestServerChecks(t *testing.T) {
	evicting := testredis.StartServer(t, "--maxmemory-policy", "allkeys-lru")
	c := redis.NewClient(&redis.Options{Addr: evicting})
	defer c.Close()
	if _, err := redisstore.New(c, redisstore.Config{}); err == nil || !strings.Contains(err.Error(), "noeviction") {
		t.Errorf("New on allkeys-lru: %v; want an error naming noeviction", err)
	}

	guarded := testredis.StartServer(t, "--requirepass", "secret")
	c3 := redis.NewClient(&redis.Options{Addr: guarded, Password: "wrong", MaxRetries: -1})
	defer c3.Close()
	if _, err := redisstore.New(c3, redisstore.Config{}); err == nil {
		t.Error("New with a wrong password: nil error; want the server's refusal, not a warning")
	}

	locked := testredis.StartServer(t, "--rename-command", "CONFIG", "")
	c2 := redis.NewClient(&redis.Options{Addr: locked})
	defer c2.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := redisstore.New(c2, redisstore.Config{Logger: log}); err != nil {
		t.Fatalf("New on a server without CONFIG: %v; want a warning only", err)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "noeviction") {
		t.Errorf("logged %d warnings; want 1:\n%s", n, logs.String())
	}
}

// TestWaitReplicas: with WaitReplicas a claim and a completion return once
// a replica has them; when too few replicas answer, Do fails with
// ErrNotReplicated and the claim is released, so a retry runs.
func TestWaitReplicas(t *testing.T) {
	primary := testredis.StartServer(t, "--repl-diskless-sync-delay", "0")
	testredis.StartServer(t, "--replicaof", strings.Replace(primary, ":", " ", 1))
	c := redis.NewClient(&redis.Options{Addr: primary})
	defer c.Close()
	ctx := context.Background()
	// The replica answers WAIT once its link to the primary is up.
	waitForReplica(t, c)
	// A primary that has not seen the scripts loads them within the
	// pipeline that waits.
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	s, err := redisstore.New(c, redisstore.Config{WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m, err := idempotency.New[string, string](s, idempotency.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	fn := func(context.Context, string) (string, error) { ran++; return "ok", nil }
	if _, err := m.Do(ctx, "k", "r", fn); err != nil {
		t.Fatalf("Do waiting for one replica: %v", err)
	}
	if r, err := m.DoResult(ctx, "k", "r", fn); err != nil || !r.Replayed {
		t.Fatalf("replay: %+v, %v", r, err)
	}

	two, err := redisstore.New(c, redisstore.Config{WaitReplicas: 2, WaitTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := idempotency.New[string, string](two, idempotency.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Do(ctx, "k2", "r", fn); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("Do waiting for two replicas of one: %v; want ErrNotReplicated", err)
	}
	// A replay writes nothing, so it waits for no replica.
	if r, err := m2.DoResult(ctx, "k", "r", fn); err != nil || !r.Replayed {
		t.Fatalf("replay with WaitReplicas that cannot be met: %+v, %v; want the replay", r, err)
	}
	if r, err := m.DoResult(ctx, "k2", "r", fn); err != nil || r.Replayed {
		t.Fatalf("after ErrNotReplicated: %+v, %v; want a first run (the claim was released)", r, err)
	}
	if ran != 2 {
		t.Errorf("fn ran %d times; want 2", ran)
	}
}

func waitForReplica(t *testing.T, c *redis.Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := c.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "state=online") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not come online: %v\n%s", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRetriedClaimRefreshesLease: a claim script run again with the same
// token (go-redis retries a command whose reply was lost) finds its own
// claim and starts its lease again from now, so that a rival of the same
// request cannot take the key over while its owner believes it just
// claimed it.
func TestRetriedClaimRefreshesLease(t *testing.T) {
	b := single(t)
	s := testredis.NewStore(t, b)
	ctx := context.Background()
	const fp = "v1:00"
	first := idempotency.ClaimRequest{Namespace: "ns", Key: "k", Fingerprint: fp, Token: "a", Lease: 30 * time.Millisecond, TTL: time.Hour}
	if res, err := s.Claim(ctx, first); err != nil || !res.Claimed {
		t.Fatalf("claim: %+v, %v", res, err)
	}
	// Wait on the server's clock until that lease has lapsed: a rival
	// with another token could take it over now.
	rival := idempotency.ClaimRequest{Namespace: "ns", Key: "control", Fingerprint: fp, Token: "c", Lease: 30 * time.Millisecond, TTL: time.Hour}
	if _, err := s.Claim(ctx, rival); err != nil {
		t.Fatal(err)
	}
	for {
		rival.Token += "x"
		res, err := s.Claim(ctx, rival)
		if err != nil {
			t.Fatal(err)
		}
		if res.Claimed {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	first.Lease = time.Hour
	if res, err := s.Claim(ctx, first); err != nil || !res.Claimed || res.TookOver {
		t.Fatalf("the owner's claim run again: %+v, %v; want claimed (its own)", res, err)
	}
	other := idempotency.ClaimRequest{Namespace: "ns", Key: "k", Fingerprint: fp, Token: "b", Lease: time.Hour, TTL: time.Hour}
	if res, err := s.Claim(ctx, other); err != nil || res.Claimed {
		t.Fatalf("a rival right after: %+v, %v; want the owner's live claim", res, err)
	}
}
