package idemgrpc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/idemkit/idempotency"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail that the
// interceptor's own refusals carry, beside a Reason* constant.
const ErrorDomain = "idemkit.dev"

// Reasons of the google.rpc.ErrorInfo detail (domain [ErrorDomain]) that
// each of the interceptor's own refusals carries, so a client can tell
// them from a handler's error of the same code. They never change.
const (
	// ReasonKeyMissing (InvalidArgument): a covered call came without the
	// key metadata entry and Config.Optional is false.
	ReasonKeyMissing = "IDEMPOTENCY_KEY_MISSING"
	// ReasonKeyInvalid (InvalidArgument): the key is empty, sent more than
	// once, longer than [MaxKeyLen] bytes, not UTF-8 or holds a control
	// character.
	ReasonKeyInvalid = "IDEMPOTENCY_KEY_INVALID"
	// ReasonRequestMismatch (FailedPrecondition): the key was already
	// used with a different request (another method or message).
	ReasonRequestMismatch = "IDEMPOTENCY_REQUEST_MISMATCH"
	// ReasonRequestInProgress (Aborted, with a RetryInfo detail): a call
	// with this key is still being handled; retry later with the same key.
	ReasonRequestInProgress = "IDEMPOTENCY_REQUEST_IN_PROGRESS"
	// ReasonStoreUnavailable (Unavailable, with a RetryInfo detail): the
	// key could not be claimed or looked up; the handler did not run.
	// Retry with the same key.
	ReasonStoreUnavailable = "IDEMPOTENCY_STORE_UNAVAILABLE"
	// ReasonRecordUnreadable (Internal): the outcome recorded for the key
	// cannot be replayed (corrupt, or of a message type this server does
	// not know).
	ReasonRecordUnreadable = "IDEMPOTENCY_RECORD_UNREADABLE"
)

// retryDelay is the delay suggested in the RetryInfo detail of Aborted and
// Unavailable refusals.
const retryDelay = time.Second

// UnaryServerInterceptor returns a grpc.UnaryServerInterceptor that makes
// the unary methods it covers safe to retry: each covered call with an
// idempotency key runs its handler at most once per (Config.Namespace,
// Config.Scope, key), and every retry gets the recorded outcome back. Calls
// of methods it does not cover pass through untouched; streaming calls never
// reach a unary interceptor. See the package documentation for the full
// behaviour.
//
// Install it with grpc.UnaryInterceptor or, after the interceptor that
// authenticates callers, in grpc.ChainUnaryInterceptor. All methods it
// covers share one [idempotency.Manager]: a key reused on another method is
// a different request (FailedPrecondition). The interceptor is safe for
// concurrent use. UnaryServerInterceptor validates cfg and touches no
// storage: apply the store's schema first (sqlstore's Store.Migrate).
func UnaryServerInterceptor(store idempotency.Store, cfg Config) (grpc.UnaryServerInterceptor, error) {
	s, mc, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	mgr, err := idempotency.New[fingerprint, recorded](store, mc)
	if err != nil {
		return nil, fmt.Errorf("idemgrpc: %w", err)
	}
	i := &interceptor{s: s, mgr: mgr}
	return i.intercept, nil
}

type interceptor struct {
	s   settings
	mgr *idempotency.Manager[fingerprint, recorded]
}

// fingerprint is the call as the Manager fingerprints it: the same key with
// another method or request message gets FailedPrecondition. The method is
// []byte because the canonical form refuses invalid UTF-8 in strings; the
// message is hashed first so a large one is not canonicalised for nothing.
type fingerprint struct {
	Method        []byte `json:"method"`
	RequestSHA256 []byte `json:"request_sha256"`
}

// Reasons a handler's outcome that reached the client was not recorded; the
// key is released so a retry runs the handler again.
var (
	errNotProto      = errors.New("the handler's response is not a protobuf message")
	errResponseLarge = errors.New("the encoded response is over Config.MaxResponseBytes")
)

