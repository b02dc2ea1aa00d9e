package idemgrpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// ClientConfig tunes the interceptor returned by [UnaryClientInterceptor].
// The zero value is usable: it gives every unary call a key in the
// "idempotency-key" metadata entry. A ClientConfig is a plain value, copied
// by UnaryClientInterceptor: changing it afterwards has no effect, and one
// ClientConfig may be shared by goroutines that only read it.
type ClientConfig struct {
	// MetadataKey is the metadata entry that carries the key; it must be
	// the server's [Config.MetadataKey]. Defaults to "idempotency-key".
	MetadataKey string

	// Methods lists the full method names ("/package.Service/Method")
	// whose calls get a key. Defaults to nil: with Match nil too, every
	// unary call gets one (a server that does not cover a method ignores
	// its key).
	Methods []string

	// Match reports whether calls of a method, given its full method name,
	// get a key, in addition to those in Methods. It is called
	// concurrently and must be safe for concurrent use. Defaults to nil.
	Match func(fullMethod string) bool
}

// UnaryClientInterceptor returns a grpc.UnaryClientInterceptor that gives
// each unary call it covers an idempotency key: the one [WithKey] put in the
// call's context, else a new random one ([NewKey]). A call whose outgoing
// metadata already holds the entry is left alone.
//
// The key is chosen once per call, before gRPC's own retries (the retry
// policy of a service config), which send the same metadata with every
// attempt: the attempts of one call share one key, so the server runs the
// handler at most once for all of them. An application that retries by
// itself, calling again after an error, makes a new call and so gets a new
// key, unless it picks the key itself ([NewKey]) and passes it with
// WithKey to every attempt. With ClientConfig zero, every unary call is
// covered. The interceptor is safe for concurrent use.
func UnaryClientInterceptor(cfg ClientConfig) (grpc.UnaryClientInterceptor, error) {
	mdKey, err := metadataKey(cfg.MetadataKey)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	methods := slices.Clone(cfg.Methods)
	for _, m := range methods {
		if !isFullMethod(m) {
			errs = append(errs, fmt.Errorf("not a full method name such as \"/package.Service/Method\" in Methods: %q", m))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("idemgrpc: invalid ClientConfig: %w", errors.Join(errs...))
	}
	match := cfg.Match
	all := len(methods) == 0 && match == nil
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if !all && !slices.Contains(methods, method) && (match == nil || !match(method)) {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(mdKey)) > 0 {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		key, ok := ctx.Value(keyContextKey{}).(string)
		if !ok {
			key = NewKey()
		}
		return invoker(metadata.AppendToOutgoingContext(ctx, mdKey, key), method, req, reply, cc, opts...)
	}, nil
}

type keyContextKey struct{}

// WithKey returns a copy of ctx that makes the interceptor of
// [UnaryClientInterceptor] send key with the calls it covers made with ctx,
// instead of a new random key: for an application that retries a call by
// itself, or derives the key from its own request ID. Use one key for one
// request only. It has no effect without that interceptor, nor when the
// call's outgoing metadata holds the entry already. It is safe for
// concurrent use.
func WithKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyContextKey{}, key)
}

// NewKey returns a new random key: a version 4 UUID from crypto/rand, such
// as "8e03978e-40d5-43e8-bc93-6894a57f9324". It is safe for concurrent use.
func NewKey() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}
