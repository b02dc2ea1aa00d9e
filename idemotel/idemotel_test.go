package idemotel_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemotel"
	"github.com/idemkit/idempotency/internal/testdb"
)

type charge struct {
	Amount int `json:"amount"`
}

type receipt struct {
	ID string `json:"id"`
}

func okFn(context.Context, charge) (receipt, error) { return receipt{ID: "ch_1"}, nil }

// secret begins every key the tests use; no exported attribute, event or
// status may contain it.
const secret = "secret-key-"

// harness is an Observer on the SDK's in-memory reader and span recorder.
type harness struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	cfg    idemotel.Config
	obs    *idempotency.Observer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = h.tp.Shutdown(context.Background())
	})
	h.cfg = idemotel.Config{MeterProvider: mp, TracerProvider: h.tp}
	obs, err := idemotel.New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.obs = obs
	return h
}

// metrics collects this package's metrics by name, and fails t if any
// attribute of any data point holds a key.
func (h *harness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != idemotel.ScopeName {
			t.Errorf("metrics in scope %q; want only %q", sm.Scope.Name, idemotel.ScopeName)
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
			for _, set := range attrSets(m) {
				noSecret(t, "metric "+m.Name, set.ToSlice())
			}
		}
	}
	return out
}

func attrSets(m metricdata.Metrics) []attribute.Set {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	}
	return sets
}

func noSecret(t *testing.T, where string, kvs []attribute.KeyValue) {
	t.Helper()
	for _, kv := range kvs {
		if strings.Contains(kv.Value.Emit(), secret) {
			t.Errorf("%s: attribute %s = %q holds a key", where, kv.Key, kv.Value.Emit())
		}
	}
}

// attrs renders a set as "k=v,k=v" in key order, for comparisons.
func attrs(kvs ...attribute.KeyValue) string {
	s := attribute.NewSet(kvs...)
	return s.Encoded(attribute.DefaultEncoder())
}

// counter returns a monotonic cumulative int64 sum's values by attribute
// set, failing t if the metric has another shape or unit.
func counter(t *testing.T, ms map[string]metricdata.Metrics, name, unit string) map[string]int64 {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		t.Fatalf("metric %s not exported; have %v", name, names(ms))
	}
	if m.Unit != unit || m.Description == "" {
		t.Errorf("%s: unit %q, description %q; want unit %q and a description", name, m.Unit, m.Description, unit)
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok || !sum.IsMonotonic || sum.Temporality != metricdata.CumulativeTemporality {
		t.Fatalf("%s: %T (monotonic %v); want a monotonic cumulative Sum[int64]", name, m.Data, ok && sum.IsMonotonic)
	}
	out := map[string]int64{}
	for _, p := range sum.DataPoints {
		out[p.Attributes.Encoded(attribute.DefaultEncoder())] = p.Value
	}
	return out
}

// histogram returns a float64 histogram's counts by attribute set, failing
// t if the metric is not one in seconds with the given bucket boundaries.
func histogram(t *testing.T, ms map[string]metricdata.Metrics, name string, bounds []float64) map[string]uint64 {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		t.Fatalf("metric %s not exported; have %v", name, names(ms))
	}
	if m.Unit != "s" || m.Description == "" {
		t.Errorf("%s: unit %q, description %q; want unit s and a description", name, m.Unit, m.Description)
	}
	hist, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: %T; want a Histogram[float64]", name, m.Data)
	}
	out := map[string]uint64{}
	for _, p := range hist.DataPoints {
		if !slices.Equal(p.Bounds, bounds) {
			t.Errorf("%s: bounds %v; want %v", name, p.Bounds, bounds)
		}
		if p.Sum < 0 || p.Count == 0 {
			t.Errorf("%s %s: count %d, sum %v", name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Count, p.Sum)
		}
		out[p.Attributes.Encoded(attribute.DefaultEncoder())] = p.Count
	}
	return out
}

func names(ms map[string]metricdata.Metrics) []string {
	var out []string
	for n := range ms {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

var (
	callBounds  = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60}
	waitBounds  = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	storeBounds = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	passBounds  = []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600}
)

