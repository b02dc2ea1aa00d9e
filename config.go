package idempotency

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
	"unicode/utf8"
)

// Default values of [Config] fields left zero.
const (
	DefaultTTL              = 24 * time.Hour
	DefaultLease            = 30 * time.Second
	DefaultMaxResponseBytes = 4 << 20

	// MinLease is the shortest Config.Lease. A lease is renewed every
	// Lease/3, and a renewal that takes longer than that gives the claim
	// up, so a lease must be long against a round trip to the store: the
	// default of 30s suits nearly everyone, and anything near MinLease
	// suits only tests on a local database.
	MinLease = 10 * time.Millisecond
)

// Config tunes a [Manager]. The zero value is usable: every field has a
// default. A Config is copied by [New]; changing it afterwards has no effect.
type Config struct {
	// Namespace names the operation, so one key can be used by several
	// operations without colliding: identity is (Namespace, key). It
	// follows the same rules as keys, except that it may be empty.
	// Defaults to "".
	Namespace string

	// TTL is how long a finished outcome (success or permanent failure) is
	// replayed. After it, the key is free again, for any request. It also
	// bounds how long an abandoned claim stays in the table after its lease
	// ran out. TTL+Lease must fit in a time.Duration (about 292 years).
	// Defaults to 24h.
	TTL time.Duration

	// Lease is how long a claim holds without renewal. While the function
	// runs, the lease is renewed about every Lease/3; if the process dies,
	// the key is free to be taken over one Lease after the last renewal.
	// Shorter leases recover faster from crashes and cost more renewals.
	// At least [MinLease]. Defaults to 30s.
	Lease time.Duration

	// Wait is how long a duplicate call waits for the in-flight call with
	// the same key to finish, then replays its outcome. Duplicates in the
	// same process share one execution without polling the store;
	// duplicates in other processes poll it with backoff. Zero makes a
	// duplicate fail at once with [ErrInProgress]. Defaults to 0.
	Wait time.Duration

	// Codec encodes responses for the store and decodes replays. Defaults
	// to [JSONCodec].
	Codec Codec

	// MaxResponseBytes caps an encoded response. A bigger one is not
	// recorded: the key is released and [ErrResponseTooLarge] returned.
	// Defaults to 4 MiB.
	MaxResponseBytes int

	// Logger receives what the caller cannot see in the returned error:
	// failed renewals, releases and retried completions. Every record
	// carries the namespace and the key. Defaults to nil, which logs
	// nothing.
	Logger *slog.Logger

	// HashKeysInLogs logs a key as the first 16 hex digits of its SHA-256
	// (attribute key_sha256) instead of the key itself (attribute key),
	// for keys that carry personal data. Defaults to false.
	HashKeysInLogs bool

	// Observer receives each call's outcome, its store operations and
	// lost leases, for metrics and traces (see package idemotel). Defaults
	// to nil: nothing is observed, at the cost of a nil check.
	Observer *Observer

	// Cache keeps finished outcomes in this process's memory, so that
	// replays of keys it has seen skip the store (package idemcache has
	// one). An entry never outlives its record, but a key forgotten by
	// another process may still be replayed here until the cache's bound
	// on an entry's age: see [Cache]. Defaults to nil: every call reads
	// the store.
	Cache Cache
}

// withDefaults validates cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if err := checkNamespace(cfg.Namespace); err != nil {
		return cfg, err
	}
	var errs []error
	if cfg.TTL < 0 {
		errs = append(errs, fmt.Errorf("negative TTL %v", cfg.TTL))
	}
	if cfg.Lease < 0 {
		errs = append(errs, fmt.Errorf("negative Lease %v", cfg.Lease))
	}
	if cfg.Wait < 0 {
		errs = append(errs, fmt.Errorf("negative Wait %v", cfg.Wait))
	}
	if cfg.MaxResponseBytes < 0 {
		errs = append(errs, fmt.Errorf("negative MaxResponseBytes %d", cfg.MaxResponseBytes))
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("idempotency: invalid Config: %w", errors.Join(errs...))
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Lease < MinLease {
		return cfg, fmt.Errorf("idempotency: invalid Config: Lease %v is below the minimum of %v (a missing unit?)", cfg.Lease, MinLease)
	}
	if cfg.TTL > math.MaxInt64-cfg.Lease {
		return cfg, fmt.Errorf("idempotency: invalid Config: TTL %v plus Lease %v overflows a time.Duration; keep TTL under about 292 years", cfg.TTL, cfg.Lease)
	}
	if cfg.Codec == nil {
		cfg.Codec = JSONCodec{}
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func checkNamespace(ns string) error {
	if ns == "" {
		return nil
	}
	if err := CheckKey(ns); err != nil {
		return fmt.Errorf("idempotency: invalid Config.Namespace %q: want at most %d bytes of UTF-8 without NUL", ns, MaxKeyLen)
	}
	return nil
}

// MaxKeyLen is the longest key, and the longest namespace, in bytes.
const MaxKeyLen = 255

// CheckKey reports whether key is a valid idempotency key: 1 to [MaxKeyLen]
// bytes of valid UTF-8 without NUL. The error wraps [ErrInvalidKey] and says
// which rule the key broke. Keys are compared as exact bytes: no case
// folding, no trimming, no Unicode normalisation.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: key is empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: key is %d bytes, over the limit of %d", ErrInvalidKey, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key is not valid UTF-8", ErrInvalidKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return fmt.Errorf("%w: key contains a NUL byte at offset %d", ErrInvalidKey, i)
		}
	}
	return nil
}
