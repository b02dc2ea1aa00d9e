// Package idemotel implements [idempotency.Observer] on OpenTelemetry: metrics
// of every call, store operation, lost lease and cleaning pass, and one span
// per call.
//
//	obs, err := idemotel.New(idemotel.Config{}) // the global providers
//	m, err := idempotency.New[Req, Resp](store, idempotency.Config{Namespace: "payments", Observer: obs})
//
//	onPass, err := idemotel.NewCleanerHook(idemotel.Config{})
//	cleaner := idempotency.NewCleaner(store, idempotency.CleanerConfig{OnPass: onPass})
//
// The same Observer goes in idemhttp.Config.Observer. This package imports
// only OpenTelemetry's API; the application picks the SDK and the exporter
// (the Prometheus example shows one).
//
// # Metrics
//
// The meter's instrumentation scope is [ScopeName]. Names follow
// OpenTelemetry's semantic conventions; a Prometheus exporter turns
// idempotency.call.duration (unit s) into idempotency_call_duration_seconds
// and idempotency.calls into idempotency_calls_total.
//
//	name                                  instrument  unit        attributes
//	idempotency.calls                     counter     {call}      namespace, outcome, transactional, [cached]
//	idempotency.call.duration             histogram   s           namespace, outcome, transactional, [cached]
//	idempotency.wait.duration             histogram   s           namespace, outcome, transactional
//	idempotency.takeovers                 counter     {takeover}  namespace, transactional
//	idempotency.lease.losses              counter     {loss}      namespace, transactional
//	idempotency.store.operation.duration  histogram   s           namespace, operation.name, error.type
//	idempotency.cleaner.deleted.records   counter     {record}    (none)
//	idempotency.cleaner.passes            counter     {pass}      cleaner.outcome, error.type
//	idempotency.cleaner.pass.duration     histogram   s           cleaner.outcome, error.type
//
// Attribute names are written without their "idempotency." prefix above:
// namespace is idempotency.namespace, and so on (see [AttrNamespace] and the
// other Attr constants). error.type is set only on failures.
//
//   - idempotency.calls counts calls by outcome (an [idempotency.Outcome]:
//     executed, replayed, mismatch, in_progress, fn_error,
//     permanent_failure, not_recorded, lease_lost, store_error, invalid,
//     canceled, panic, error). The replay rate is
//     replayed / (executed + replayed). cached is set (to true) only on
//     the replays and mismatches that Config.Cache answered without a
//     store read, so the cache's hit rate is the share of replays that
//     carry it.
//     idempotency.call.duration counts the
//     same calls; the counter is there so that a view may drop the
//     histogram's buckets and keep the counts.
//   - idempotency.wait.duration records only calls that waited for another
//     call of their key (Config.Wait): in this process, or polling the
//     store.
//   - idempotency.takeovers counts claims of keys whose owner's lease had
//     lapsed: each is a call that crashed or was cut off mid-flight.
//   - idempotency.lease.losses counts calls that lost their lease while fn
//     ran: fn's context was cancelled and its outcome not recorded. Any
//     rise deserves a look (a Lease too short for fn, a store too slow to
//     renew in time).
//   - idempotency.store.operation.duration times claim, renew, complete and
//     release (TxManager: claim, complete and commit). A lost lease is the
//     store's answer, not its failure: it carries no error.type.
//   - The cleaner's metrics come from [NewCleanerHook]. A pass is
//     "finished" when it reached a batch that came back short (no expired
//     record left), "failed" otherwise.
//
// error.type is, in this order: what an ErrorType() string method in the
// error's chain returns; the name of a sentinel it wraps, such as
// "idempotency.ErrNotRecorded" or "context.DeadlineExceeded"; else the Go
// type of its innermost cause, such as "*pq.Error" or "*net.OpError".
//
// Metrics never carry a key, a scope, a tenant or a token: their number is
// unbounded and they may be personal data. The attributes are as many as
// namespaces × outcomes. Measurements are made with the call's context, so
// an SDK that samples exemplars links them to the call's trace.
//
// # Spans
//
// Each call is one span, a child of the span in the caller's context, of
// kind internal, named "idempotency.Do <namespace>" ("idempotency.Do" in
// the empty namespace) for every method (Do, DoResult, DoIn, DoInResult) of
// Manager and TxManager. It starts with idempotency.namespace and
// idempotency.transactional, and ends with idempotency.outcome,
// idempotency.replayed, idempotency.cached, idempotency.took_over and, if
// the call waited,
// idempotency.waited (seconds). fn runs inside it: spans that fn starts
// from its context are its children.
//
// Each store operation adds an event named after it (idempotency.claim,
// idempotency.renew, idempotency.complete, idempotency.release,
// idempotency.commit) with idempotency.operation.name,
// idempotency.operation.duration (seconds) and, if it failed, error.type.
// A lost lease adds an idempotency.lease_lost event.
//
// The span's status is Error, with error.type, an "exception" event and the
// error's message as description, when the call failed: fn_error,
// permanent_failure, not_recorded, lease_lost, store_error, panic and
// error. fn's own error is an Error too: the call did not do what was
// asked. The other outcomes are answers and leave the status Unset:
// executed, replayed (also the replay of a recorded failure, whose first
// call's span has the error), mismatch, in_progress and invalid (the
// caller's mistakes, like an HTTP 4xx), and canceled (the caller gave up).
//
// Error messages of this module quote the key; the span gets them with the
// key replaced by "[key]". An error of fn's own is recorded as it is,
// apart from that replacement: keep secrets out of fn's error messages, or
// pass a noop TracerProvider.
package idemotel
