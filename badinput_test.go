package idempotency_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/idemkit/idempotency"
)

func TestInvalidKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[charge, receipt](t, s, idempotency.Config{})
		for _, key := range []string{"", strings.Repeat("k", 256), "a\x00b", "bad\xffutf8", "\xc3"} {
			_, err := m.Do(context.Background(), key, charge{}, func(context.Context, charge) (receipt, error) {
				t.Errorf("fn ran for invalid key %q", key)
				return receipt{}, nil
			})
			if !errors.Is(err, idempotency.ErrInvalidKey) {
				t.Errorf("key %q: %v; want ErrInvalidKey", key, err)
			}
		}
		// The longest valid key, in 4-byte characters, works.
		key := strings.Repeat("😀", 63) + "abc"
		if _, err := m.Do(context.Background(), key, charge{}, okFn); err != nil {
			t.Errorf("255-byte key: %v", err)
		}
	})
}

func TestRequestsThatCannotBeFingerprinted(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[any, string](t, s, idempotency.Config{})
		bad := map[string]any{
			"func":        func() {},
			"channel":     make(chan int),
			"NaN":         math.NaN(),
			"+Inf":        math.Inf(1),
			"invalid UTF": "caf\xe9",
		}
		for name, req := range bad {
			_, err := m.Do(context.Background(), "k-"+name, req, func(context.Context, any) (string, error) {
				t.Errorf("%s: fn ran for a request that cannot be fingerprinted", name)
				return "", nil
			})
			if err == nil || !strings.Contains(err.Error(), "fingerprint") {
				t.Errorf("%s: err = %v; want an error about the fingerprint", name, err)
			}
		}
	})
}

func TestResponsesThatCannotBeEncoded(t *testing.T) {
	forEachStore(t, func(t *testing.T, s idempotency.Store) {
		m := newManager[string, any](t, s, idempotency.Config{})
		ctx := context.Background()
		for name, resp := range map[string]any{"func": func() {}, "NaN": math.NaN(), "channel": make(chan int)} {
			_, err := m.Do(ctx, "k-"+name, "req", func(context.Context, string) (any, error) { return resp, nil })
			if err == nil || !strings.Contains(err.Error(), "encode") {
				t.Errorf("%s: err = %v; want an error about encoding the response", name, err)
			}
			// Nothing was recorded: the key was released.
			r, err := m.DoResult(ctx, "k-"+name, "req", func(context.Context, string) (any, error) { return "ok", nil })
			if err != nil || r.Replayed {
				t.Errorf("%s: after the encoding error: %+v, %v; want fn to run again", name, r, err)
			}
		}
	})
}

func TestNilFn(t *testing.T) {
	m := newManager[string, string](t, &hookStore{}, idempotency.Config{})
	if _, err := m.Do(context.Background(), "k", "r", nil); err == nil {
		t.Error("nil fn: nil error")
	}
}
