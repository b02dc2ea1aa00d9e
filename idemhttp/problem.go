package idemhttp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Problem types: the stable "type" URIs of the RFC 9457 problem details the
// middleware answers with. Clients may compare them; they never change.
const (
	// ProblemKeyMissing (400): a covered request came without the key
	// header and Config.Optional is false.
	ProblemKeyMissing = "https://idemkit.dev/problems/idempotency-key-missing"
	// ProblemKeyInvalid (400): the key header is empty, sent more than
	// once, longer than [MaxKeyLen] bytes, not UTF-8, holds a control
	// character, or is a malformed quoted string.
	ProblemKeyInvalid = "https://idemkit.dev/problems/idempotency-key-invalid"
	// ProblemRequestMismatch (422): the key was already used with a
	// different request (method, path, query, fingerprinted headers or
	// body).
	ProblemRequestMismatch = "https://idemkit.dev/problems/request-mismatch"
	// ProblemRequestInProgress (409, with Retry-After): a request with this
	// key is still being handled; retry later with the same key.
	ProblemRequestInProgress = "https://idemkit.dev/problems/request-in-progress"
	// ProblemRequestTooLarge (413): the request body is over
	// Config.MaxBodyBytes.
	ProblemRequestTooLarge = "https://idemkit.dev/problems/request-too-large"
	// ProblemBodyUnreadable (400): the request body could not be read (the
	// client sent less than it announced, or went away).
	ProblemBodyUnreadable = "https://idemkit.dev/problems/request-body-unreadable"
	// ProblemStoreUnavailable (503, with Retry-After): the key could not be
	// claimed or looked up (the store failed, or the request was cancelled
	// while waiting); the handler did not run. Retry with the same key. It
	// is 500 when the recorded response exists but cannot be read.
	ProblemStoreUnavailable = "https://idemkit.dev/problems/store-unavailable"
)

// ProblemContentType is the media type of problem details (RFC 9457).
const ProblemContentType = "application/problem+json"

// ReplayedHeader is the response header set to "true" on every replayed
// response.
const ReplayedHeader = "Idempotent-Replayed"

// retryAfterSeconds is the Retry-After sent with 409 and 503: a duplicate
// usually finishes within a second, and a client that retries sooner only
// gets another 409.
const retryAfterSeconds = 1

// Problem is an RFC 9457 problem details object as the middleware writes it,
// for clients and tests to decode. Its zero value is an empty problem.
type Problem struct {
	// Type is one of the Problem* URIs.
	Type string `json:"type"`
	// Title is a short summary, the same for every problem of a Type.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail says what was wrong with this request and what to do.
	Detail string `json:"detail"`
}

var problemTitles = map[string]string{
	ProblemKeyMissing:        "Idempotency key missing",
	ProblemKeyInvalid:        "Idempotency key invalid",
	ProblemRequestMismatch:   "Idempotency key reused with a different request",
	ProblemRequestInProgress: "Request with this idempotency key in progress",
	ProblemRequestTooLarge:   "Request body too large",
	ProblemBodyUnreadable:    "Request body unreadable",
	ProblemStoreUnavailable:  "Idempotency store unavailable",
}

// Refusal describes one of the middleware's own answers to a request whose
// handler did not run: a missing or invalid key, a key reused with another
// request, a request in progress, a body too large or unreadable, or a store
// that failed. Config.Refuse receives it to write the answer in the API's
// own error format. Its zero value describes no refusal.
type Refusal struct {
	// Status is the HTTP status code: 400, 409, 413, 422, 500 or 503.
	Status int
	// Type is one of the Problem* URIs: which refusal this is.
	Type string
	// Title is a short summary, the same for every refusal of a Type.
	Title string
	// Detail says what was wrong with this request and what to do.
	Detail string
	// RetryAfter is how long the client should wait before it retries with
	// the same key (409 and 503); zero when a retry with the same request
	// cannot succeed. The middleware sets the Retry-After header from it
	// before Config.Refuse is called.
	RetryAfter time.Duration
}

// Problem returns the refusal as RFC 9457 problem details, as the
// middleware writes it by default.
func (f Refusal) Problem() Problem {
	return Problem{Type: f.Type, Title: f.Title, Status: f.Status, Detail: f.Detail}
}

// refuse answers a request whose handler did not run, with Config.Refuse
// or as problem details. It is never recorded.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, status int, typ, detail string) {
	f := Refusal{Status: status, Type: typ, Title: problemTitles[typ], Detail: detail}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	if status == http.StatusConflict || status == http.StatusServiceUnavailable {
		f.RetryAfter = retryAfterSeconds * time.Second
		hdr.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if h.s.refuse != nil {
		h.s.refuse(w, r, f)
		return
	}
	WriteProblem(w, f)
}

// WriteProblem writes f as RFC 9457 problem details
// (application/problem+json): what the middleware writes when
// Config.Refuse is nil, for a Refuse that keeps the default for some
// refusals.
func WriteProblem(w http.ResponseWriter, f Refusal) {
	body, _ := json.Marshal(f.Problem()) // cannot fail: strings and an int
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(f.Status)
	_, _ = w.Write(body)
}
