package idemgrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/idemkit/idempotency"
)

// Default values of [Config] and [ClientConfig] fields left zero.
const (
	DefaultNamespace        = "grpc"
	DefaultMetadataKey      = "idempotency-key"
	DefaultMaxResponseBytes = 4 << 20
)

// ReplayedMetadataKey is the header metadata entry set to "true" on every
// replayed outcome, a response or a recorded error status. A client reads
// it with the grpc.Header call option.
const ReplayedMetadataKey = "idempotency-replayed"

// MaxKeyLen is the longest key a client may send, in bytes. The stored key
// is a 32-hex-digit digest of the scope, a colon and the client's key, and
// must fit in [idempotency.MaxKeyLen] bytes: 255 - 33 = 222.
const MaxKeyLen = idempotency.MaxKeyLen - scopePrefixLen

// DefaultFinalCodes are the status codes of a handler's error that are
// recorded and replayed when Config.FinalCodes is nil: those that say the
// request itself is wrong or conflicts with the server's state, so a retry
// of the same request would get the same answer. [UnaryServerInterceptor]
// copies it; treat it as read-only.
var DefaultFinalCodes = []codes.Code{
	codes.InvalidArgument,
	codes.NotFound,
	codes.AlreadyExists,
	codes.FailedPrecondition,
}

// ScopeFunc returns the scope of a call: who is asking, such as the
// authenticated account, API key owner or tenant, read from the context
// that interceptors running before this one filled (an authentication
// interceptor's value, the peer's TLS identity, metadata). Calls from
// different scopes never share a key, whatever key they send. Any string is
// fine, "" included; it is hashed, so its length does not matter. It is
// called concurrently and must be safe for concurrent use. A nil ScopeFunc
// gives every call the scope "".
type ScopeFunc func(ctx context.Context) string

// Config tunes the interceptor returned by [UnaryServerInterceptor]. Its
// zero value covers no method and is refused: set Methods or Match; every
// other field has a default. A Config is a plain value, copied by
// UnaryServerInterceptor: changing it (or the slices it holds) afterwards
// has no effect, and one Config may be shared by goroutines that only read
// it.
type Config struct {
	// Namespace names the operation in the store: identity is (Namespace,
	// scope, key). Give each service that shares a store with other users
	// of package idempotency its own namespace. Defaults to "grpc".
	Namespace string

	// Methods lists the full method names ("/package.Service/Method")
	// the interceptor covers. Unary calls of other methods, and every
	// streaming call, pass through untouched. Defaults to nil: only the
	// methods Match accepts are covered.
	Methods []string

	// Match reports whether the interceptor covers a unary method, given
	// its full method name, in addition to those in Methods. It is called
	// concurrently and must be safe for concurrent use. Defaults to nil:
	// only the methods in Methods are covered.
	Match func(fullMethod string) bool

	// MetadataKey is the request metadata entry that carries the
	// idempotency key. Like every gRPC metadata key it is lowercase; it
	// may not end in "-bin" nor start with "grpc-". Defaults to
	// "idempotency-key".
	MetadataKey string

	// Optional lets a covered call without the key pass through to the
	// handler untouched, with no idempotency. When false such a call gets
	// InvalidArgument. Defaults to false.
	Optional bool

	// Scope returns who is asking, for example the authenticated account
	// ID. It is part of the identity, so the same key sent by two scopes
	// runs the handler twice and nobody is ever replayed an outcome meant
	// for someone else. Without it every client shares one key space,
	// which is only safe when every client is trusted. Defaults to nil.
	Scope ScopeFunc

	// FinalCodes lists the status codes of a handler's error that are
	// recorded and replayed, with their message and details, to every
	// retry of the key. A handler error with another code releases the
	// key, so a retry runs the handler again; an error wrapped with
	// [idempotency.Permanent] is recorded whatever its code. codes.OK is
	// not allowed. An empty non-nil slice records no error status.
	// Defaults to [DefaultFinalCodes].
	FinalCodes []codes.Code

	// MaxResponseBytes caps the encoded response (or error status) that
	// is recorded. A larger one still reaches the client, but it is not
	// recorded: the key is released, so a retry runs the handler again,
	// and a warning is logged. Defaults to 4 MiB, gRPC's default limit on
	// a received message.
	MaxResponseBytes int

	// TTL is how long a recorded outcome is replayed, as
	// [idempotency.Config].TTL. Defaults to 24h.
	TTL time.Duration

	// Lease is how long a claim holds without renewal while the handler
	// runs; it is renewed about every Lease/3, and a crashed process's
	// keys are free again one Lease after its last renewal, as
	// [idempotency.Config].Lease. Defaults to 30s.
	Lease time.Duration

	// Wait is how long a duplicate of a call still in flight waits for
	// its outcome, which it then gets as a replay. Zero answers Aborted
	// at once. Defaults to 0.
	Wait time.Duration

	// Logger receives what the client cannot see: outcomes that were not
	// recorded and why, store failures, and the Manager's own warnings.
	// Nil logs nothing. Defaults to nil.
	Logger *slog.Logger

	// HashKeysInLogs logs the stored key (scope and client key) as the
	// first 16 hex digits of its SHA-256 instead of the key itself, also
	// inside logged errors, for keys that carry personal data: see
	// [idempotency.Config.HashKeysInLogs]. Defaults to false.
	HashKeysInLogs bool

	// Observer receives the outcome of every covered call that carries a
	// key (replayed, executed, in progress, ...), its store operations and
	// lost leases: see [idempotency.Observer] and package idemotel.
	// Defaults to nil: nothing is observed.
	Observer *idempotency.Observer

	// Cache answers retries of calls this process has replayed once
	// from memory, without a store read: see
	// [idempotency.Config.Cache] and package idemcache. A key forgotten in
	// the store (idemctl forget) may still be replayed from it until the
	// cache's MaxAge. Defaults to nil: every retry reads the store.
	Cache idempotency.Cache
}

