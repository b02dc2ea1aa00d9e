package idempotency

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
)

// core is the policy that [Manager] and [TxManager] share, so that one place
// decides it: configuration, how a recorded outcome is replayed, how a
// response is encoded for the store, and how duplicates in one process share
// one execution.
type core[Resp any] struct {
	cfg     Config
	decode  func(data []byte, v any) error // Config.Codec's, for replays
	log     *slog.Logger
	flights flightGroup
}

// init validates cfg, fills in its defaults and readies c.
func (c *core[Resp]) init(cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	c.cfg = cfg
	c.decode = decoderOf(cfg.Codec)
	c.log = cfg.Logger.With("namespace", cfg.Namespace)
	return nil
}

// errAttr is an error as it appears in log records: with
// Config.HashKeysInLogs, the key (which the stores' errors quote) replaced
// by "[key]".
func (c *core[Resp]) errAttr(err error, key string) slog.Attr {
	if !c.cfg.HashKeysInLogs || err == nil {
		return slog.Any("err", err)
	}
	return slog.String("err", strings.ReplaceAll(err.Error(), strconv.Quote(key), "[key]"))
}

// ctxErr is why ctx ended: its error, and the cause given to its cancel
// function when there is another, so that errors.Is finds
// context.Canceled or DeadlineExceeded either way.
func ctxErr(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || errors.Is(cause, err) {
		return err
	}
	return fmt.Errorf("%w: %w", err, cause)
}

// keyAttr is the key as it appears in log records: the key itself, or with
// Config.HashKeysInLogs its hash, which still tells two keys apart.
func (c *core[Resp]) keyAttr(key string) slog.Attr {
	if c.cfg.HashKeysInLogs {
		sum := sha256.Sum256([]byte(key))
		return slog.String("key_sha256", hex.EncodeToString(sum[:8]))
	}
	return slog.String("key", key)
}

// errNotFingerprinted wraps the reason a request cannot be fingerprinted.
var errNotFingerprinted = errors.New("idempotency: cannot fingerprint the request, fn not run")

// checkCall validates what every Do checks before it touches the store, and
// returns the request's stored fingerprint.
func checkCall[Req any](key string, req Req, fnIsNil bool) (string, error) {
	if fnIsNil {
		return "", errors.New("idempotency: Do: fn is nil")
	}
	if err := CheckKey(key); err != nil {
		return "", err
	}
	fp, err := storedFingerprint(req)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNotFingerprinted, err)
	}
	return fp, nil
}

// shareFlight runs lead as the leader of the in-process flight id, or waits
// for that flight's leader and replays its outcome, so that duplicates in
// one process wait on a channel rather than on the store. fp is the
// caller's request: a follower of a flight for another request of the same
// key gets [ErrRequestMismatch] once that request's outcome is settled.
// lead calls claimed once it holds the key. A follower whose deadline is
// zero does not wait for fn: it gets [ErrInProgress] as soon as the leader
// holds the key, and the leader's replay if it finds the key finished.
func (c *core[Resp]) shareFlight(ctx context.Context, id, fp string, deadline time.Time, obs *callObserver,
	lead func(ctx context.Context, claimed func()) (Result[Resp], outcome, error)) (Result[Resp], error) {
	for {
		f, leader := c.flights.join(id, fp)
		if leader {
			return c.leadFlight(ctx, f, lead)
		}
		var err error
		waitStart := time.Now()
		if deadline.IsZero() {
			err = waitFlightRead(ctx, f)
		} else {
			err = waitFlight(ctx, f, deadline)
		}
		obs.wait(time.Since(waitStart))
		if err != nil {
			return Result[Resp]{}, err
		}
		switch {
		case f.out.settled && f.fp == fp:
			return c.replay(f.out)
		case f.out.settled && !f.out.mismatch:
			// The key's outcome belongs to the leader's request.
			return Result[Resp]{}, ErrRequestMismatch
		}
		// The leader ended without an outcome to share (fn failed, it
		// gave up waiting, or its outcome says nothing about this
		// request): try again, perhaps as the new leader.
	}
}

// leadFlight runs lead for flight f. The deferred finish also runs when lead
// panics, so followers never wait on a dead flight.
func (c *core[Resp]) leadFlight(ctx context.Context, f *flight, lead func(context.Context, func()) (Result[Resp], outcome, error)) (res Result[Resp], err error) {
	var out outcome
	defer func() { c.flights.finish(f, out) }()
	res, out, err = lead(ctx, f.claimed)
	return res, err
}

// waitFlightRead waits while the flight's leader only reads, and reports
// ErrInProgress once it holds the key.
func waitFlightRead(ctx context.Context, f *flight) error {
	select {
	case <-f.done:
		return nil
	case <-f.running:
		select {
		case <-f.done: // finished meanwhile: take its outcome
			return nil
		default:
			return ErrInProgress
		}
	case <-ctx.Done():
		return fmt.Errorf("idempotency: gave up waiting for the in-flight call: %w", ctxErr(ctx))
	}
}

func waitFlight(ctx context.Context, f *flight, deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("idempotency: gave up waiting for the in-flight call: %w", ctxErr(ctx))
	case <-timer.C:
		return ErrInProgress
	}
}

// settle turns a record that kept a claim from succeeding into Do's answer:
// a replay, a mismatch, or (done false) a record still processing.
func (c *core[Resp]) settle(fp string, r Record) (res Result[Resp], out outcome, err error, done bool) {
	out = outcome{settled: true, state: r.State, payload: r.Payload}
	if r.Fingerprint != fp {
		out.mismatch = true
		res, err = c.replay(out)
		return res, out, err, true
	}
	if r.State != StateProcessing {
		res, err = c.replay(out)
		return res, out, err, true
	}
	return Result[Resp]{}, outcome{}, nil, false
}

// replay turns a recorded outcome into Do's results.
func (c *core[Resp]) replay(out outcome) (Result[Resp], error) {
	var res Result[Resp]
	if out.mismatch {
		return res, ErrRequestMismatch
	}
	res.Replayed = true
	switch out.state {
	case StateCompleted:
		if err := c.decode(out.payload, &res.Value); err != nil {
			return Result[Resp]{}, fmt.Errorf("idempotency: cannot decode the recorded response (did the response type change?); fn not run: %w", err)
		}
		return res, nil
	case StateFailed:
		return res, &StoredError{Message: string(out.payload)}
	}
	return Result[Resp]{}, fmt.Errorf("idempotency: store returned a record in unknown state %d", out.state)
}

// encode encodes fn's value for the store. The error says why it cannot be
// recorded: the codec failed, or the value is over Config.MaxResponseBytes
// ([ErrResponseTooLarge]).
func (c *core[Resp]) encode(resp Resp) ([]byte, error) {
	payload, err := c.cfg.Codec.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("idempotency: cannot encode the response: %w", err)
	}
	if len(payload) > c.cfg.MaxResponseBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrResponseTooLarge, len(payload), c.cfg.MaxResponseBytes)
	}
	return payload, nil
}

// writeContext returns the context of a write that must happen even when
// the caller has gone away: ctx's values without its cancellation, bounded
// by writeTimeout instead. A ctx that can never be cancelled is returned as
// it is: its caller chose no bound for any statement of the call, and a
// deadline would cost every completion more than the bound is worth
// (pgx, for one, watches a cancellable context with a goroutine per
// statement).
func (c *core[Resp]) writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Done() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), c.writeTimeout())
}

func (c *core[Resp]) writeTimeout() time.Duration {
	return min(c.cfg.Lease, writeTimeoutLimit)
}
