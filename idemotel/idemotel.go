package idemotel

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemkit/idempotency"
)

// ScopeName is the instrumentation scope of every meter and tracer this
// package creates, so that views and samplers can single them out.
const ScopeName = "github.com/idemkit/idempotency/idemotel"

// The attribute keys this package sets. None of them ever holds a key, a
// scope, a tenant or a token.
const (
	// AttrNamespace is the Manager's Config.Namespace.
	AttrNamespace = attribute.Key("idempotency.namespace")
	// AttrOutcome is an [idempotency.Outcome]: executed, replayed,
	// mismatch, in_progress, fn_error, ...
	AttrOutcome = attribute.Key("idempotency.outcome")
	// AttrTransactional is true for a [idempotency.TxManager]'s call.
	AttrTransactional = attribute.Key("idempotency.transactional")
	// AttrOperation names a store operation: claim, renew, complete,
	// release or commit.
	AttrOperation = attribute.Key("idempotency.operation.name")
	// AttrOperationDuration is a store operation's duration in seconds, on
	// its span event.
	AttrOperationDuration = attribute.Key("idempotency.operation.duration")
	// AttrReplayed is true on the span of a call that replayed a recorded
	// outcome instead of running fn.
	AttrReplayed = attribute.Key("idempotency.replayed")
	// AttrCached is true for a call that Config.Cache answered (a replay
	// or a mismatch) without a store read. On metrics it is set only
	// then, never false.
	AttrCached = attribute.Key("idempotency.cached")
	// AttrTookOver is true on the span of a call that claimed a key whose
	// previous owner's lease had lapsed.
	AttrTookOver = attribute.Key("idempotency.took_over")
	// AttrWaited is the time in seconds a call spent waiting for another
	// call of its key, on its span, when it waited at all.
	AttrWaited = attribute.Key("idempotency.waited")
	// AttrCleanerOutcome is how a cleaning pass ended: "finished" or
	// "failed".
	AttrCleanerOutcome = attribute.Key("idempotency.cleaner.outcome")
	// AttrErrorType is OpenTelemetry's error.type: the class of a failure
	// (see the package documentation for its values).
	AttrErrorType = attribute.Key("error.type")
)

// Histogram bucket boundaries, in seconds.
var (
	callBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60}
	waitBuckets  = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	storeBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	passBuckets  = []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600}
)

// Config says where the telemetry goes. The zero value sends it to the
// global providers.
type Config struct {
	// MeterProvider creates the instruments. Defaults to
	// otel.GetMeterProvider(), the global provider, which forwards to
	// whatever otel.SetMeterProvider installs, even later.
	MeterProvider metric.MeterProvider

	// TracerProvider creates the spans. Pass a noop provider
	// (go.opentelemetry.io/otel/trace/noop) for metrics without spans.
	// Defaults to otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
}

func (cfg Config) meter() metric.Meter {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopeName)
}

// New returns an [idempotency.Observer] that records every call of the
// Managers and TxManagers it is given to (through Config.Observer, or
// idemhttp.Config.Observer) as metrics and as one span per call. One
// Observer may serve any number of Managers; it is safe for concurrent use.
//
// It fails only if the MeterProvider refuses to create an instrument.
func New(cfg Config) (*idempotency.Observer, error) {
	meter := cfg.meter()
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	o := &observer{tracer: tp.Tracer(ScopeName)}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string, bounds []float64) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(bounds...))
		errs = append(errs, err)
		return h
	}
	o.calls = counter("idempotency.calls", "{call}",
		"Calls to Do and its variants, by how they ended.")
	o.callDuration = histogram("idempotency.call.duration",
		"Wall time of a call, fn and waiting included.", callBuckets)
	o.waitDuration = histogram("idempotency.wait.duration",
		"Time a call spent waiting for another call of its key; only calls that waited.", waitBuckets)
	o.takeovers = counter("idempotency.takeovers", "{takeover}",
		"Claims of keys whose previous owner's lease had lapsed (a crashed or cut-off process).")
	o.storeDuration = histogram("idempotency.store.operation.duration",
		"Duration of an operation on the store (claim, renew, complete, release, commit).", storeBuckets)
	o.leaseLosses = counter("idempotency.lease.losses", "{loss}",
		"Leases lost while fn ran: fn's context was cancelled and its outcome not recorded.")
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("idemotel: create instruments: %w", err)
	}
	return &idempotency.Observer{
		CallStart: o.callStart,
		CallEnd:   o.callEnd,
		StoreOp:   o.storeOp,
		LeaseLost: o.leaseLost,
	}, nil
}

