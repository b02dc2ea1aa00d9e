package idemhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/idemkit/idempotency"
)

// New returns middleware that makes the handlers it wraps safe to retry:
// each covered request with an idempotency key runs its handler at most once
// per (Config.Namespace, Config.Scope, key), and every retry gets the
// recorded response back. See the package documentation for the full
// behaviour.
//
// The middleware has the standard shape, so http.ServeMux routes and
// routers such as chi take it as is. All handlers wrapped by one middleware
// share one [idempotency.Manager]: a key reused on another route is a
// different request (422). The middleware and the handlers it returns are
// safe for concurrent use. New validates cfg and touches no storage: apply
// the store's schema first (sqlstore's Store.Migrate).
func New(store idempotency.Store, cfg Config) (func(http.Handler) http.Handler, error) {
	s, mc, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	mgr, err := idempotency.New[requestFingerprint, recordedResponse](store, mc)
	if err != nil {
		return nil, fmt.Errorf("idemhttp: %w", err)
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("idemhttp: middleware applied to a nil handler")
		}
		return &handler{s: s, mgr: mgr, next: next}
	}, nil
}

type handler struct {
	s    settings
	mgr  *idempotency.Manager[requestFingerprint, recordedResponse]
	next http.Handler
}

// Reasons a response that reached the client was not recorded; the key is
// released so a retry runs the handler again.
var (
	errServerError   = errors.New("5xx response not recorded (Config.RecordServerErrors is false)")
	errRetryStatus   = errors.New("response status asks the client to retry the same request")
	errResponseLarge = errors.New("response body over Config.MaxResponseBytes")
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(h.s.methods, r.Method) {
		h.next.ServeHTTP(w, r)
		return
	}
	values := r.Header.Values(h.s.header)
	if len(values) == 0 {
		if h.s.optional {
			h.next.ServeHTTP(w, r)
			return
		}
		h.refuse(w, r, http.StatusBadRequest, ProblemKeyMissing,
			fmt.Sprintf("%s requests to this endpoint need an %s header: a unique value (such as a UUID) that the client reuses when it retries the request", r.Method, h.s.header))
		return
	}
	key, err := parseKey(h.s.header, values)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, ProblemKeyInvalid, err.Error())
		return
	}
	body, err := readBody(r, h.s.maxBody)
	switch {
	case errors.Is(err, errBodyTooLarge):
		h.refuse(w, r, http.StatusRequestEntityTooLarge, ProblemRequestTooLarge,
			fmt.Sprintf("the request body is over %d bytes, the most this endpoint accepts", h.s.maxBody))
		return
	case err != nil:
		h.refuse(w, r, http.StatusBadRequest, ProblemBodyUnreadable,
			"the request body could not be read to the end; send it again with the same key")
		return
	}
	scope := ""
	if h.s.scope != nil {
		scope = h.s.scope(r)
	}
	fp := fingerprintOf(r, body, h.s.fingerprintHeaders)

	// rec is set when the handler runs in this call. A panic in the handler
	// passes through DoResult (which releases the key) and on to net/http.
	var rec *recorder
	stored := storedKey(scope, key)
	res, err := h.mgr.DoResult(r.Context(), stored, fp,
		func(ctx context.Context, _ requestFingerprint) (recordedResponse, error) {
			rec = newRecorder(w, r.Method, h.s.maxResponse)
			h.next.ServeHTTP(rec, withBody(ctx, r, body))
			return h.outcome(rec)
		})
	switch {
	case rec != nil:
		rec.finish()
		if err != nil {
			h.logNotRecorded(r, key, stored, rec.status, err)
		}
	case err == nil:
		writeRecorded(w, r.Method, res.Value)
	default:
		h.writeError(w, r, key, stored, err)
	}
}

// outcome decides whether the handler's response is recorded. An error
// keeps it from being recorded and releases the key.
func (h *handler) outcome(rec *recorder) (recordedResponse, error) {
	rec.settle(nil)
	switch {
	case rec.over:
		return recordedResponse{}, errResponseLarge
	case rec.status >= 500 && !h.s.recordServerErrors:
		return recordedResponse{}, errServerError
	case rec.status == http.StatusRequestTimeout, rec.status == http.StatusTooEarly, rec.status == http.StatusTooManyRequests:
		return recordedResponse{}, errRetryStatus
	}
	return rec.recorded(h.s.replayHeaders), nil
}

// logNotRecorded says why a response that reached the client was not
// recorded.
func (h *handler) logNotRecorded(r *http.Request, key, stored string, status int, err error) {
	level := slog.LevelWarn
	msg := "idemhttp: response not recorded; the key is released and a retry runs the handler again"
	switch {
	case errors.Is(err, errServerError), errors.Is(err, errRetryStatus):
		level = slog.LevelInfo
	case errors.Is(err, idempotency.ErrLeaseLost):
		msg = "idemhttp: response not recorded: the handler outlived its lease and another request may have taken the key over"
	case errors.Is(err, idempotency.ErrNotRecorded):
		level = slog.LevelError
		msg = "idemhttp: response not recorded: the store could not be written; a retry after the lease runs out runs the handler again"
	}
	h.s.log.Log(r.Context(), level, msg, append([]any{"method", r.Method, "path", r.URL.Path, "status", status}, h.s.logAttrs(key, stored, err)...)...)
}

// writeError answers a request whose handler did not run.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, key, stored string, err error) {
	switch {
	case errors.Is(err, idempotency.ErrRequestMismatch):
		h.refuse(w, r, http.StatusUnprocessableEntity, ProblemRequestMismatch,
			fmt.Sprintf("this %s was already used with a different request (method, path, query, body or %v); use a new key for a new request", h.s.header, h.s.fingerprintHeaders))
	case errors.Is(err, idempotency.ErrInProgress):
		h.refuse(w, r, http.StatusConflict, ProblemRequestInProgress,
			fmt.Sprintf("a request with this %s is still being handled; retry after the time in Retry-After with the same key to get its response", h.s.header))
	case errors.Is(err, idempotency.ErrInvalidKey):
		h.refuse(w, r, http.StatusBadRequest, ProblemKeyInvalid, fmt.Sprintf("the %s header is not a valid key", h.s.header))
	case r.Context().Err() != nil:
		h.refuse(w, r, http.StatusServiceUnavailable, ProblemStoreUnavailable,
			"the request was cancelled before its key could be claimed; the request was not handled: retry with the same key")
	case isReplayError(err):
		h.s.log.Error("idemhttp: recorded response cannot be replayed", append([]any{"method", r.Method, "path", r.URL.Path}, h.s.logAttrs(key, stored, err)...)...)
		h.refuse(w, r, http.StatusInternalServerError, ProblemStoreUnavailable,
			"the response recorded for this key cannot be read; contact the API's operator")
	default:
		h.s.log.Error("idemhttp: idempotency store failed; request not handled", append([]any{"method", r.Method, "path", r.URL.Path}, h.s.logAttrs(key, stored, err)...)...)
		h.refuse(w, r, http.StatusServiceUnavailable, ProblemStoreUnavailable,
			"the idempotency store is unavailable, so the request was not handled; retry with the same key")
	}
}

// isReplayError reports a recorded outcome that this middleware cannot turn
// back into a response: a corrupt record, or one written by another user of
// the namespace.
func isReplayError(err error) bool {
	var se *idempotency.StoredError
	return errors.Is(err, errCorrupt) || errors.As(err, &se)
}
