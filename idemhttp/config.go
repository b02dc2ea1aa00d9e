package idemhttp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idemkit/idempotency"
)

// Default values of [Config] fields left zero.
const (
	DefaultNamespace        = "http"
	DefaultHeader           = "Idempotency-Key"
	DefaultMaxBodyBytes     = 1 << 20
	DefaultMaxResponseBytes = 1 << 20
)

// MaxKeyLen is the longest Idempotency-Key value a client may send, in bytes
// (after removing the quotes of a quoted key). The stored key is a 32-hex-digit
// digest of the scope, a colon and the client's key, and must fit in
// [idempotency.MaxKeyLen] bytes: 255 - 33 = 222.
const MaxKeyLen = idempotency.MaxKeyLen - scopePrefixLen

// DefaultMethods are the request methods the middleware covers when
// Config.Methods is nil: the ones that are not idempotent by definition.
// [New] copies it; treat it as read-only.
var DefaultMethods = []string{http.MethodPost, http.MethodPatch}

// DefaultFingerprintHeaders are the request headers that are part of the
// request fingerprint when Config.FingerprintHeaders is nil. [New] copies
// it; treat it as read-only.
var DefaultFingerprintHeaders = []string{"Content-Type"}

// DefaultReplayHeaders are the response headers recorded and replayed when
// Config.ReplayHeaders is nil: those that describe the body or the created
// resource. Set-Cookie is deliberately absent: a session cookie must never
// be handed to whoever retries a request. [New] copies it; treat it as
// read-only.
var DefaultReplayHeaders = []string{
	"Cache-Control",
	"Content-Disposition",
	"Content-Encoding",
	"Content-Language",
	"Content-Location",
	"Content-Type",
	"ETag",
	"Expires",
	"Last-Modified",
	"Link",
	"Location",
	"Vary",
}

// ScopeFunc returns the scope of a request: who is asking, such as the
// authenticated account, API key owner or tenant. Requests from different
// scopes never share a key, whatever key they send. It runs for every
// covered request with a key, before the handler and after the middleware
// this one is wrapped in, so put authentication outside and read its result
// from the request's context. Any string is fine, "" included; it is hashed,
// so its length does not matter. It is called concurrently and must be safe
// for concurrent use. A nil ScopeFunc gives every request the scope "".
type ScopeFunc func(r *http.Request) string