// faultyStore fails the operations it is told to, as a database that does
// not answer would.
type faultyStore struct {
	idempotency.Store
	mu        sync.Mutex
	down      bool // Claim and DeleteExpired fail
	holdRenew bool // renewals succeed without renewing
}

var errDown = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}

func (s *faultyStore) Claim(ctx context.Context, r idempotency.ClaimRequest) (idempotency.ClaimResult, error) {
	s.mu.Lock()
	fail := s.down
	s.mu.Unlock()
	if fail {
		return idempotency.ClaimResult{}, errDown
	}
	return s.Store.Claim(ctx, r)
}

func (s *faultyStore) Renew(ctx context.Context, l idempotency.Lock, lease, ttl time.Duration) error {
	s.mu.Lock()
	hold := s.holdRenew
	s.mu.Unlock()
	if hold {
		return nil
	}
	return s.Store.Renew(ctx, l, lease, ttl)
}

func (s *faultyStore) DeleteExpired(ctx context.Context, limit int) (int64, error) {
	s.mu.Lock()
	fail := s.down
	s.mu.Unlock()
	if fail {
		return 0, errDown
	}
	return s.Store.DeleteExpired(ctx, limit)
}

func (s *faultyStore) set(f func(*faultyStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func sqliteStore(t *testing.T) *faultyStore {
	return &faultyStore{Store: testdb.NewStore(t, testdb.Backends()[0])}
}

// ourSpans returns the ended spans of this package's tracer, by outcome.
func (h *harness) ourSpans(t *testing.T) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	out := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range h.spans.Ended() {
		if s.InstrumentationScope().Name != idemotel.ScopeName {
			continue
		}
		outcome := attrOf(s.Attributes(), idemotel.AttrOutcome).AsString()
		if _, dup := out[outcome]; dup {
			t.Errorf("two spans with outcome %q", outcome)
		}
		out[outcome] = s
		noSecret(t, "span "+outcome, s.Attributes())
		for _, e := range s.Events() {
			noSecret(t, "span "+outcome+" event "+e.Name, e.Attributes)
		}
		if strings.Contains(s.Status().Description, secret) {
			t.Errorf("span %s: status description %q holds a key", outcome, s.Status().Description)
		}
	}
	return out
}

func attrOf(kvs []attribute.KeyValue, k attribute.Key) attribute.Value {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func eventNames(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.Name)
	}
	return out
}

