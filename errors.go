package idempotency

import "errors"

var (
	// ErrInProgress reports that another call holds this key right now and
	// did not finish within Config.Wait. Retry later with the same key and
	// request; HTTP APIs answer 409 Conflict.
	ErrInProgress = errors.New("idempotency: a call with this key is still in progress; retry later with the same key")

	// ErrRequestMismatch reports that the key was already used with a
	// different request. The function did not run. Use a new key for a new
	// request; HTTP APIs answer 422 Unprocessable Content.
	ErrRequestMismatch = errors.New("idempotency: this key was used with a different request; use a new key for a new request")

	// ErrInvalidKey reports a key that is empty, longer than [MaxKeyLen]
	// bytes, not valid UTF-8, or contains a NUL byte. HTTP APIs answer 400
	// Bad Request.
	ErrInvalidKey = errors.New("idempotency: invalid key: want 1 to 255 bytes of UTF-8 without NUL")

	// ErrLeaseLost reports that this call no longer owned its claim, so its
	// outcome was not recorded: another caller took the key over after the
	// lease ran out, or the completion found the claim gone. Another caller
	// may run or have run fn. It is also the cause with which fn's context
	// is cancelled when renewals fail until the lease might run out; fn's
	// value is then still recorded if the claim turns out to be this
	// call's. For [TxManager] it reports a transaction that outlived
	// Config.Lease and was rolled back.
	ErrLeaseLost = errors.New("idempotency: lease lost: this call no longer owns the key; outcome not recorded")

	// ErrNotRecorded reports that the function succeeded but its outcome
	// could not be written after retries (for example, the database was
	// down). Do returns the function's value together with an error wrapping
	// ErrNotRecorded and the cause: the side effect happened, but a retry
	// after the lease runs out will run the function again.
	ErrNotRecorded = errors.New("idempotency: outcome not recorded; the function ran but a retry after the lease may run it again")

	// ErrResponseTooLarge reports an encoded response over
	// Config.MaxResponseBytes. The key is released and the function's value
	// is returned with the error.
	ErrResponseTooLarge = errors.New("idempotency: encoded response exceeds Config.MaxResponseBytes; raise the limit or return less")
)

// StoredError is a permanent failure replayed from the store: the first call's
// function returned [Permanent](err), and this is what later calls with the
// same key and request receive. Its zero value has an empty message.
//
// A StoredError is immutable once returned and safe to share between
// goroutines.
type StoredError struct {
	// Message is the recorded err.Error() of the first call.
	Message string
}

// Error returns the recorded message.
func (e *StoredError) Error() string { return e.Message }

// Permanent marks err, returned from the function passed to [Manager.Do], as
// the final outcome for its key: its message is recorded and replayed to later
// calls as a [*StoredError], instead of releasing the key for a retry. Use it
// for failures a retry cannot fix (card declined, validation failed).
//
// The call that ran the function gets err back unchanged except for the
// wrapper: errors.Is and errors.As see through it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err (or an error it wraps) was marked with
// [Permanent] or is a replayed [*StoredError].
func IsPermanent(err error) bool {
	var p *permanentError
	var s *StoredError
	return errors.As(err, &p) || errors.As(err, &s)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
