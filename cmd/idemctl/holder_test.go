package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
)

// The holder is a child process that claims one key through a Manager and
// blocks inside fn, as a running (or hung) owner does, until its lease
// renewal finds the claim gone: it then prints "lease lost" and exits 0.
const (
	holderEnv       = "IDEMCTL_TEST_HOLDER" // the store's spec, as JSON
	holderNamespace = "ops"
	holderKey       = "held"
	holderRequest   = "request-1"
	// holderLease is renewed every second: forgetting the key is noticed
	// within about a second, and a busy machine does not let it lapse.
	holderLease = 3 * time.Second
)

func holder() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "holder:", err)
		os.Exit(1)
	}
	var sp spec
	if err := json.Unmarshal([]byte(os.Getenv(holderEnv)), &sp); err != nil {
		fail(err)
	}
	ctx := context.Background()
	o := &options{dialect: sp.Dialect, dsn: sp.DSN, table: sp.Table, prefix: sp.Prefix}
	if o.table == "" {
		o.table = "idempotency_keys"
	}
	s, done, err := open(ctx, o, false, os.Stderr)
	if err != nil {
		fail(err)
	}
	defer done()
	m, err := idempotency.New[string, string](s, idempotency.Config{Namespace: holderNamespace, Lease: holderLease})
	if err != nil {
		fail(err)
	}
	_, err = m.Do(ctx, holderKey, holderRequest, func(ctx context.Context, _ string) (string, error) {
		fmt.Println("claimed")
		<-ctx.Done()
		return "", context.Cause(ctx)
	})
	if !errors.Is(err, idempotency.ErrLeaseLost) {
		fail(fmt.Errorf("Do returned %v; want ErrLeaseLost", err))
	}
	fmt.Println("lease lost")
}

// child is a running holder.
type child struct {
	rest chan string // what it prints after "claimed", once it exits
	done chan error  // the result of its Wait
}

// startHolder starts a holder on sp and returns once it holds the key.
func startHolder(t *testing.T, sp spec) *child {
	t.Helper()
	env, _ := json.Marshal(sp)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+string(env))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{done: make(chan error, 1)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	lines := make(chan string, 2) // never blocks the reader below
	go func() {
		r := bufio.NewReader(out)
		line, _ := r.ReadString('\n')
		lines <- line
		rest, _ := io.ReadAll(r) // before Wait, which closes the pipe
		lines <- string(rest)
		c.done <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		if line != "claimed\n" {
			t.Fatalf("holder printed %q; want \"claimed\"", line)
		}
	case <-time.After(time.Minute):
		t.Fatal("holder did not claim its key within a minute")
	}
	c.rest = lines
	return c
}

// waitLeaseLost waits for the holder to report its claim lost and exit.
func (c *child) waitLeaseLost(t *testing.T) {
	t.Helper()
	select {
	case rest := <-c.rest:
		err := <-c.done
		c.done <- err // for the cleanup
		if err != nil || strings.TrimSpace(rest) != "lease lost" {
			t.Fatalf("holder: %v, printed %q; want \"lease lost\" and exit 0", err, rest)
		}
	case <-time.After(time.Minute):
		t.Fatal("holder did not notice within a minute that its key was forgotten")
	}
}