// Config tunes the middleware returned by [New]. The zero value is usable:
// every field has a default. A Config is copied by New; changing it (or the
// slices it holds) afterwards has no effect.
type Config struct {
	// Namespace names the operation in the store: identity is (Namespace,
	// scope, key). Give each API that shares a store with other users of
	// package idempotency its own namespace. Defaults to "http".
	Namespace string

	// Methods lists the request methods the middleware covers; requests
	// with other methods pass through untouched. Methods are compared
	// exactly (they are case-sensitive in HTTP). Defaults to POST and
	// PATCH ([DefaultMethods]).
	Methods []string

	// Header is the request header that carries the idempotency key.
	// Defaults to "Idempotency-Key".
	Header string

	// Optional lets a covered request without the key header pass through
	// to the handler untouched, with no idempotency. When false such a
	// request gets 400 with a problem of type [ProblemKeyMissing].
	// Defaults to false.
	Optional bool

	// Scope returns who is asking, for example the authenticated account
	// ID. It is part of the identity, so the same key sent by two scopes
	// runs the handler twice and nobody is ever replayed a response meant
	// for someone else. Without it every client shares one key space,
	// which is only safe when every client is trusted. Defaults to nil.
	Scope ScopeFunc

	// FingerprintHeaders lists the request headers that, with the method,
	// path, query and body, make up the request fingerprint: the same key
	// with a different value of one of them gets 422. An empty non-nil
	// slice fingerprints no header. Defaults to Content-Type
	// ([DefaultFingerprintHeaders]).
	FingerprintHeaders []string

	// MaxBodyBytes caps the request body the middleware reads to
	// fingerprint it; a longer body gets 413 without being read further.
	// Defaults to 1 MiB.
	MaxBodyBytes int64

	// MaxResponseBytes caps the response body that is recorded. A handler
	// that writes more still reaches the client (streamed from that point
	// on), but its response is not recorded: the key is released, so a
	// retry runs the handler again, and a warning is logged. Defaults to
	// 1 MiB.
	MaxResponseBytes int

	// RecordServerErrors records 5xx responses like any other, so a retry
	// gets the same 5xx (as Stripe does). When false a 5xx response
	// releases the key, so the client's retry runs the handler again.
	// Defaults to false.
	RecordServerErrors bool

	// ReplayHeaders is the allow-list of response headers recorded and
	// replayed with the status and body; every other header reaches the
	// first client only. Adding Set-Cookie hands one client's cookies to
	// every retry of its key: do it only with a Scope that makes that
	// safe. An empty non-nil slice replays no header. Defaults to
	// [DefaultReplayHeaders].
	ReplayHeaders []string

	// TTL is how long a recorded response is replayed, as
	// [idempotency.Config].TTL. Defaults to 24h.
	TTL time.Duration

	// Lease is how long a claim holds without renewal while the handler
	// runs; it is renewed about every Lease/3, and a crashed process's
	// keys are free again one Lease after its last renewal, as
	// [idempotency.Config].Lease. Defaults to 30s.
	Lease time.Duration

	// Wait is how long a duplicate of a request still in flight waits for
	// its response, which it then gets as a replay. Zero answers 409 at
	// once. Defaults to 0.
	Wait time.Duration

	// Logger receives what the client cannot see: responses that were not
	// recorded and why, store failures, and the Manager's own warnings.
	// Nil logs nothing. Defaults to nil.
	Logger *slog.Logger

	// HashKeysInLogs logs the stored key (scope and client key) as the
	// first 16 hex digits of its SHA-256 instead of the key itself, also
	// inside logged errors, for keys that carry personal data: see
	// [idempotency.Config.HashKeysInLogs]. Defaults to false.
	HashKeysInLogs bool

	// Observer receives the outcome of every request that carries a key
	// (replayed, executed, in progress, ...), its store operations and lost
	// leases: see [idempotency.Observer] and package idemotel. Defaults to
	// nil: nothing is observed.
	Observer *idempotency.Observer

	// Cache answers retries of requests this process has replayed once
	// from memory, without a store read: see
	// [idempotency.Config.Cache] and package idemcache. A key forgotten in
	// the store (idemctl forget) may still be replayed from it until the
	// cache's MaxAge. Defaults to nil: every retry reads the store.
	Cache idempotency.Cache

	// Refuse writes the middleware's own refusals (see [Refusal]) in the
	// API's error format, for clients that decide from it whether to
	// retry (Stripe's clients, for one, retry any error body that is not
	// Stripe's). It must write a status and a body. Retry-After and
	// Cache-Control: no-store are set before it is called. Nil writes RFC
	// 9457 problem details ([WriteProblem]). Defaults to nil.
	Refuse func(w http.ResponseWriter, r *http.Request, f Refusal)
}

// settings is a validated Config with defaults filled in and header names
// canonicalised.
type settings struct {
	methods            []string
	header             string
	optional           bool
	scope              ScopeFunc
	fingerprintHeaders []string // canonical names
	maxBody            int64
	maxResponse        int
	recordServerErrors bool
	replayHeaders      []string // canonical names
	log                *slog.Logger
	namespace          string
	hashKeys           bool
	refuse             func(http.ResponseWriter, *http.Request, Refusal)
}