// observer holds the instruments behind one Observer, and caches the
// attribute sets it records with: they are few (namespaces × outcomes), and
// building one per call would cost more than the recording itself.
type observer struct {
	tracer        trace.Tracer
	calls         metric.Int64Counter
	callDuration  metric.Float64Histogram
	waitDuration  metric.Float64Histogram
	takeovers     metric.Int64Counter
	storeDuration metric.Float64Histogram
	leaseLosses   metric.Int64Counter

	shapes  sync.Map // shapeKey -> *spanShape
	callOpt sync.Map // callKey -> metric.MeasurementOption
	nsOpt   sync.Map // shapeKey -> metric.MeasurementOption
	opOpt   sync.Map // opKey -> metric.MeasurementOption
}

type shapeKey struct {
	ns string
	tx bool
}

type callKey struct {
	ns      string
	outcome idempotency.Outcome
	tx      bool
	cached  bool
}

type opKey struct {
	ns, op, errType string
}

// spanShape is what every span of one namespace starts with.
type spanShape struct {
	name string
	opts []trace.SpanStartOption
}

// spanKey holds this Observer's span in the call's context. Another
// Observer's CallStart may start a span of its own after this one (a
// composite Observer); CallEnd must end this one, not whatever
// trace.SpanFromContext finds.
type spanKey struct{}

func cached[K comparable, V any](m *sync.Map, k K, build func() V) V {
	if v, ok := m.Load(k); ok {
		return v.(V)
	}
	v, _ := m.LoadOrStore(k, build())
	return v.(V)
}

func (o *observer) shape(ns string, tx bool) *spanShape {
	return cached(&o.shapes, shapeKey{ns, tx}, func() *spanShape {
		name := "idempotency.Do"
		if ns != "" {
			name += " " + ns
		}
		return &spanShape{name: name, opts: []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindInternal),
			trace.WithAttributes(AttrNamespace.String(ns), AttrTransactional.Bool(tx)),
		}}
	})
}

func (o *observer) callStart(ctx context.Context, c idempotency.CallInfo) context.Context {
	sh := o.shape(c.Namespace, c.Transactional)
	ctx, span := o.tracer.Start(ctx, sh.name, sh.opts...)
	return context.WithValue(ctx, spanKey{}, span)
}

// answers are the outcomes that are the system doing its job: a replay, or
// a refusal the caller is meant to act on. Their spans keep status Unset;
// every other outcome (fn's error, a failure of the store, a lost lease, a
// panic, and any outcome added later) sets status Error.
var answers = map[idempotency.Outcome]bool{
	idempotency.OutcomeExecuted:   true,
	idempotency.OutcomeReplayed:   true,
	idempotency.OutcomeMismatch:   true,
	idempotency.OutcomeInProgress: true,
	idempotency.OutcomeInvalid:    true,
	idempotency.OutcomeCanceled:   true,
}

func (o *observer) callEnd(ctx context.Context, c idempotency.CallInfo, e idempotency.CallEnd) {
	attrs := cached(&o.callOpt, callKey{c.Namespace, e.Outcome, c.Transactional, e.Cached}, func() metric.MeasurementOption {
		kvs := []attribute.KeyValue{AttrNamespace.String(c.Namespace), AttrOutcome.String(string(e.Outcome)),
			AttrTransactional.Bool(c.Transactional)}
		if e.Cached { // only then: series without a cache keep their labels
			kvs = append(kvs, AttrCached.Bool(true))
		}
		return metric.WithAttributeSet(attribute.NewSet(kvs...))
	})
	o.calls.Add(ctx, 1, attrs)
	o.callDuration.Record(ctx, e.Duration.Seconds(), attrs)
	if e.Waited > 0 {
		o.waitDuration.Record(ctx, e.Waited.Seconds(), attrs)
	}
	if e.TookOver {
		o.takeovers.Add(ctx, 1, o.namespaceOpt(c))
	}

	span, ok := ctx.Value(spanKey{}).(trace.Span)
	if !ok {
		return
	}
	if span.IsRecording() {
		span.SetAttributes(
			AttrOutcome.String(string(e.Outcome)),
			AttrReplayed.Bool(e.Outcome == idempotency.OutcomeReplayed),
			AttrCached.Bool(e.Cached),
			AttrTookOver.Bool(e.TookOver))
		if e.Waited > 0 {
			span.SetAttributes(AttrWaited.Float64(e.Waited.Seconds()))
		}
		if !answers[e.Outcome] {
			et, msg := string(e.Outcome), "fn panicked"
			if e.Err != nil {
				et, msg = errorType(e.Err), redact(e.Err.Error(), c.Key)
			}
			span.SetAttributes(AttrErrorType.String(et))
			span.AddEvent("exception", trace.WithAttributes(
				attribute.String("exception.type", et), attribute.String("exception.message", msg)))
			span.SetStatus(codes.Error, msg)
		}
	}
	span.End()
}

func (o *observer) namespaceOpt(c idempotency.CallInfo) metric.MeasurementOption {
	return cached(&o.nsOpt, shapeKey{c.Namespace, c.Transactional}, func() metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(AttrNamespace.String(c.Namespace), AttrTransactional.Bool(c.Transactional)))
	})
}

