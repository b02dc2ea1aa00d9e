package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idemkit/idempotency"
)

// Exit codes; the package documentation lists them.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
	exitDeclined = 4
)

// stdio is where a run reads and writes, and what they are.
type stdio struct {
	in          io.Reader
	out, err    io.Writer
	inTerminal  bool // forget may ask for confirmation
	errTerminal bool // cleanup may show its progress
}

// A command is one subcommand: its flags and what it does with them.
type command struct {
	name, args, help string
	flags            flagSet
	run              func(ctx context.Context, o *options, io stdio) error
}

var commands = []command{
	{"schema", "", "print the DDL that migrate runs, for migration tools", schemaFlags, runSchema},
	{"migrate", "", "create the table and its index if they do not exist", storeFlags, runMigrate},
	{"inspect", "KEY", "show one key's record: state, times, lease, fingerprint", keyFlags, runInspect},
	{"forget", "KEY", "delete one key's record whatever its state, so the next call runs", keyFlags | yesFlag, runForget},
	{"cleanup", "", "delete the expired records now, in batches (one Cleaner pass)", storeFlags | batchFlag, runCleanup},
	{"stats", "", "count records by namespace and state, and the expired ones left", storeFlags | namespaceFlag, runStats},
}

// run runs idemctl with args (without the program name) and returns its
// exit code.
func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 {
		usage(io.err)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(io.out)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.main(ctx, args[1:], io)
		}
	}
	fmt.Fprintf(io.err, "idemctl: unknown command %q: want schema, migrate, inspect, forget, cleanup or stats (idemctl help)\n", args[0])
	return exitUsage
}

func (c command) main(ctx context.Context, args []string, io stdio) int {
	o, err := parse(c, args)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(io.out)
		return exitOK
	}
	if err == nil {
		err = o.check(c)
	}
	if err == nil {
		err = c.run(ctx, o, io)
	}
	if err == nil {
		return exitOK
	}
	msg := oneLine(err.Error())
	if h := hint(err); h != "" {
		msg += "; " + h
	}
	fmt.Fprintf(io.err, "idemctl %s: %s\n", c.name, msg)
	return exitCode(err)
}

// Errors that choose an exit code other than exitFailure.
var (
	errUsage    = errors.New("usage")
	errDeclined = errors.New("not confirmed")
)

// usageError is a bad command line, with what to do about it.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func exitCode(err error) int {
	switch {
	case errors.Is(err, errUsage), errors.Is(err, idempotency.ErrInvalidKey):
		return exitUsage
	case errors.Is(err, idempotency.ErrNotFound):
		return exitNotFound
	case errors.Is(err, errDeclined):
		return exitDeclined
	}
	return exitFailure
}

// oneLine joins a multi-line error message into one line, and drops the
// "usage: " that marks a usage error.
func oneLine(s string) string {
	s = strings.TrimPrefix(s, errUsage.Error()+": ")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "idemctl: look after the records of github.com/idemkit/idempotency")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: idemctl COMMAND -dialect postgres|mysql|sqlite|redis|redis-cluster -dsn DSN [flags] [KEY]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %-4s  %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "idemctl COMMAND -h lists the command's flags. Exit codes: 0 done, 1 store failed or unreachable,")
	fmt.Fprintln(w, "2 bad command line or input, 3 no such key, 4 forget not confirmed.")
}

// defaultTimeout bounds a command (cleanup: each batch) unless -timeout
// says otherwise.
const defaultTimeout = time.Minute
