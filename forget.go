package idempotency

import (
	"context"
	"errors"
	"fmt"
)

// Forget deletes key's record from the store, whatever its state, and from
// Config.Cache, and reports whether the store had one: the next call with
// key runs fn, whatever its request. It is an operator's override (see
// [Inspector.Forget] for what forgetting a processing key means) and needs
// a store that implements [Inspector], as sqlstore's and redisstore's do.
//
// Other processes' caches may replay the forgotten outcome for up to their
// bound on an entry's age (idemcache.Config.MaxAge); cmd/idemctl's forget
// reaches no cache at all.
func (m *Manager[Req, Resp]) Forget(ctx context.Context, key string) (bool, error) {
	return m.core.forget(ctx, m.store, key)
}

// Forget is [Manager.Forget] for a TxManager's namespace and cache.
func (m *TxManager[Req, Resp, Tx]) Forget(ctx context.Context, key string) (bool, error) {
	return m.core.forget(ctx, m.store, key)
}

// forget deletes key's record from store and from Config.Cache.
func (c *core[Resp]) forget(ctx context.Context, store Store, key string) (bool, error) {
	in, ok := store.(Inspector)
	if !ok {
		return false, fmt.Errorf("idempotency: Forget: the store (%T) cannot forget a key: it does not implement idempotency.Inspector", store)
	}
	found, err := in.Forget(ctx, c.cfg.Namespace, key)
	if err == nil || !errors.Is(err, ErrInvalidKey) {
		// On a failure too: the delete may have happened with its answer
		// lost.
		c.uncache(key)
	}
	if err != nil {
		return false, fmt.Errorf("idempotency: forget key %q: %w", key, err)
	}
	return found, nil
}

// uncache removes key from Config.Cache after a delete in the store, and
// keeps calls that read the record before the delete from adding it later
// (see forgets).
func (c *core[Resp]) uncache(key string) {
	forgetting.Lock()
	defer forgetting.Unlock()
	forgetStripe(c.cfg.Namespace, key).Add(1)
	if c.cfg.Cache != nil {
		c.cfg.Cache.Remove(c.cfg.Namespace, key)
	}
}