func (o *observer) storeOp(ctx context.Context, op idempotency.StoreOp) {
	var et string
	// A lost lease is the store's answer, not its failure: it is counted by
	// idempotency.lease.losses and by the call's outcome.
	if op.Err != nil && !errors.Is(op.Err, idempotency.ErrLeaseLost) {
		et = errorType(op.Err)
	}
	attrs := cached(&o.opOpt, opKey{op.Namespace, op.Op, et}, func() metric.MeasurementOption {
		kvs := []attribute.KeyValue{AttrNamespace.String(op.Namespace), AttrOperation.String(op.Op)}
		if et != "" {
			kvs = append(kvs, AttrErrorType.String(et))
		}
		return metric.WithAttributeSet(attribute.NewSet(kvs...))
	})
	o.storeDuration.Record(ctx, op.Duration.Seconds(), attrs)

	if span, ok := ctx.Value(spanKey{}).(trace.Span); ok && span.IsRecording() {
		kvs := []attribute.KeyValue{AttrOperation.String(op.Op), AttrOperationDuration.Float64(op.Duration.Seconds())}
		if et != "" {
			kvs = append(kvs, AttrErrorType.String(et))
		}
		span.AddEvent("idempotency."+op.Op, trace.WithAttributes(kvs...))
	}
}

func (o *observer) leaseLost(ctx context.Context, c idempotency.CallInfo, err error) {
	o.leaseLosses.Add(ctx, 1, o.namespaceOpt(c))
	if span, ok := ctx.Value(spanKey{}).(trace.Span); ok && span.IsRecording() {
		kvs := []attribute.KeyValue{AttrErrorType.String("idempotency.ErrLeaseLost")}
		if err != nil && !errors.Is(err, idempotency.ErrLeaseLost) {
			// Renewals failed until the lease might have run out.
			kvs[0] = AttrErrorType.String(errorType(err))
		}
		span.AddEvent("idempotency.lease_lost", trace.WithAttributes(kvs...))
	}
}

// redact removes the call's key from msg where the library quotes it (every
// error of this module that names a key does so with %q). An error of fn's
// own that spells the key otherwise keeps it.
func redact(msg, key string) string {
	if key == "" {
		return msg
	}
	return strings.ReplaceAll(msg, strconv.Quote(key), `"[key]"`)
}

// sentinels are named in error.type by their Go names rather than by their
// type, which is the uninformative *errors.errorString.
var sentinels = []struct {
	err  error
	name string
}{
	{idempotency.ErrLeaseLost, "idempotency.ErrLeaseLost"},
	{idempotency.ErrResponseTooLarge, "idempotency.ErrResponseTooLarge"},
	{idempotency.ErrNotRecorded, "idempotency.ErrNotRecorded"},
	{idempotency.ErrInProgress, "idempotency.ErrInProgress"},
	{idempotency.ErrRequestMismatch, "idempotency.ErrRequestMismatch"},
	{idempotency.ErrInvalidKey, "idempotency.ErrInvalidKey"},
	{context.DeadlineExceeded, "context.DeadlineExceeded"},
	{context.Canceled, "context.Canceled"},
}

// errorType classifies err for error.type, in few values: what an
// ErrorType() string method in its chain says; else the name of a
// sentinel of this module or of package context that it wraps; else the
// type of the error under the wrappers that only add words to its message
// (fmt.Errorf's, errors.Join's and Permanent's; of several wrapped errors,
// the first), named as OpenTelemetry's semconv.ErrorType names types.
func errorType(err error) string {
	var et interface{ ErrorType() string }
	if errors.As(err, &et) {
		if s := et.ErrorType(); s != "" {
			return s
		}
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	for {
		t := reflect.TypeOf(err)
		if !wordsOnly[t] {
			if pkg, name := t.PkgPath(), t.Name(); pkg != "" && name != "" {
				return pkg + "." + name
			}
			return t.String()
		}
		var inner error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			inner = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				inner = errs[0]
			}
		}
		if inner == nil {
			return t.String()
		}
		err = inner
	}
}

// wordsOnly holds the types of the errors that wrap others only to add
// words to their message: their names tell nothing.
var wordsOnly = map[reflect.Type]bool{
	reflect.TypeOf(fmt.Errorf("%w", errors.ErrUnsupported)):                          true, // *fmt.wrapError
	reflect.TypeOf(fmt.Errorf("%w%w", errors.ErrUnsupported, errors.ErrUnsupported)): true, // *fmt.wrapErrors
	reflect.TypeOf(errors.Join(errors.ErrUnsupported)):                               true, // *errors.joinError
	reflect.TypeOf(idempotency.Permanent(errors.ErrUnsupported)):                     true,
}