// TestCallsAsExported runs a Manager on SQLite through the outcomes a
// service meets every day and checks the metrics and spans exported.
func TestCallsAsExported(t *testing.T) {
	h := newHarness(t)
	store := sqliteStore(t)
	m, err := idempotency.New[charge, receipt](store, idempotency.Config{Namespace: "payments", Observer: h.obs, MaxResponseBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := h.tp.Tracer("test").Start(context.Background(), "POST /charges")

	var fnSpan trace.SpanContext
	if _, err := m.Do(ctx, secret+"a", charge{Amount: 1}, func(ctx context.Context, _ charge) (receipt, error) {
		_, span := h.tp.Tracer("test").Start(ctx, "charge card")
		fnSpan = span.SpanContext()
		span.End()
		return receipt{ID: "ch_1"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Do(ctx, secret+"a", charge{Amount: 1}, okFn); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Do(ctx, secret+"a", charge{Amount: 2}, okFn); !errors.Is(err, idempotency.ErrRequestMismatch) {
		t.Fatalf("another request: %v", err)
	}
	declined := errors.New("card declined")
	if _, err := m.Do(ctx, secret+"b", charge{}, func(context.Context, charge) (receipt, error) { return receipt{}, declined }); !errors.Is(err, declined) {
		t.Fatalf("fn error: %v", err)
	}

	// In progress: another Manager, not observed, holds the key.
	other, err := idempotency.New[charge, receipt](store.Store, idempotency.Config{Namespace: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_, _ = other.Do(context.Background(), secret+"c", charge{}, func(context.Context, charge) (receipt, error) {
			close(held)
			<-release
			return receipt{}, nil
		})
	}()
	<-held
	if _, err := m.Do(ctx, secret+"c", charge{}, okFn); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("held key: %v", err)
	}
	close(release)
	<-done

	store.set(func(s *faultyStore) { s.down = true })
	if _, err := m.Do(ctx, secret+"d", charge{}, okFn); !errors.Is(err, errDown) {
		t.Fatalf("store down: %v", err)
	}
	store.set(func(s *faultyStore) { s.down = false })

	if _, err := m.Do(ctx, secret+"e", charge{}, func(context.Context, charge) (receipt, error) {
		return receipt{ID: strings.Repeat("x", 100)}, nil
	}); !errors.Is(err, idempotency.ErrResponseTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	parent.End()

	// Metrics.
	ms := h.metrics(t)
	ns := idemotel.AttrNamespace.String("payments")
	notTx := idemotel.AttrTransactional.Bool(false)
	outcomes := []idempotency.Outcome{
		idempotency.OutcomeExecuted, idempotency.OutcomeReplayed, idempotency.OutcomeMismatch, idempotency.OutcomeFnError,
		idempotency.OutcomeInProgress, idempotency.OutcomeStoreError, idempotency.OutcomeNotRecorded,
	}
	wantCalls := map[string]int64{}
	wantCounts := map[string]uint64{}
	for _, o := range outcomes {
		k := attrs(ns, notTx, idemotel.AttrOutcome.String(string(o)))
		wantCalls[k], wantCounts[k] = 1, 1
	}
	if got := counter(t, ms, "idempotency.calls", "{call}"); !maps(got, wantCalls) {
		t.Errorf("idempotency.calls = %v; want %v", got, wantCalls)
	}
	if got := histogram(t, ms, "idempotency.call.duration", callBounds); !maps(got, wantCounts) {
		t.Errorf("idempotency.call.duration counts = %v; want %v", got, wantCounts)
	}
	for _, name := range []string{"idempotency.wait.duration", "idempotency.takeovers", "idempotency.lease.losses"} {
		if sets := attrSets(ms[name]); len(sets) != 0 {
			t.Errorf("%s has data points %v; no call waited, took over or lost its lease", name, sets)
		}
	}
	op := idemotel.AttrOperation.String
	// Seven claims, one refused by the store; one completion (the first
	// call); three releases: fn's error, the response too large, and the
	// clean-up after the failed claim, which finds no row (a lost lease:
	// an answer, not an error).
	wantOps := map[string]uint64{
		attrs(ns, op("claim")): 6,
		attrs(ns, op("claim"), idemotel.AttrErrorType.String("*net.OpError")): 1,
		attrs(ns, op("complete")): 1,
		attrs(ns, op("release")):  3,
	}
	if got := histogram(t, ms, "idempotency.store.operation.duration", storeBounds); !maps(got, wantOps) {
		t.Errorf("idempotency.store.operation.duration counts = %v; want %v", got, wantOps)
	}

	// Spans.
	spans := h.ourSpans(t)
	if len(spans) != len(outcomes) {
		t.Fatalf("%d spans; want one per call, %d", len(spans), len(outcomes))
	}
	type want struct {
		status  codes.Code
		errType string
		events  []string
	}
	wants := map[idempotency.Outcome]want{
		idempotency.OutcomeExecuted:    {codes.Unset, "", []string{"idempotency.claim", "idempotency.complete"}},
		idempotency.OutcomeReplayed:    {codes.Unset, "", []string{"idempotency.claim"}},
		idempotency.OutcomeMismatch:    {codes.Unset, "", []string{"idempotency.claim"}},
		idempotency.OutcomeInProgress:  {codes.Unset, "", []string{"idempotency.claim"}},
		idempotency.OutcomeFnError:     {codes.Error, "*errors.errorString", []string{"idempotency.claim", "idempotency.release", "exception"}},
		idempotency.OutcomeStoreError:  {codes.Error, "*net.OpError", []string{"idempotency.claim", "idempotency.release", "exception"}},
		idempotency.OutcomeNotRecorded: {codes.Error, "idempotency.ErrResponseTooLarge", []string{"idempotency.claim", "idempotency.release", "exception"}},
	}
	for outcome, w := range wants {
		s, ok := spans[string(outcome)]
		if !ok {
			t.Errorf("no span with outcome %q", outcome)
			continue
		}
		if s.Name() != "idempotency.Do payments" || s.SpanKind() != trace.SpanKindInternal {
			t.Errorf("%s: span %q of kind %v; want \"idempotency.Do payments\", internal", outcome, s.Name(), s.SpanKind())
		}
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("%s: parent %v; want the caller's span %v", outcome, s.Parent().SpanID(), parent.SpanContext().SpanID())
		}
		got := s.Attributes()
		if attrOf(got, idemotel.AttrNamespace).AsString() != "payments" || attrOf(got, idemotel.AttrTransactional).Type() != attribute.BOOL ||
			attrOf(got, idemotel.AttrTransactional).AsBool() || attrOf(got, idemotel.AttrTookOver).Type() != attribute.BOOL {
			t.Errorf("%s: attributes %v; want namespace payments, transactional false, took_over", outcome, got)
		}
		if r := attrOf(got, idemotel.AttrReplayed); r.Type() != attribute.BOOL || r.AsBool() != (outcome == idempotency.OutcomeReplayed) {
			t.Errorf("%s: replayed = %v", outcome, r.Emit())
		}
		if s.Status().Code != w.status {
			t.Errorf("%s: status %v %q; want %v", outcome, s.Status().Code, s.Status().Description, w.status)
		}
		if et := attrOf(got, idemotel.AttrErrorType).AsString(); et != w.errType {
			t.Errorf("%s: error.type %q; want %q", outcome, et, w.errType)
		}
		if ev := eventNames(s); !slices.Equal(ev, w.events) {
			t.Errorf("%s: events %v; want %v", outcome, ev, w.events)
		}
		for _, e := range s.Events() {
			if strings.HasPrefix(e.Name, "idempotency.") {
				if d := attrOf(e.Attributes, idemotel.AttrOperationDuration); d.Type() != attribute.FLOAT64 || d.AsFloat64() < 0 {
					t.Errorf("%s: event %s has duration %v", outcome, e.Name, d.Emit())
				}
			}
		}
	}
	// The library's error quotes the key; the span has it replaced.
	if d := spans["store_error"].Status().Description; !strings.Contains(d, `claim key "[key]"`) || !strings.Contains(d, "connection refused") {
		t.Errorf("store error: status description %q; want the error with the key replaced", d)
	}
	if d := spans["fn_error"].Status().Description; d != "card declined" {
		t.Errorf("fn error: status description %q; want fn's error", d)
	}
	if claim := spans["store_error"].Events()[0]; attrOf(claim.Attributes, idemotel.AttrErrorType).AsString() != "*net.OpError" {
		t.Errorf("failed claim's event: %v; want error.type *net.OpError", claim.Attributes)
	}
	// fn runs inside the call's span.
	if executed := spans["executed"]; !fnSpan.IsValid() || fnParent(h, fnSpan) != executed.SpanContext().SpanID() {
		t.Errorf("fn's span is a child of %v; want the call's span %v", fnParent(h, fnSpan), executed.SpanContext().SpanID())
	}
}

func fnParent(h *harness, sc trace.SpanContext) trace.SpanID {
	for _, s := range h.spans.Ended() {
		if s.SpanContext().SpanID() == sc.SpanID() {
			return s.Parent().SpanID()
		}
	}
	return trace.SpanID{}
}

func maps[V comparable](got, want map[string]V) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

// TestTakeoverAndLostLease: a call whose renewals are held back loses its
// lease to a call that waited and took the lapsed claim over.
func TestTakeoverAndLostLease(t *testing.T) {
	h := newHarness(t)
	store := sqliteStore(t)
	store.set(func(s *faultyStore) { s.holdRenew = true })
	a, err := idempotency.New[charge, receipt](store, idempotency.Config{Namespace: "payments", Lease: 60 * time.Millisecond, Observer: h.obs})
	if err != nil {
		t.Fatal(err)
	}
	b, err := idempotency.New[charge, receipt](store.Store, idempotency.Config{Namespace: "payments", Wait: time.Minute, Observer: h.obs})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	started, aDone := make(chan struct{}), make(chan error)
	go func() {
		_, err := a.Do(ctx, secret+"k", charge{}, func(ctx context.Context, _ charge) (receipt, error) {
			close(started)
			<-ctx.Done()
			return receipt{}, nil
		})
		aDone <- err
	}()
	<-started
	if _, err := b.Do(ctx, secret+"k", charge{}, okFn); err != nil {
		t.Fatal(err)
	}
	store.set(func(s *faultyStore) { s.holdRenew = false })
	if err := <-aDone; !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Fatalf("first call: %v; want ErrLeaseLost", err)
	}

	ms := h.metrics(t)
	ns, notTx := idemotel.AttrNamespace.String("payments"), idemotel.AttrTransactional.Bool(false)
	executed := attrs(ns, notTx, idemotel.AttrOutcome.String("executed"))
	lost := attrs(ns, notTx, idemotel.AttrOutcome.String("lease_lost"))
	if got := counter(t, ms, "idempotency.calls", "{call}"); !maps(got, map[string]int64{executed: 1, lost: 1}) {
		t.Errorf("idempotency.calls = %v; want one executed, one lease_lost", got)
	}
	if got := histogram(t, ms, "idempotency.wait.duration", waitBounds); !maps(got, map[string]uint64{executed: 1}) {
		t.Errorf("idempotency.wait.duration counts = %v; want the call that waited", got)
	}
	if got := counter(t, ms, "idempotency.takeovers", "{takeover}"); !maps(got, map[string]int64{attrs(ns, notTx): 1}) {
		t.Errorf("idempotency.takeovers = %v; want 1", got)
	}
	if got := counter(t, ms, "idempotency.lease.losses", "{loss}"); !maps(got, map[string]int64{attrs(ns, notTx): 1}) {
		t.Errorf("idempotency.lease.losses = %v; want 1", got)
	}
	if got := histogram(t, ms, "idempotency.store.operation.duration", storeBounds); got[attrs(ns, idemotel.AttrOperation.String("renew"))] == 0 {
		t.Errorf("no renewal timed: %v", got)
	}

	spans := h.ourSpans(t)
	taker := spans["executed"]
	if taker == nil || !attrOf(taker.Attributes(), idemotel.AttrTookOver).AsBool() || attrOf(taker.Attributes(), idemotel.AttrWaited).AsFloat64() <= 0 {
		t.Errorf("taking over: span %v; want took_over and waited", taker)
	}
	loser := spans["lease_lost"]
	if loser == nil || loser.Status().Code != codes.Error || !slices.Contains(eventNames(loser), "idempotency.lease_lost") ||
		attrOf(loser.Attributes(), idemotel.AttrErrorType).AsString() != "idempotency.ErrLeaseLost" {
		t.Fatalf("losing the lease: span %v; want status Error, error.type idempotency.ErrLeaseLost and a lease_lost event", loser)
	}
	if loser.Parent().IsValid() {
		t.Errorf("a call without a span in its context: parent %v; want a root span", loser.Parent())
	}
}

// TestTxManagerCalls: a TxManager's calls are marked transactional, and
// its commit is timed.
func TestTxManagerCalls(t *testing.T) {
	h := newHarness(t)
	store := testdb.NewStore(t, testdb.Backends()[0])
	m, err := idempotency.NewTx[charge, receipt, *sqlx.Tx](store, idempotency.Config{Namespace: "ledger", Observer: h.obs})
	if err != nil {
		t.Fatal(err)
	}
	fn := func(context.Context, *sqlx.Tx, charge) (receipt, error) { return receipt{ID: "ch_1"}, nil }
	for range 2 {
		if _, err := m.Do(context.Background(), secret+"tx", charge{}, fn); err != nil {
			t.Fatal(err)
		}
	}
	ms := h.metrics(t)
	ns, tx := idemotel.AttrNamespace.String("ledger"), idemotel.AttrTransactional.Bool(true)
	want := map[string]int64{
		attrs(ns, tx, idemotel.AttrOutcome.String("executed")): 1,
		attrs(ns, tx, idemotel.AttrOutcome.String("replayed")): 1,
	}
	if got := counter(t, ms, "idempotency.calls", "{call}"); !maps(got, want) {
		t.Errorf("idempotency.calls = %v; want %v", got, want)
	}
	ops := histogram(t, ms, "idempotency.store.operation.duration", storeBounds)
	if ops[attrs(ns, idemotel.AttrOperation.String("commit"))] != 1 {
		t.Errorf("store operations %v; want one commit", ops)
	}
	for outcome, s := range h.ourSpans(t) {
		if s.Name() != "idempotency.Do ledger" || !attrOf(s.Attributes(), idemotel.AttrTransactional).AsBool() {
			t.Errorf("%s: span %q, attributes %v; want \"idempotency.Do ledger\", transactional", outcome, s.Name(), s.Attributes())
		}
	}
}

// TestCleanerPasses runs real Cleaners, one on a store with expired records
// and one on a store that fails, and checks what their passes exported.
func TestCleanerPasses(t *testing.T) {
	h := newHarness(t)
	hook, err := idemotel.NewCleanerHook(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := sqliteStore(t)
	m, err := idempotency.New[charge, receipt](store, idempotency.Config{TTL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const records = 3
	for i := range records {
		if _, err := m.Do(context.Background(), secret+string(rune('a'+i)), charge{}, okFn); err != nil {
			t.Fatal(err)
		}
	}

	// run starts a Cleaner whose passes go to the hook, and stops it once
	// until returns true. It counts the passes the hook saw.
	run := func(s idempotency.Store, until func(idempotency.PassStats) bool) (finished, failed int) {
		var mu sync.Mutex
		enough, done := make(chan struct{}), false
		c := idempotency.NewCleaner(s, idempotency.CleanerConfig{Interval: 10 * time.Millisecond, OnPass: func(p idempotency.PassStats) {
			hook(p)
			mu.Lock()
			defer mu.Unlock()
			if p.Finished {
				finished++
			} else {
				failed++
			}
			if !done && until(p) {
				close(enough)
				done = true
			}
		}})
		c.Start()
		select {
		case <-enough:
		case <-time.After(30 * time.Second):
			t.Error("the cleaner did not get there in 30s")
		}
		c.Stop()
		mu.Lock()
		defer mu.Unlock()
		return finished, failed
	}
	var deleted int64
	finished, _ := run(store, func(p idempotency.PassStats) bool { deleted += p.Deleted; return deleted >= records })
	broken := sqliteStore(t)
	broken.set(func(s *faultyStore) { s.down = true })
	_, failed := run(broken, func(idempotency.PassStats) bool { return true })

	ms := h.metrics(t)
	if got := counter(t, ms, "idempotency.cleaner.deleted.records", "{record}"); !maps(got, map[string]int64{"": records}) {
		t.Errorf("idempotency.cleaner.deleted.records = %v; want %d", got, records)
	}
	fin := attrs(idemotel.AttrCleanerOutcome.String("finished"))
	fail := attrs(idemotel.AttrCleanerOutcome.String("failed"), idemotel.AttrErrorType.String("*net.OpError"))
	if got := counter(t, ms, "idempotency.cleaner.passes", "{pass}"); !maps(got, map[string]int64{fin: int64(finished), fail: int64(failed)}) {
		t.Errorf("idempotency.cleaner.passes = %v; want %d finished, %d failed", got, finished, failed)
	}
	if got := histogram(t, ms, "idempotency.cleaner.pass.duration", passBounds); !maps(got, map[string]uint64{fin: uint64(finished), fail: uint64(failed)}) {
		t.Errorf("idempotency.cleaner.pass.duration counts = %v; want %d finished, %d failed", got, finished, failed)
	}
}
