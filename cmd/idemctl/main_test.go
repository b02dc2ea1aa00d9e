package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestMain lets the test binary play two other programs, chosen by the
// environment: idemctl itself (main, as a user runs it), and the process
// that holds a claim while the test inspects and forgets it (holder.go).
func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{})
	switch {
	case os.Getenv("IDEMCTL_TEST_MAIN") != "":
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv("IDEMCTL_TEST_MAIN")), &args); err != nil {
			panic(err)
		}
		os.Args = append([]string{"idemctl"}, args...)
		main()
		return
	case os.Getenv(holderEnv) != "":
		holder()
		return
	}
	os.Exit(m.Run())
}

// result is what one run of idemctl printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// idemctl runs the command in-process with stdin and no terminal.
func idemctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return idemctlTerm(t, stdin, false, args...)
}

// idemctlTerm runs the command in-process; terminal says whether stdin and
// stderr are to be taken for a terminal.
func idemctlTerm(t *testing.T, stdin string, terminal bool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{
		in: strings.NewReader(stdin), out: &out, err: &errb,
		inTerminal: terminal, errTerminal: terminal,
	})
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// must runs the command and fails t unless it exits with want.
func must(t *testing.T, want int, args ...string) result {
	t.Helper()
	r := idemctl(t, "", args...)
	if r.code != want {
		t.Fatalf("idemctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// decode parses a -json output into v.
func decode(t *testing.T, r result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("-json output %q: %v", r.stdout, err)
	}
}

// TestMainExitCodes runs the real main, in a process of its own: its exit
// code and its one line on stderr, with stdin that is not a terminal.
func TestMainExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"inspect", "-dialect", "oracle", "-dsn", "x", "k"}, exitUsage, `unknown -dialect "oracle"`},
		{[]string{"forget", "-dialect", "sqlite", "-dsn", "x.db", "k"}, exitUsage, "pass -yes"},
		{[]string{"help"}, exitOK, ""},
	} {
		args, _ := json.Marshal(c.args)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "IDEMCTL_TEST_MAIN="+string(args))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if e, ok := err.(*exec.ExitError); ok {
			code = e.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(stderr.String(), c.want) || (c.want != "" && strings.Count(stderr.String(), "\n") != 1) {
			t.Errorf("idemctl %v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}
