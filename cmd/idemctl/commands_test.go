package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
)

func doOnce(t *testing.T, s idempotency.Store, cfg idempotency.Config, key string) {
	t.Helper()
	m, err := idempotency.New[string, string](s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Do(context.Background(), key, "req", func(context.Context, string) (string, error) { return "v", nil }); err != nil {
		t.Fatal(err)
	}
}

// TestForgetAsks: on a terminal forget asks, and only y or yes forgets.
func TestForgetAsks(t *testing.T) {
	tg, s := sqliteTarget(t)
	doOnce(t, s, idempotency.Config{Namespace: "ops"}, "k")
	args := tg.spec.cmd("forget", "-namespace", "ops", "k")
	for _, answer := range []string{"n\n", "\n", "", "yess\n"} {
		r := idemctlTerm(t, answer, true, args...)
		if r.code != exitDeclined || !strings.HasPrefix(r.stderr, `forget key k in namespace ops (completed, expires in `) || !strings.Contains(r.stderr, "? [y/N] idemctl forget: not forgotten: nothing was changed\n") {
			t.Errorf("answer %q: exit %d, stderr %q; want the question, then declined", answer, r.code, r.stderr)
		}
	}
	must(t, exitOK, tg.spec.cmd("inspect", "-namespace", "ops", "k")...)
	if r := idemctlTerm(t, " YES \n", true, args...); r.code != exitOK || !strings.Contains(r.stdout, "forgot key k in namespace ops (it was completed)") {
		t.Errorf("answer yes: exit %d, stdout %q, stderr %q; want it forgotten", r.code, r.stdout, r.stderr)
	}
	must(t, exitNotFound, tg.spec.cmd("inspect", "-namespace", "ops", "k")...)
}

// TestScope: with -scope, KEY is the client's Idempotency-Key and the
// namespace defaults to idemhttp's.
func TestScope(t *testing.T) {
	tg, s := sqliteTarget(t)
	doOnce(t, s, idempotency.Config{Namespace: idemhttp.DefaultNamespace}, idemhttp.StoredKey("acct-1", "order-7"))
	doOnce(t, s, idempotency.Config{Namespace: idemhttp.DefaultNamespace}, idemhttp.StoredKey("", "order-7"))
	var info recordJSON
	decode(t, must(t, exitOK, tg.spec.cmd("inspect", "-json", "-scope", "acct-1", "order-7")...), &info)
	if info.Namespace != "http" || info.Key != idemhttp.StoredKey("acct-1", "order-7") || info.Scope == nil || *info.Scope != "acct-1" || info.ClientKey != "order-7" || info.State != "completed" {
		t.Errorf("inspect -scope acct-1: %+v", info)
	}
	out := must(t, exitOK, tg.spec.cmd("inspect", "-scope", "", "order-7")...).stdout
	if !strings.Contains(out, "scope        \"\"\n") || !strings.Contains(out, "client key   order-7\n") {
		t.Errorf("inspect -scope '': %s", out)
	}
	r := must(t, exitNotFound, tg.spec.cmd("inspect", "-scope", "acct-2", "order-7")...)
	if !strings.Contains(r.stderr, `no live record for key order-7 of scope acct-2 in namespace http`) {
		t.Errorf("stderr %q", r.stderr)
	}
	must(t, exitNotFound, tg.spec.cmd("inspect", "-scope", "acct-1", "-namespace", "other", "order-7")...)
	doOnce(t, s, idempotency.Config{Namespace: "other"}, "k")
	var st statsJSON
	decode(t, must(t, exitOK, tg.spec.cmd("stats", "-json", "-namespace", "http")...), &st)
	if len(st.Groups) != 1 || st.Groups[0] != (groupJSON{Namespace: "http", State: "completed", Records: 2}) {
		t.Errorf("stats -namespace http: %+v; want the two records of namespace http only", st)
	}
	must(t, exitOK, tg.spec.cmd("forget", "-yes", "-scope", "acct-1", "order-7")...)
	must(t, exitNotFound, tg.spec.cmd("inspect", "-scope", "acct-1", "order-7")...)
	must(t, exitOK, tg.spec.cmd("inspect", "-scope", "", "order-7")...)
}

// TestArguments: flags may follow the key, and -- lets a key start with
// '-'; an odd key is printed quoted.
func TestArguments(t *testing.T) {
	tg, s := sqliteTarget(t)
	doOnce(t, s, idempotency.Config{}, "-k")
	doOnce(t, s, idempotency.Config{}, "k\n ")
	must(t, exitOK, append([]string{"inspect", "k\n "}, tg.spec.args()...)...) // flags after the key
	must(t, exitOK, append(append([]string{"inspect"}, tg.spec.args()...), "--", "-k")...)
	must(t, exitUsage, append(append([]string{"inspect"}, tg.spec.args()...), "-k")...)
	out := must(t, exitOK, tg.spec.cmd("inspect", "k\n ")...).stdout
	if !strings.Contains(out, "key          \"k\\n \"\n") {
		t.Errorf("a key with a newline is printed as\n%s", out)
	}
}

// TestCleanupProgress: on a terminal cleanup shows its progress on one
// line it rewrites, and erases it at the end.
func TestCleanupProgress(t *testing.T) {
	tg, s := sqliteTarget(t)
	cfg := idempotency.Config{TTL: time.Millisecond}
	for i := range 25 {
		doOnce(t, s, cfg, fmt.Sprint("k", i))
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var st statsJSON
		decode(t, must(t, exitOK, tg.spec.cmd("stats", "-json")...), &st)
		if st.Expired == 25 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats: %+v; want 25 expired", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := idemctlTerm(t, "", true, tg.spec.cmd("cleanup", "-batch", "10")...)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "deleted 25 expired records in 3 batches (") {
		t.Fatalf("cleanup: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "\rcleanup: deleted 10 expired records in 1 batch (") || !strings.HasSuffix(r.stderr, "\r\x1b[K") {
		t.Errorf("progress on stderr: %q; want a line rewritten with \\r, erased at the end", r.stderr)
	}
	if r := must(t, exitOK, tg.spec.cmd("cleanup")...); !strings.HasPrefix(r.stdout, "deleted 0 expired records in 1 batch (") || r.stderr != "" {
		t.Errorf("second cleanup off a terminal: stdout %q, stderr %q; want no progress", r.stdout, r.stderr)
	}
}

// TestSchema: schema prints what migrate runs, without a DSN.
func TestSchema(t *testing.T) {
	out := must(t, exitOK, "schema", "-dialect", "postgres", "-table", "app.idem").stdout
	if !strings.Contains(out, `CREATE TABLE IF NOT EXISTS "app"."idem"`) {
		t.Errorf("schema printed\n%s", out)
	}
	var j schemaJSON
	decode(t, must(t, exitOK, "schema", "-json", "-dialect", "mysql"), &j)
	if j.Dialect != "mysql" || j.Table != "idempotency_keys" || !strings.Contains(j.DDL, "VARBINARY(255)") {
		t.Errorf("schema -json = %+v", j)
	}
	if out := must(t, exitOK, "schema", "-dialect", "redis").stdout; !strings.Contains(out, "Redis needs no schema") {
		t.Errorf("schema for Redis printed %q", out)
	}
}

// changingReader answers the prompt only after change has run: the record
// changes while the operator reads the question.
type changingReader struct {
	change func()
	answer *strings.Reader
}

func (r *changingReader) Read(p []byte) (int, error) {
	if r.change != nil {
		r.change()
		r.change = nil
	}
	return r.answer.Read(p)
}

// TestForgetRefusesWhatChanged: a key forgotten and claimed again by
// another call while forget waited for its answer is not forgotten: forget
// deletes only the record it showed.
func TestForgetRefusesWhatChanged(t *testing.T) {
	tg, s := sqliteTarget(t)
	doOnce(t, s, idempotency.Config{Namespace: "ops"}, "k")
	in := &changingReader{answer: strings.NewReader("y\n"), change: func() {
		// An operator elsewhere forgets it and a retry runs it again.
		if _, err := s.(idempotency.Inspector).Forget(context.Background(), "ops", "k"); err != nil {
			t.Error(err)
		}
		doOnce(t, s, idempotency.Config{Namespace: "ops"}, "k")
	}}
	var out, errb strings.Builder
	code := run(context.Background(), tg.spec.cmd("forget", "-namespace", "ops", "k"), stdio{in: in, out: &out, err: &errb, inTerminal: true})
	if code == exitOK || !strings.Contains(errb.String(), "changed while you were asked") {
		t.Fatalf("exit %d, stderr %q; want a refusal that says the record changed", code, errb.String())
	}
	must(t, exitOK, tg.spec.cmd("inspect", "-namespace", "ops", "k")...)
}
