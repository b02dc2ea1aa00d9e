// Package idemhttp is net/http middleware that makes handlers safe to retry
// with the Idempotency-Key request header, as specified by the IETF draft
// "The Idempotency-Key HTTP Header Field"
// (draft-ietf-httpapi-idempotency-key-header) and as Stripe's API does it.
//
// A client that sends a POST and times out cannot know whether it took
// effect. With this middleware it retries with the same key: if the first
// attempt finished, the retry gets its recorded response back and the
// handler does not run again; if it is still running, the retry is told so;
// if it failed in a way worth retrying, the retry runs it again.
//
// # Use
//
// [New] takes an [idempotency.Store] (package sqlstore has one for
// PostgreSQL, MySQL and SQLite) and a [Config], and returns middleware of the
// standard shape func(http.Handler) http.Handler, which http.ServeMux routes
// and routers such as chi take as is:
//
//	idem, err := idemhttp.New(store, idemhttp.Config{
//		Scope: func(r *http.Request) string { return accountID(r.Context()) },
//	})
//	mux.Handle("POST /payments", authenticate(idem(payments)))
//
// Always set [Config.Scope] to who is asking (the authenticated account,
// the API key's owner, the tenant), and put authentication outside the
// middleware so the scope is known when it runs. The scope is part of every
// key's identity: two clients that send the same key (by accident, or
// because one guessed the other's) each get their own execution and their
// own response, and nobody is ever replayed a response recorded for someone
// else. Without a Scope all clients share one key space.
//
// # What a covered request gets
//
// The middleware covers the methods in [Config.Methods] (POST and PATCH by
// default); other requests pass through untouched. For a covered request:
//
//	situation                                         status                 problem type
//	new key                                           the handler's          -
//	key done, same request                            the recorded one (*)   -
//	no key header                                     400                    idempotency-key-missing
//	no key header, Config.Optional                    the handler's (**)     -
//	invalid key                                       400                    idempotency-key-invalid
//	body over Config.MaxBodyBytes                     413                    request-too-large
//	body could not be read                            400                    request-body-unreadable
//	key used with a different request                 422                    request-mismatch
//	same request in flight                            409 + Retry-After      request-in-progress
//	same request in flight, Config.Wait set           the recorded one (*)   -
//	store unavailable (the handler did not run)       503 + Retry-After      store-unavailable
//	recorded response unreadable                      500                    store-unavailable
//
//	(*)  with Idempotent-Replayed: true; with Wait, 409 if Wait runs out first
//	(**) nothing recorded: the request is not idempotent
//
// The problem types are the constants [ProblemKeyMissing],
// [ProblemKeyInvalid], [ProblemRequestTooLarge], [ProblemBodyUnreadable],
// [ProblemRequestMismatch], [ProblemRequestInProgress] and
// [ProblemStoreUnavailable], each https://idemkit.dev/problems/ followed by
// the name above.
//
// Every error is an RFC 9457 application/problem+json body ([Problem]) with
// a stable type URI, a title and a detail that says what to do; 409 and 503
// carry Retry-After. These answers come from the middleware itself and are
// never recorded. The handler's own 4xx answers are recorded like any other.
//
// # Keys
//
// The key header ([Config.Header], Idempotency-Key by default) must appear
// once. The draft makes its value a Structured Field string ("..."), while
// most clients, Stripe's among them, send a bare value: both are accepted,
// and "abc" and abc are the same key. A key is 1 to [MaxKeyLen] (222) bytes
// of UTF-8 after unquoting, without control characters; a quoted key is
// printable ASCII with \" and \\ escapes. Keys are compared as exact bytes.
// Clients should send a fresh random value, such as a UUID, for each new
// request and the same value for its retries.
//
// The stored key is a 32-hex-digit digest of the scope, a colon and the
// client's key, within the namespace [Config.Namespace]: a long scope never
// shortens the key a client may send, and no scope and key can be spliced
// into another's. [StoredKey] computes it, for operators who look a key
// up or forget it (idempotency.Inspector, cmd/idemctl's -scope).
//
// # The request fingerprint
//
// The same key with a different request is refused with 422, so a client bug
// that reuses a key cannot silently get another request's response. The
// fingerprint covers the method, the path (escaped form), the raw query
// (parameter order counts), the headers in [Config.FingerprintHeaders]
// (Content-Type by default; a header sent empty differs from one not sent)
// and the body. The middleware reads the body up to [Config.MaxBodyBytes]
// (1 MiB by default; a longer body, declared or found, gets 413 without
// being read further), then gives the handler a request whose body reads the
// same bytes again. The Host header is not part of the fingerprint.
//
// # What is recorded
//
// The handler writes to a buffer; once it returns, the response is recorded
// (when it should be) and then sent to the client. A response is recorded as
// its status, its body, and the headers in [Config.ReplayHeaders]
// ([DefaultReplayHeaders]: those that describe the body or the created
// resource, such as Content-Type, Location and ETag). Set-Cookie is not in
// the default list and is never replayed unless listed. A replay writes the
// recorded headers over those already set by outer middleware, adds
// Idempotent-Replayed: true, and writes the status and body byte for byte;
// the first response (unless it streamed) and its replays carry a
// Content-Length. A missing
// Content-Type is sniffed once, as net/http would, and recorded, so a replay
// carries the same one.
//
//   - 2xx, 3xx and 4xx responses are recorded and replayed until
//     [Config.TTL] (24 hours by default) has passed.
//   - 5xx responses are not recorded: the key is released, so the client's
//     retry runs the handler again. Set [Config.RecordServerErrors] to
//     record them too, as Stripe does.
//   - 408, 425 and 429 are never recorded: they ask the client to retry the
//     same request later, and replaying them would make that retry fail for
//     the whole TTL.
//   - A response body over [Config.MaxResponseBytes] (1 MiB by default) is
//     sent to the client but not recorded: the key is released and a
//     warning is logged to [Config.Logger].
//   - A handler that panics records nothing: the key is released and the
//     panic continues to net/http (which logs it and drops the connection).
//     Nothing it wrote reaches the client, unless it had flushed.
//   - A 1xx informational response (103 Early Hints) goes to the client at
//     once and is not recorded.
//
// # Streaming, flushing and hijacking
//
// A handler that flushes (through [http.Flusher] or
// [http.ResponseController]) streams: the flush sends the status, headers
// and everything buffered so far, and later writes go straight to the
// client. Its response is still recorded when it ends within
// Config.MaxResponseBytes, and a replay sends it whole, at once. So a
// server-sent-events or progress stream keeps working on a covered route,
// and a retry gets the complete stream. A body that outgrows the limit is
// streamed from that point on too, which keeps memory bounded.
//
// The ResponseWriter a covered handler gets implements Unwrap, so
// [http.ResponseController] reaches the connection for SetReadDeadline,
// SetWriteDeadline and EnableFullDuplex. Hijack is refused with
// [ErrHijackCovered], since what is written to a hijacked connection cannot
// be recorded: WebSocket upgrades are GET requests, outside the default
// methods.
//
// # Concurrency and failures
//
// All handlers wrapped by one middleware share one [idempotency.Manager], so
// a key is claimed atomically in the store before the handler runs, and at
// most one request per identity runs it at a time across every process that
// shares the store. The claim is a lease renewed while the handler runs; if
// the process dies, the key is free again one [Config.Lease] later. If the
// lease is lost anyway (the handler ran far past a lease whose renewals
// failed), the handler's context is cancelled and its response is sent but
// not recorded. If the response cannot be written to the store after the
// handler ran, it is still sent to the client, and an error is logged.
//
// With [Config.Wait] set, duplicates wait for the running request and get
// its response as a replay; within one process they wait on the running
// request without polling the store. When the running request's response is
// not recorded (a 5xx), a waiting duplicate runs the handler itself.
//
// Put middleware that changes the response on the wire, compression first,
// outside this one: what is recorded is what the handler wrote. Trailers are
// not supported on covered routes.
package idemhttp
