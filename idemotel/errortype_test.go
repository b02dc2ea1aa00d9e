package idemotel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/idemkit/idempotency"
)

type classified struct{}

func (classified) Error() string     { return "classified" }
func (classified) ErrorType() string { return "payments.Declined" }

func TestErrorType(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, c := range []struct {
		err  error
		want string
	}{
		{errors.New("plain"), "*errors.errorString"},
		{fmt.Errorf("claim key %q: %w", "k", opErr), "*net.OpError"},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", &os.PathError{Op: "open", Err: os.ErrNotExist})), "*fs.PathError"},
		{fmt.Errorf("%w: key %q: %w", idempotency.ErrNotRecorded, "k", idempotency.ErrResponseTooLarge), "idempotency.ErrResponseTooLarge"},
		{fmt.Errorf("%w: key %q: %w", idempotency.ErrNotRecorded, "k", opErr), "idempotency.ErrNotRecorded"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "context.DeadlineExceeded"},
		{errors.Join(opErr, errors.New("second")), "*net.OpError"},
		{fmt.Errorf("%w and %w", opErr, errors.New("second")), "*net.OpError"},
		{idempotency.Permanent(fmt.Errorf("declined: %w", classified{})), "payments.Declined"},
		{idempotency.Permanent(opErr), "*net.OpError"},
		{fmt.Errorf("wrapped nothing: %w", nil), "*fmt.wrapError"},
		{idempotency.ErrLeaseLost, "idempotency.ErrLeaseLost"},
		{classified{}, "payments.Declined"},
	} {
		if got := errorType(c.err); got != c.want {
			t.Errorf("errorType(%v) = %q; want %q", c.err, got, c.want)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, c := range []struct{ msg, key, want string }{
		{`idempotency: claim key "order-1": refused`, "order-1", `idempotency: claim key "[key]": refused`},
		{`key "a\"b" and "a\"b"`, `a"b`, `key "[key]" and "[key]"`},
		{`order-1 unquoted`, "order-1", `order-1 unquoted`},
		{`nothing`, "", `nothing`},
	} {
		if got := redact(c.msg, c.key); got != c.want {
			t.Errorf("redact(%q, %q) = %q; want %q", c.msg, c.key, got, c.want)
		}
	}
}
