package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
)

const crashExit = 3

// crashRecovery starts a second instance of the service in a child process,
// sends it a charge, and lets it die mid-charge holding the key. The client
// then retries against the first instance: 409 while the dead worker's lease
// holds, then the charge runs once more and succeeds.
func (c *client) crashRecovery(ctx context.Context, d *database, l *ledger) (*tally, error) {
	t := &tally{name: "worker crashed mid-charge"}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-crash-child", d.table, "-dialect", d.dialect, "-dsn", d.dsn)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("crash worker did not start: %w", err)
	}
	workerURL := strings.TrimSpace(strings.TrimPrefix(line, "listening "))

	r := c.post(ctx, c.http, workerURL, "acct_carol", "order-1003", 7500)
	t.add(r) // the connection drops: the worker died
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != crashExit {
		return nil, fmt.Errorf("crash worker: %v, want exit code %d", err, crashExit)
	}
	if r.err == nil {
		return nil, fmt.Errorf("the crashed worker answered %d", r.status)
	}

	r, err = c.untilSettled(ctx, t, "acct_carol", "order-1003", 7500)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusCreated || r.replayed {
		return nil, fmt.Errorf("after the lease: %d replayed=%v, want a fresh 201", r.status, r.replayed)
	}
	t.recovered = 1
	t.executed = l.count("order-1003")
	return t, nil
}

// runCrashChild is the worker process that dies holding a claim. It returns
// only when it failed to.
func runCrashChild(ctx context.Context, d *database) error {
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	h, err := newPaymentsHandler(store, func(http.ResponseWriter, *http.Request, chargeRequest) {
		os.Exit(crashExit) // the process dies mid-charge, holding the key
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	return http.Serve(ln, h)
}
