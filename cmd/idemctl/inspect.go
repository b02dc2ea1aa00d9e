package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idemkit/idempotency"
)

// exitErr is an error whose message is complete as it is, wrapping the
// cause that chooses the exit code.
type exitErr struct {
	msg   string
	cause error
}

func (e *exitErr) Error() string { return e.msg }

// errChanged: the record changed between the question and the answer.
var errChanged = errors.New("record changed meanwhile")

// sameRecord reports whether two lookups saw the same record in the same
// state: a new claim, a finished call or a renewal changes one of these.
func sameRecord(a, b idempotency.RecordInfo) bool {
	return a.State == b.State && a.Fingerprint == b.Fingerprint && a.Created.Equal(b.Created) &&
		a.LeaseHeld == b.LeaseHeld && a.LeaseUntil.Equal(b.LeaseUntil)
}
func (e *exitErr) Unwrap() error { return e.cause }

func runInspect(ctx context.Context, o *options, io stdio) error {
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	in, done, err := openInspector(ctx, o, io.err)
	if err != nil {
		return err
	}
	defer done()
	info, err := in.Inspect(ctx, o.namespace, o.key)
	if err != nil {
		return lookupError(o, err)
	}
	if o.json {
		return writeJSON(io.out, newRecordJSON(o, info))
	}
	printRecord(io.out, o, info)
	return nil
}

func runForget(ctx context.Context, o *options, io stdio) error {
	if !o.yes && !io.inTerminal {
		return usageError("stdin is not a terminal, so forget cannot ask for confirmation: pass -yes")
	}
	octx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	in, done, err := openInspector(octx, o, io.err)
	if err != nil {
		return err
	}
	defer done()
	info, err := in.Inspect(octx, o.namespace, o.key)
	if err != nil {
		return lookupError(o, err)
	}
	// The prompt may have waited long: what follows has a bound of its own.
	fctx, fcancel := withTimeout(ctx, o.timeout)
	defer fcancel()
	if !o.yes {
		q := fmt.Sprintf("forget %s in namespace %s (%s)? [y/N] ", keyName(o), show(o.namespace), describe(info))
		if err := confirm(ctx, io, q); err != nil {
			return err
		}
		// While the operator read the question, a retry may have taken
		// the key over or finished it: forget only what was shown.
		now, err := in.Inspect(fctx, o.namespace, o.key)
		if err != nil {
			return lookupError(o, err)
		}
		if !sameRecord(info, now) {
			return &exitErr{fmt.Sprintf("%s in namespace %s changed while you were asked (now %s): nothing was forgotten; run forget again", keyName(o), show(o.namespace), describe(now)), errChanged}
		}
	}
	ok, err := in.Forget(fctx, o.namespace, o.key)
	if err != nil {
		return err
	}
	if !ok {
		return &exitErr{fmt.Sprintf("%s in namespace %s was deleted or expired meanwhile: nothing to forget", keyName(o), show(o.namespace)), idempotency.ErrNotFound}
	}
	if o.json {
		return writeJSON(io.out, forgetJSON{Forgotten: true, Namespace: o.namespace, Key: o.key,
			Scope: o.scopeJSON(), ClientKey: o.clientKey, State: info.State.String()})
	}
	fmt.Fprintf(io.out, "forgot %s in namespace %s (it was %s): the next call with it runs\n", keyName(o), show(o.namespace), info.State)
	if info.LeaseHeld {
		fmt.Fprintln(io.out, "its owner may still be running: its outcome will not be recorded (ErrLeaseLost), and its function's context is cancelled at its next renewal")
	}
	return nil
}

// confirm asks q on stderr and reads the answer from stdin; anything but
// y or yes declines.
func confirm(ctx context.Context, io stdio, q string) error {
	fmt.Fprint(io.err, q)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(io.in).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return nil
		}
		return &exitErr{"not forgotten: nothing was changed", errDeclined}
	case <-ctx.Done():
		fmt.Fprintln(io.err)
		return &exitErr{"interrupted: nothing was changed", errDeclined}
	}
}

func openInspector(ctx context.Context, o *options, stderr io.Writer) (idempotency.Inspector, func(), error) {
	s, done, err := open(ctx, o, false, stderr)
	if err != nil {
		return nil, nil, err
	}
	in, ok := s.(idempotency.Inspector)
	if !ok {
		done()
		return nil, nil, fmt.Errorf("the %s store cannot look keys up", o.dialect)
	}
	return in, done, nil
}

