// Package idemgrpc makes unary gRPC methods safe to retry with an
// idempotency key, on google.golang.org/grpc: a server interceptor that runs
// each call's handler at most once per key and replays its recorded outcome
// to every retry, and a client interceptor that gives each call a key.
//
// A client whose call timed out, or whose connection broke, cannot know
// whether it took effect; gRPC's own retry policies and hedging send the
// same call again. With this package the retry carries the same key: if the
// first attempt finished, the retry gets its recorded response (or final
// error status) back and the handler does not run again; if it is still
// running, the retry is told so with Aborted, a code retry policies can
// retry; if it failed in a way worth retrying, the retry runs it again.
//
// # Use
//
// [UnaryServerInterceptor] takes an [idempotency.Store] (package sqlstore
// has one for PostgreSQL, MySQL and SQLite, package redisstore one for
// Redis) and a [Config] naming the methods it covers:
//
//	idem, err := idemgrpc.UnaryServerInterceptor(store, idemgrpc.Config{
//		Methods: []string{paymentspb.Payments_Charge_FullMethodName},
//		Scope:   func(ctx context.Context) string { return accountID(ctx) },
//	})
//	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(authenticate, idem))
//
// Always set [Config.Scope] to who is asking (the authenticated account,
// the API key's owner, the tenant), and put authentication before this
// interceptor in the chain so the scope is known when it runs. The scope is
// part of every key's identity: two clients that send the same key each get
// their own execution and their own outcome, and nobody is ever replayed an
// outcome recorded for someone else. Without a Scope all clients share one
// key space. Interceptors that turn errors or responses into what clients
// see (a domain error mapped to a status code) belong after this one,
// closer to the handler: this interceptor records what the handler side of
// the chain returns, and a mapping outside it would not be replayed.
//
// Clients send the key in the "idempotency-key" metadata entry
// ([Config.MetadataKey]); [UnaryClientInterceptor] does it for them:
//
//	keys, err := idemgrpc.UnaryClientInterceptor(idemgrpc.ClientConfig{})
//	conn, err := grpc.NewClient(target, grpc.WithUnaryInterceptor(keys), ...)
//
// It picks one random key per call before gRPC's retries, so every attempt
// of a call, retried by a service config's retry policy, carries the same
// key; [WithKey] sets the key of a call explicitly, for an application that
// retries by itself. Put it first among the client's interceptors, before
// any retrying interceptor: one after a retrying interceptor would give
// each attempt a key of its own. Clients that hedge (send attempts at once)
// should list Aborted among their retryable codes, or the server should set
// [Config.Wait].
//
// # What a covered call gets
//
// The interceptor covers the unary methods in [Config.Methods] and those
// [Config.Match] accepts; calls of other methods pass through untouched.
// Streaming RPCs are never covered: a unary interceptor does not see them,
// and a stream's messages cannot be replayed as one outcome. For a covered
// call:
//
//	situation                                     status code               ErrorInfo reason
//	new key                                       the handler's             -
//	key done, same request                        the recorded one (*)      -
//	no key metadata                               InvalidArgument           IDEMPOTENCY_KEY_MISSING
//	no key metadata, Config.Optional              the handler's (**)        -
//	invalid key                                   InvalidArgument           IDEMPOTENCY_KEY_INVALID
//	key used with a different request             FailedPrecondition        IDEMPOTENCY_REQUEST_MISMATCH
//	same request in flight                        Aborted + RetryInfo       IDEMPOTENCY_REQUEST_IN_PROGRESS
//	same request in flight, Config.Wait set       the recorded one (*)      -
//	store unavailable (the handler did not run)   Unavailable + RetryInfo   IDEMPOTENCY_STORE_UNAVAILABLE
//	recorded outcome unreadable                   Internal                  IDEMPOTENCY_RECORD_UNREADABLE
//	request not a protobuf message                Internal                  -
//
//	(*)  with idempotency-replayed: true in the header metadata (in the
//	     trailer when an earlier interceptor has sent the header); with
//	     Wait, Aborted if Wait runs out first
//	(**) nothing recorded: the call is not idempotent
//
// The interceptor's own refusals carry a google.rpc.ErrorInfo detail with
// domain [ErrorDomain] and one of the Reason* constants, so a client tells
// them from a handler's error with the same code; Aborted and Unavailable
// carry a google.rpc.RetryInfo detail too. They are never recorded. When
// the caller's deadline passes or it cancels before the handler runs (while
// the key is claimed, or while it waits with Wait), the call ends with
// DeadlineExceeded or Canceled.
//
// Keys are 1 to [MaxKeyLen] (222) bytes of UTF-8 without control
// characters, sent once; they are compared as exact bytes. The stored key
// is a 32-hex-digit digest of the scope, a colon and the client's key,
// within the namespace [Config.Namespace] ("grpc" by default), as in
// package idemhttp: [StoredKey] computes it, for operators who look a key
// up or forget it (idempotency.Inspector, cmd/idemctl's -scope).
//
// # The request fingerprint
//
// The same key with a different request is refused with FailedPrecondition,
// so a client bug that reuses a key cannot silently get another request's
// outcome. The fingerprint covers the full method name and the SHA-256 of
// the request message's deterministic protobuf encoding
// (proto.MarshalOptions{Deterministic: true}, so map order does not
// matter, except in maps inside a google.protobuf.Any or unknown fields,
// whose bytes are kept as sent). Unknown fields the server's message type keeps count; metadata
// other than the key does not. Deterministic encoding is stable for one
// build of a message type, not across protobuf versions or schema changes:
// a retry that reaches a server built with a changed request type may be
// refused as a mismatch, which is safe.
//
// # What is recorded
//
// Once the handler returns, its outcome is recorded (when it should be) and
// then sent to the client.
//
//   - A response is recorded as its protobuf encoding and its message's full
//     name. A replay decodes it into a new message of that type, found in
//     protoregistry.GlobalTypes (where generated code registers every
//     message), or made from its descriptor in protoregistry.GlobalFiles
//     (a dynamicpb message), and sends it as the handler's response. A
//     response whose type is in neither is not recorded, as it could not be
//     replayed: the key is released and an error logged. A nil response
//     (which gRPC sends as an empty message) is recorded and replayed as
//     nil.
//   - A final error is sent to the first caller as the status that is
//     recorded for it, the innermost gRPC status of its chain, so the
//     first answer and its replays are the same.
//   - An error status whose code is in [Config.FinalCodes] (InvalidArgument,
//     NotFound, AlreadyExists and FailedPrecondition by default), or any
//     error wrapped with [idempotency.Permanent], is recorded as its
//     google.rpc.Status: a replay returns the same code, message and
//     details.
//   - Any other error releases the key, so the client's retry runs the
//     handler again: Unavailable, Internal, DeadlineExceeded and the like
//     are usually worth retrying.
//   - A response or status over [Config.MaxResponseBytes] (4 MiB by default)
//     is sent to the client but not recorded: the key is released and a
//     warning is logged to [Config.Logger].
//   - A handler that panics records nothing: the key is released and the
//     panic continues (to a recovery interceptor, or it crashes the
//     server, as without this one).
//
// Header and trailer metadata the handler sets reach the first caller only:
// replays carry the [ReplayedMetadataKey] entry and nothing else of the
// handler's.
//
// # Concurrency and failures
//
// All methods covered by one interceptor share one idempotency.Manager, so
// a key is claimed atomically in the store before the handler runs, and at
// most one call per identity runs it at a time across every process that
// shares the store. The claim is a lease renewed while the handler runs; if
// the process dies, the key is free again one [Config.Lease] later. If the
// lease is lost anyway, the handler's context is cancelled and its outcome
// is sent, and recorded only if the claim is still this call's (as after
// an outage that kept every other caller out too). If the outcome cannot be written to the store
// after the handler ran, it is still sent to the client, and an error is
// logged.
//
// With [Config.Wait] set, duplicates wait for the running call and get its
// outcome as a replay; within one process they wait on the running call
// without polling the store. When the running call's outcome is not
// recorded (an error that is not final), a waiting duplicate runs the
// handler itself.
package idemgrpc