func (i *interceptor) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !i.s.covers(info.FullMethod) {
		return handler(ctx, req)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get(i.s.mdKey)
	if len(values) == 0 {
		if i.s.optional {
			return handler(ctx, req)
		}
		return nil, refusal(codes.InvalidArgument, ReasonKeyMissing, 0,
			fmt.Sprintf("%s needs an %s metadata entry: a unique value (such as a UUID) that the client reuses when it retries the call", info.FullMethod, i.s.mdKey))
	}
	key, err := checkKey(i.s.mdKey, values)
	if err != nil {
		return nil, refusal(codes.InvalidArgument, ReasonKeyInvalid, 0, err.Error())
	}
	msg, ok := req.(proto.Message)
	if !ok {
		return nil, status.Errorf(codes.Internal, "idemgrpc: the request of %s is a %T, not a protobuf message: it cannot be fingerprinted", info.FullMethod, req)
	}
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "idemgrpc: the request of %s cannot be encoded to be fingerprinted: %v", info.FullMethod, err)
	}
	sum := sha256.Sum256(body)
	fp := fingerprint{Method: []byte(info.FullMethod), RequestSHA256: sum[:]}
	scope := ""
	if i.s.scope != nil {
		scope = i.s.scope(ctx)
	}

	// ran is set when the handler runs in this call; its own outcome is
	// then what the client gets, whatever becomes of the record. A panic
	// in the handler passes through DoResult (which releases the key).
	var (
		ran      bool
		released bool // the handler's error was not final: the key is released
		hResp    any
		hErr     error
	)
	ck := callKey{client: key, stored: storedKey(scope, key)}
	res, err := i.mgr.DoResult(ctx, ck.stored, fp,
		func(ctx context.Context, _ fingerprint) (recorded, error) {
			ran = true
			hResp, hErr = handler(ctx, req)
			if hErr != nil && !i.isFinal(hErr) {
				released = true
				return recorded{}, hErr // the Manager releases the key
			}
			return i.outcome(hResp, hErr)
		})
	switch {
	case ran:
		// The Manager returns a released handler error unchanged, or
		// wrapped with ErrLeaseLost; anything else kept the outcome from
		// being recorded and is worth a log record. (Errors are not
		// compared with ==: an error type may not be comparable.)
		if err != nil && (!released || errors.Is(err, idempotency.ErrLeaseLost)) {
			i.logNotRecorded(ctx, info.FullMethod, ck, err)
		}
		if hErr != nil && !released {
			// A final error goes out as the status recorded for it, so
			// that the first answer and its replays are the same, also
			// for a status wrapped with idempotency.Permanent.
			return hResp, statusOf(hErr).Err()
		}
		return hResp, hErr
	case err == nil:
		return i.replay(ctx, info.FullMethod, ck, res.Value)
	default:
		return nil, i.refuse(ctx, info.FullMethod, ck, err)
	}
}

// isFinal reports whether a handler's error is recorded: its status code
// is in Config.FinalCodes, or it was marked with idempotency.Permanent.
func (i *interceptor) isFinal(err error) bool {
	return idempotency.IsPermanent(err) || i.s.isFinal(statusOf(err).Code())
}

// outcome returns what is recorded for the handler's response, or for its
// final error; an error return keeps it from being recorded and releases
// the key.
func (i *interceptor) outcome(resp any, err error) (recorded, error) {
	if err != nil {
		b, merr := proto.Marshal(statusOf(err).Proto())
		if merr != nil {
			return recorded{}, fmt.Errorf("idemgrpc: encode the handler's error status: %w", merr)
		}
		if len(b) > i.s.maxResponse {
			return recorded{}, errResponseLarge
		}
		return recorded{Kind: kindStatus, Payload: b}, nil
	}
	if resp == nil {
		return recorded{Kind: kindNil}, nil
	}
	msg, ok := resp.(proto.Message)
	if !ok {
		return recorded{}, fmt.Errorf("%w (a %T)", errNotProto, resp)
	}
	name := msg.ProtoReflect().Descriptor().FullName()
	if _, err := messageType(name); err != nil {
		// Recorded, it could never be replayed: every retry would get
		// Internal for the whole TTL.
		return recorded{}, fmt.Errorf("%w: %w", errUnregistered, err)
	}
	b, merr := proto.Marshal(msg)
	if merr != nil {
		return recorded{}, fmt.Errorf("idemgrpc: encode the handler's response: %w", merr)
	}
	if len(b) > i.s.maxResponse {
		return recorded{}, errResponseLarge
	}
	return recorded{Kind: kindMessage, TypeName: string(name), Payload: b}, nil
}

// errUnregistered keeps a response whose type a replay could not find from
// being recorded.
var errUnregistered = errors.New("idemgrpc: the response's message type is not registered, so a replay could not decode it; response not recorded")

// messageType finds the message type a replay decodes a recorded response
// into: the generated type registered under name, or, for a message known
// only by its descriptor (a dynamicpb message whose file is registered), a
// dynamic type of that descriptor.
func messageType(name protoreflect.FullName) (protoreflect.MessageType, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err == nil {
		return mt, nil
	}
	d, ferr := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if md, ok := d.(protoreflect.MessageDescriptor); ferr == nil && ok {
		return dynamicpb.NewMessageType(md), nil
	}
	return nil, err
}

// statusOf is the status gRPC sends for a handler's error: its own status
// when it has one (also wrapped), the context's code for a context error,
// Unknown otherwise.
func statusOf(err error) *status.Status {
	// The innermost status as it is: status.FromError would prefix its
	// message with the text of whatever wraps it.
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		if st := se.GRPCStatus(); st != nil {
			return st
		}
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err)
	}
	return status.New(codes.Unknown, err.Error())
}