// lookupError says which key was not found, in one line.
func lookupError(o *options, err error) error {
	if errors.Is(err, idempotency.ErrNotFound) {
		return &exitErr{fmt.Sprintf("no live record for %s in namespace %s: never claimed, released, forgotten or expired", keyName(o), show(o.namespace)), err}
	}
	return err
}

// keyName names the key for messages: with -scope, the client's key and
// its scope.
func keyName(o *options) string {
	if o.set["scope"] {
		return fmt.Sprintf("key %s of scope %s", show(o.clientKey), show(o.scope))
	}
	return "key " + show(o.key)
}

// describe sums a record up in a few words.
func describe(info idempotency.RecordInfo) string {
	switch {
	case info.LeaseHeld:
		return fmt.Sprintf("processing, its lease held for %s more: its owner may be running", roughly(info.LeaseUntil.Sub(info.Now)))
	case info.State == idempotency.StateProcessing:
		return fmt.Sprintf("processing, its lease ran out %s ago", roughly(info.Now.Sub(info.LeaseUntil)))
	}
	return fmt.Sprintf("%s, expires %s", info.State, ago(info.Expires, info.Now))
}

func printRecord(w io.Writer, o *options, info idempotency.RecordInfo) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-12s %s\n", label, fmt.Sprintf(format, args...))
	}
	line("namespace", "%s", show(info.Namespace))
	line("key", "%s", show(info.Key))
	if o.set["scope"] {
		line("scope", "%s", show(o.scope))
		line("client key", "%s", show(o.clientKey))
	}
	line("state", "%s", info.State)
	line("fingerprint", "%s", show(info.Fingerprint))
	line("created", "%s (%s)", stamp(info.Created), ago(info.Created, info.Now))
	if info.Expires.IsZero() {
		line("expires", "never: the record has no expiry")
	} else {
		line("expires", "%s (%s)", stamp(info.Expires), ago(info.Expires, info.Now))
	}
	switch {
	case info.LeaseHeld:
		line("lease", "held until %s (%s): its owner may be running", stamp(info.LeaseUntil), ago(info.LeaseUntil, info.Now))
	case info.State == idempotency.StateProcessing:
		line("lease", "ran out at %s (%s): the next call with the same request takes the key over", stamp(info.LeaseUntil), ago(info.LeaseUntil, info.Now))
	default:
		line("lease", "none: the outcome is recorded and replayed")
	}
	line("payload", "%d bytes", info.PayloadBytes)
	line("store clock", "%s", stamp(info.Now))
}

// recordJSON is inspect's -json output.
type recordJSON struct {
	Namespace    string  `json:"namespace"`
	Key          string  `json:"key"`
	Scope        *string `json:"scope,omitempty"`
	ClientKey    string  `json:"client_key,omitempty"`
	State        string  `json:"state"`
	Fingerprint  string  `json:"fingerprint"`
	Created      string  `json:"created"`
	Expires      string  `json:"expires,omitempty"`
	LeaseHeld    bool    `json:"lease_held"`
	LeaseUntil   string  `json:"lease_until,omitempty"`
	PayloadBytes int     `json:"payload_bytes"`
	Now          string  `json:"now"`
}

func newRecordJSON(o *options, info idempotency.RecordInfo) recordJSON {
	return recordJSON{
		Namespace: info.Namespace, Key: info.Key, Scope: o.scopeJSON(), ClientKey: o.clientKey,
		State: info.State.String(), Fingerprint: info.Fingerprint,
		Created: stampJSON(info.Created), Expires: stampJSON(info.Expires),
		LeaseHeld: info.LeaseHeld, LeaseUntil: stampJSON(info.LeaseUntil),
		PayloadBytes: info.PayloadBytes, Now: stampJSON(info.Now),
	}
}

// forgetJSON is forget's -json output.
type forgetJSON struct {
	Forgotten bool    `json:"forgotten"`
	Namespace string  `json:"namespace"`
	Key       string  `json:"key"`
	Scope     *string `json:"scope,omitempty"`
	ClientKey string  `json:"client_key,omitempty"`
	State     string  `json:"state"`
}

// scopeJSON is -scope for JSON output: nil when not given.
func (o *options) scopeJSON() *string {
	if !o.set["scope"] {
		return nil
	}
	return &o.scope
}

// withTimeout bounds ctx by d, unless d is 0.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
