// Package testredis opens the Redis servers the tests run on: one node at
// IDEMPOTENCY_TEST_REDIS_ADDR and a Redis Cluster whose seed addresses are
// in IDEMPOTENCY_TEST_REDIS_CLUSTER (comma-separated; .ci/redis-cluster
// starts one). With IDEMPOTENCY_TEST_REQUIRE_DB=1 (CI sets it) a missing
// address or a server that does not answer fails the test instead of
// skipping it.
//
// Every store gets its own random key prefix, and its keys are deleted in
// t.Cleanup, so tests can run in parallel against one server.
package testredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency/internal/rediskeys"
	"github.com/idemkit/idempotency/redisstore"
)

// Environment variables read by this package.
const (
	EnvAddr    = "IDEMPOTENCY_TEST_REDIS_ADDR"
	EnvCluster = "IDEMPOTENCY_TEST_REDIS_CLUSTER"
	EnvRequire = "IDEMPOTENCY_TEST_REQUIRE_DB"
)

// Backend is one Redis deployment the tests run against.
type Backend struct {
	Name    string // subtest name: redis or redis-cluster
	Addrs   []string
	Cluster bool
}

// Backends lists the Redis deployments whose addresses are set.
func Backends() []Backend {
	var bs []Backend
	if a := os.Getenv(EnvAddr); a != "" {
		bs = append(bs, Backend{Name: "redis", Addrs: []string{a}})
	}
	if a := os.Getenv(EnvCluster); a != "" {
		bs = append(bs, Backend{Name: "redis-cluster", Addrs: strings.Split(a, ","), Cluster: true})
	}
	return bs
}

// RequireAll fails t when IDEMPOTENCY_TEST_REQUIRE_DB=1 and an address is
// missing; otherwise it logs which deployments are skipped.
func RequireAll(t testing.TB) {
	t.Helper()
	for _, env := range []string{EnvAddr, EnvCluster} {
		if os.Getenv(env) != "" {
			continue
		}
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set but %s=1: set it (.ci/redis-cluster starts a cluster)", env, EnvRequire)
		}
		t.Logf("%s not set: skipping that Redis deployment", env)
	}
}

// ForEach runs fn as a subtest for every Redis deployment.
func ForEach(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	RequireAll(t)
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// Options returns the client options for b.
func (b Backend) Options() *redis.UniversalOptions {
	o := &redis.UniversalOptions{Addrs: b.Addrs, PoolSize: 64}
	if b.Cluster {
		o.IsClusterMode = true
	}
	return o
}

// Client opens a new client on b, closed when t ends, and fails t when the
// server does not answer.
func (b Backend) Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	c := redis.NewUniversalClient(b.Options())
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s does not answer at %v: %v", b.Name, b.Addrs, err)
	}
	return c
}

// NewPrefix returns a fresh key prefix whose keys are deleted when t ends.
func (b Backend) NewPrefix(t testing.TB) string {
	t.Helper()
	var r [6]byte
	_, _ = rand.Read(r[:])
	prefix := "idemtest-" + hex.EncodeToString(r[:])
	t.Cleanup(func() {
		c := redis.NewUniversalClient(b.Options())
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rediskeys.DeletePrefix(ctx, c, prefix); err != nil {
			t.Errorf("delete test keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

// NewStore returns a store on a new client and a fresh prefix of b.
func NewStore(t testing.TB, b Backend) *redisstore.Store {
	t.Helper()
	return b.Store(t, b.Client(t), redisstore.Config{Prefix: b.NewPrefix(t)})
}

// Store returns a store on c with cfg, failing t on an error.
func (b Backend) Store(t testing.TB, c redis.UniversalClient, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