// settings is a validated Config with defaults filled in.
type settings struct {
	methods     []string
	match       func(string) bool
	mdKey       string
	optional    bool
	scope       ScopeFunc
	finalCodes  []codes.Code
	maxResponse int
	log         *slog.Logger
	namespace   string
	hashKeys    bool
}

// maxEnvelopeBytes is the room the recorded outcome's envelope (format
// byte, kind, message type name) takes on top of Config.MaxResponseBytes.
const maxEnvelopeBytes = 1 << 10

func (cfg Config) settings() (settings, idempotency.Config, error) {
	var errs []error
	s := settings{
		methods:     slices.Clone(cfg.Methods),
		match:       cfg.Match,
		mdKey:       cfg.MetadataKey,
		optional:    cfg.Optional,
		scope:       cfg.Scope,
		maxResponse: cfg.MaxResponseBytes,
		log:         cfg.Logger,
		hashKeys:    cfg.HashKeysInLogs,
	}
	if len(s.methods) == 0 && s.match == nil {
		errs = append(errs, errors.New("no method covered: set Methods or Match"))
	}
	for _, m := range s.methods {
		if !isFullMethod(m) {
			errs = append(errs, fmt.Errorf("not a full method name such as \"/package.Service/Method\" in Methods: %q", m))
		}
	}
	var err error
	if s.mdKey, err = metadataKey(s.mdKey); err != nil {
		errs = append(errs, err)
	}
	fc := cfg.FinalCodes
	if fc == nil {
		fc = DefaultFinalCodes
	}
	s.finalCodes = slices.Clone(fc)
	for _, c := range s.finalCodes {
		if c == codes.OK {
			errs = append(errs, errors.New("FinalCodes: OK is not an error status"))
		}
	}
	switch {
	case s.maxResponse < 0:
		errs = append(errs, fmt.Errorf("negative MaxResponseBytes %d", s.maxResponse))
	case s.maxResponse == 0:
		s.maxResponse = DefaultMaxResponseBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(errs) > 0 {
		return s, idempotency.Config{}, fmt.Errorf("idemgrpc: invalid Config: %w", errors.Join(errs...))
	}
	s.namespace = cfg.Namespace
	if s.namespace == "" {
		s.namespace = DefaultNamespace
	}
	mc := idempotency.Config{
		Namespace:        s.namespace,
		TTL:              cfg.TTL,
		Lease:            cfg.Lease,
		Wait:             cfg.Wait,
		Codec:            outcomeCodec{},
		MaxResponseBytes: s.maxResponse + maxEnvelopeBytes,
		Logger:           cfg.Logger,
		HashKeysInLogs:   cfg.HashKeysInLogs,
		Observer:         cfg.Observer,
		Cache:            cfg.Cache,
	}
	return s, mc, nil
}

// covers reports whether the interceptor handles unary calls of fullMethod.
func (s *settings) covers(fullMethod string) bool {
	return slices.Contains(s.methods, fullMethod) || (s.match != nil && s.match(fullMethod))
}

// isFinal reports whether a handler's error status with code c is
// recorded.
func (s *settings) isFinal(c codes.Code) bool { return slices.Contains(s.finalCodes, c) }

// isFullMethod reports whether m has the shape of a gRPC full method name:
// "/service/method", both parts non-empty.
func isFullMethod(m string) bool {
	rest, ok := strings.CutPrefix(m, "/")
	if !ok {
		return false
	}
	svc, method, ok := strings.Cut(rest, "/")
	return ok && svc != "" && method != "" && !strings.Contains(method, "/")
}

// metadataKey validates a metadata key, defaulting an empty one. gRPC
// metadata keys are lowercase ASCII letters, digits, '-', '_' and '.';
// "-bin" keys carry binary values and "grpc-" keys are gRPC's own.
func metadataKey(k string) (string, error) {
	if k == "" {
		return DefaultMetadataKey, nil
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("MetadataKey: %q is not a lowercase gRPC metadata key", k)
		}
	}
	switch {
	case strings.HasSuffix(k, "-bin"):
		return "", fmt.Errorf("MetadataKey: %q names a binary metadata entry; a key is text", k)
	case strings.HasPrefix(k, "grpc-"):
		return "", fmt.Errorf("MetadataKey: %q is reserved for gRPC itself", k)
	case k == ReplayedMetadataKey:
		return "", fmt.Errorf("MetadataKey: %q is the entry set on replays", k)
	}
	return k, nil
}