// replay answers a call from the recorded outcome, marking it replayed in
// the header metadata.
func (i *interceptor) replay(ctx context.Context, method string, key callKey, r recorded) (any, error) {
	switch r.Kind {
	case kindMessage:
		mt, err := messageType(protoreflect.FullName(r.TypeName))
		if err != nil {
			return nil, i.unreadable(ctx, method, key, fmt.Errorf("recorded response of type %s: %w", r.TypeName, err))
		}
		m := mt.New().Interface()
		if err := proto.Unmarshal(r.Payload, m); err != nil {
			return nil, i.unreadable(ctx, method, key, fmt.Errorf("decode the recorded %s: %w", r.TypeName, err))
		}
		markReplayed(ctx)
		return m, nil
	case kindNil:
		markReplayed(ctx)
		return nil, nil
	default: // kindStatus: the codec admits no other
		var sp spb.Status
		if err := proto.Unmarshal(r.Payload, &sp); err != nil || sp.Code == int32(codes.OK) {
			return nil, i.unreadable(ctx, method, key, errors.Join(errCorrupt, err))
		}
		markReplayed(ctx)
		return nil, status.ErrorProto(&sp)
	}
}

// markReplayed adds the replayed entry to the call's header metadata, or
// to its trailer when an interceptor earlier in the chain has sent the
// header already. Both fail only outside a gRPC server call (a test calling
// the interceptor directly).
func markReplayed(ctx context.Context) {
	md := metadata.Pairs(ReplayedMetadataKey, "true")
	if grpc.SetHeader(ctx, md) != nil {
		_ = grpc.SetTrailer(ctx, md)
	}
}

// refuse answers a call whose handler did not run.
func (i *interceptor) refuse(ctx context.Context, method string, key callKey, err error) error {
	var se *idempotency.StoredError
	switch {
	case errors.Is(err, idempotency.ErrRequestMismatch):
		return refusal(codes.FailedPrecondition, ReasonRequestMismatch, 0,
			fmt.Sprintf("this %s was already used with a different request (method or message); use a new key for a new request", i.s.mdKey))
	case errors.Is(err, idempotency.ErrInProgress):
		return refusal(codes.Aborted, ReasonRequestInProgress, retryDelay,
			fmt.Sprintf("a call with this %s is still being handled; retry later with the same key to get its outcome", i.s.mdKey))
	case errors.Is(err, idempotency.ErrInvalidKey):
		return refusal(codes.InvalidArgument, ReasonKeyInvalid, 0, fmt.Sprintf("the %s metadata entry is not a valid key", i.s.mdKey))
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	case errors.Is(err, errCorrupt), errors.As(err, &se):
		return i.unreadable(ctx, method, key, err)
	default:
		i.s.log.ErrorContext(ctx, "idemgrpc: idempotency store failed; call not handled", i.logAttrs(method, key, err)...)
		return refusal(codes.Unavailable, ReasonStoreUnavailable, retryDelay,
			"the idempotency store is unavailable, so the call was not handled; retry with the same key")
	}
}

// unreadable answers a call whose recorded outcome cannot be replayed.
func (i *interceptor) unreadable(ctx context.Context, method string, key callKey, err error) error {
	i.s.log.ErrorContext(ctx, "idemgrpc: recorded outcome cannot be replayed", i.logAttrs(method, key, err)...)
	return refusal(codes.Internal, ReasonRecordUnreadable, 0,
		"the outcome recorded for this key cannot be read; contact the service's operator")
}

// refusal is one of the interceptor's own error statuses: msg, an ErrorInfo
// with reason and, when delay is positive, a RetryInfo.
func refusal(code codes.Code, reason string, delay time.Duration, msg string) error {
	st := status.New(code, "idemgrpc: "+msg)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}}
	if delay > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	}
	if withDetails, err := st.WithDetails(details...); err == nil {
		st = withDetails
	}
	return st.Err()
}

// logNotRecorded says why an outcome that reached the client was not
// recorded.
func (i *interceptor) logNotRecorded(ctx context.Context, method string, key callKey, err error) {
	level := slog.LevelWarn
	msg := "idemgrpc: outcome not recorded; the key is released and a retry runs the handler again"
	switch {
	case errors.Is(err, idempotency.ErrLeaseLost):
		msg = "idemgrpc: outcome not recorded: the handler outlived its lease and another call may have taken the key over"
	case errors.Is(err, idempotency.ErrNotRecorded):
		level = slog.LevelError
		msg = "idemgrpc: outcome not recorded: the store could not be written; a retry after the lease runs out runs the handler again"
	}
	i.s.log.Log(ctx, level, msg, i.logAttrs(method, key, err)...)
}

// logAttrs are the attributes of a log record about a call: the method,
// the namespace, the client's key and err. With HashKeysInLogs the key is
// left out and the stored key (scope and key) logged as a hash, as the
// Manager's own records do, and taken out of err's text, where the store's
// errors quote it.
func (i *interceptor) logAttrs(method string, k callKey, err error) []any {
	if !i.s.hashKeys {
		return []any{"method", method, "namespace", i.s.namespace, "key", k.client, "err", err}
	}
	sum := sha256.Sum256([]byte(k.stored))
	attrs := []any{"method", method, "namespace", i.s.namespace, "key_sha256", hex.EncodeToString(sum[:8])}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), strconv.Quote(k.stored), "[key]")
		attrs = append(attrs, "err", strings.ReplaceAll(msg, strconv.Quote(k.client), "[key]"))
	}
	return attrs
}

// callKey is a call's key as the client sent it and as it is stored.
type callKey struct{ client, stored string }
