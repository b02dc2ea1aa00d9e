package idempotency_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/teststores"
)

// charge is the request type the tests use.
type charge struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// receipt is the response type the tests use.
type receipt struct {
	ID     string            `json:"id"`
	Amount int64             `json:"amount"`
	Tags   map[string]string `json:"tags,omitempty"`
}

func newManager[Req, Resp any](t testing.TB, s idempotency.Store, cfg idempotency.Config) *idempotency.Manager[Req, Resp] {
	t.Helper()
	m, err := idempotency.New[Req, Resp](s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// forEachStore runs fn on a fresh store of every backend: the SQL
// databases and the Redis deployments.
func forEachStore(t *testing.T, fn func(t *testing.T, s idempotency.Store)) {
	t.Helper()
	teststores.ForEach(t, fn)
}

// forEachShared runs fn on every backend with stores that share one table
// or key prefix: see teststores.ForEachShared.
func forEachShared(t *testing.T, fn func(t *testing.T, open func(t *testing.T) idempotency.Store)) {
	t.Helper()
	teststores.ForEachShared(t, fn)
}

// hookStore wraps a real store and lets a test intercept its methods. Nil
// hooks pass through.
type hookStore struct {
	idempotency.Store
	mu       sync.Mutex
	claims   int
	claim    func(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error)
	renew    func(ctx context.Context, l idempotency.Lock, lease, ttl time.Duration) error
	complete func(ctx context.Context, l idempotency.Lock, st idempotency.State, p []byte, ttl time.Duration) error
	release  func(ctx context.Context, l idempotency.Lock) error
}

func (h *hookStore) Claims() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.claims
}

func (h *hookStore) Claim(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	h.mu.Lock()
	h.claims++
	f := h.claim
	h.mu.Unlock()
	if f != nil {
		return f(ctx, r)
	}
	return h.Store.Claim(ctx, r)
}

func (h *hookStore) Renew(ctx context.Context, l idempotency.Lock, lease, ttl time.Duration) error {
	h.mu.Lock()
	f := h.renew
	h.mu.Unlock()
	if f != nil {
		return f(ctx, l, lease, ttl)
	}
	return h.Store.Renew(ctx, l, lease, ttl)
}

func (h *hookStore) Complete(ctx context.Context, l idempotency.Lock, st idempotency.State, p []byte, ttl time.Duration) error {
	h.mu.Lock()
	f := h.complete
	h.mu.Unlock()
	if f != nil {
		return f(ctx, l, st, p, ttl)
	}
	return h.Store.Complete(ctx, l, st, p, ttl)
}

func (h *hookStore) Release(ctx context.Context, l idempotency.Lock) error {
	h.mu.Lock()
	f := h.release
	h.mu.Unlock()
	if f != nil {
		return f(ctx, l)
	}
	return h.Store.Release(ctx, l)
}

// counter counts fn executions.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
	return c.n[key]
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// eventually polls cond; only for waiting on the store's clock.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// storedFingerprint is the fingerprint a Manager stores for req.
func storedFingerprint(t *testing.T, req any) string {
	t.Helper()
	fp, err := idempotency.Fingerprint(req)
	if err != nil {
		t.Fatal(err)
	}
	return idempotency.FingerprintVersion + ":" + fp
}