// hopByHop are the headers a response cannot carry through a replay: they
// describe one connection, not the response.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (cfg Config) settings() (settings, idempotency.Config, error) {
	var errs []error
	s := settings{
		methods:            cfg.Methods,
		header:             cfg.Header,
		optional:           cfg.Optional,
		scope:              cfg.Scope,
		maxBody:            cfg.MaxBodyBytes,
		maxResponse:        cfg.MaxResponseBytes,
		recordServerErrors: cfg.RecordServerErrors,
		log:                cfg.Logger,
		hashKeys:           cfg.HashKeysInLogs,
		refuse:             cfg.Refuse,
	}
	if s.methods == nil {
		s.methods = DefaultMethods
	}
	s.methods = slices.Clone(s.methods)
	for _, m := range s.methods {
		if !isToken(m) {
			errs = append(errs, fmt.Errorf("not a method name in Methods: %q", m))
		}
	}
	if s.header == "" {
		s.header = DefaultHeader
	}
	if !isToken(s.header) {
		errs = append(errs, fmt.Errorf("Header: %q is not a header name", s.header))
	}
	s.header = http.CanonicalHeaderKey(s.header)

	fh := cfg.FingerprintHeaders
	if fh == nil {
		fh = DefaultFingerprintHeaders
	}
	var err error
	if s.fingerprintHeaders, err = headerNames("FingerprintHeaders", fh); err != nil {
		errs = append(errs, err)
	}
	rh := cfg.ReplayHeaders
	if rh == nil {
		rh = DefaultReplayHeaders
	}
	if s.replayHeaders, err = headerNames("ReplayHeaders", rh); err != nil {
		errs = append(errs, err)
	}
	for _, h := range s.replayHeaders {
		if slices.Contains(hopByHop, h) {
			errs = append(errs, fmt.Errorf("ReplayHeaders: %s describes a connection, not a response, and cannot be replayed", h))
		}
		if h == ReplayedHeader {
			errs = append(errs, fmt.Errorf("ReplayHeaders: %s is set by the middleware on every replay", h))
		}
	}

	switch {
	case s.maxBody < 0:
		errs = append(errs, fmt.Errorf("negative MaxBodyBytes %d", s.maxBody))
	case s.maxBody == 0:
		s.maxBody = DefaultMaxBodyBytes
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
		return s, idempotency.Config{}, fmt.Errorf("idemhttp: invalid Config: %w", errors.Join(errs...))
	}

	ns := cfg.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	s.namespace = ns
	mc := idempotency.Config{
		Namespace: ns,
		TTL:       cfg.TTL,
		Lease:     cfg.Lease,
		Wait:      cfg.Wait,
		Codec:     responseCodec{},
		// The middleware enforces its own limit on the body, so the
		// Manager's only has to leave room for the recorded headers.
		MaxResponseBytes: s.maxResponse + maxEncodedHeaderBytes,
		Logger:           cfg.Logger,
		HashKeysInLogs:   cfg.HashKeysInLogs,
		Observer:         cfg.Observer,
		Cache:            cfg.Cache,
	}
	return s, mc, nil
}

// headerNames validates and canonicalises a list of header names.
func headerNames(field string, names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !isToken(n) {
			return nil, fmt.Errorf("%s: %q is not a header name", field, n)
		}
		c := http.CanonicalHeaderKey(n)
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// isToken reports whether s is an RFC 9110 token, the syntax of method and
// header names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case isTokenPunct(c):
		default:
			return false
		}
	}
	return true
}

func isTokenPunct(c byte) bool {
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// logAttrs are the attributes of a log record about a client's key: the
// namespace, the key (or its hash, with HashKeysInLogs) and err. With
// HashKeysInLogs the key is taken out of err's text, where the Manager's
// errors quote the stored key (the scope's digest, a colon and the key).
func (s *settings) logAttrs(key, stored string, err error) []any {
	if !s.hashKeys {
		return []any{"namespace", s.namespace, "key", key, "err", err}
	}
	sum := sha256.Sum256([]byte(key))
	attrs := []any{"namespace", s.namespace, "key_sha256", hex.EncodeToString(sum[:8])}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), strconv.Quote(stored), "[key]")
		attrs = append(attrs, "err", strings.ReplaceAll(msg, strconv.Quote(key), "[key]"))
	}
	return attrs
}
