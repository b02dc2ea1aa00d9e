package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput: each mistake gets one line on stderr that names it, a
// non-zero exit code that says what kind it is, and nothing on stdout.
func TestBadInput(t *testing.T) {
	tg, _ := sqliteTarget(t)
	db := tg.spec.DSN
	sqlite := []string{"-dialect", "sqlite", "-dsn", db}
	cmd := func(parts ...any) []string {
		var a []string
		for _, p := range parts {
			switch p := p.(type) {
			case string:
				a = append(a, p)
			case []string:
				a = append(a, p...)
			}
		}
		return a
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", cmd("purge"), exitUsage, `unknown command "purge"`},
		{"unknown dialect", cmd("inspect", "-dialect", "oracle", "-dsn", "x", "k"), exitUsage, `unknown -dialect "oracle"`},
		{"no dialect", cmd("stats", "-dsn", db), exitUsage, "-dialect is required"},
		{"no dsn", cmd("stats", "-dialect", "postgres"), exitUsage, "-dsn is required"},
		{"unknown flag", cmd("stats", sqlite, "-verbose"), exitUsage, "flag provided but not defined: -verbose"},
		{"no key", cmd("inspect", sqlite), exitUsage, "want one KEY argument, got 0"},
		{"two keys", cmd("inspect", sqlite, "a", "b"), exitUsage, "want one KEY argument, got 2"},
		{"argument to stats", cmd("stats", sqlite, "extra"), exitUsage, `takes no arguments, got "extra"`},
		{"empty key", cmd("inspect", sqlite, ""), exitUsage, "KEY: idempotency: invalid key"},
		{"invalid UTF-8 key", cmd("inspect", sqlite, "a\xffb"), exitUsage, "not valid UTF-8"},
		{"long key", cmd("forget", sqlite, "-yes", strings.Repeat("k", 256)), exitUsage, "256 bytes"},
		{"long client key", cmd("inspect", sqlite, "-scope", "acct", strings.Repeat("k", 223)), exitUsage, "over idemhttp's limit of 222"},
		{"invalid namespace", cmd("inspect", sqlite, "-namespace", "a\xff", "k"), exitUsage, "-namespace: idempotency: invalid key"},
		{"bad table", cmd("inspect", sqlite, "-table", "x; DROP TABLE y", "k"), exitUsage, "invalid Config.Table"},
		{"prefix on SQL", cmd("stats", sqlite, "-prefix", "p"), exitUsage, "-prefix is for Redis stores"},
		{"table on Redis", cmd("stats", "-dialect", "redis", "-dsn", "127.0.0.1:1", "-table", "t"), exitUsage, "-table is for SQL stores"},
		{"bad prefix", cmd("stats", "-dialect", "redis", "-dsn", "127.0.0.1:1", "-prefix", "{p}"), exitUsage, "-prefix \"{p}\""},
		{"several Redis addresses", cmd("stats", "-dialect", "redis", "-dsn", "127.0.0.1:1,127.0.0.1:2"), exitUsage, "use -dialect redis-cluster"},
		{"bad batch", cmd("cleanup", sqlite, "-batch", "0"), exitUsage, "-batch 0"},
		{"forget off a terminal", cmd("forget", sqlite, "k"), exitUsage, "pass -yes"},
		{"no such key", cmd("inspect", sqlite, "-namespace", "ops", "k"), exitNotFound, `no live record for key k in namespace ops`},
		{"no such key to forget", cmd("forget", sqlite, "-yes", "k"), exitNotFound, `no live record for key k in namespace ""`},
		{"missing SQLite file", cmd("inspect", "-dialect", "sqlite", "-dsn", filepath.Join(t.TempDir(), "none.db"), "k"), exitFailure, "no SQLite database at"},
		{"missing table", cmd("inspect", sqlite, "-table", "nosuch", "k"), exitFailure, "is -table right?"},
		{"PostgreSQL unreachable", cmd("inspect", "-dialect", "postgres", "-dsn", "postgres://postgres@127.0.0.1:1/test?sslmode=disable", "k"), exitFailure, "cannot reach the postgres database"},
		{"MySQL unreachable", cmd("stats", "-dialect", "mysql", "-dsn", "root@tcp(127.0.0.1:1)/test"), exitFailure, "cannot reach the mysql database"},
		{"MySQL DSN malformed", cmd("stats", "-dialect", "mysql", "-dsn", "not a dsn"), exitFailure, "mysql"},
		{"Redis unreachable", cmd("forget", "-dialect", "redis", "-dsn", "127.0.0.1:1", "-yes", "k"), exitFailure, "cannot reach redis at 127.0.0.1:1"},
		{"Redis URL malformed", cmd("stats", "-dialect", "redis", "-dsn", "redis://127.0.0.1:6379/notanumber"), exitUsage, "-dsn"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := idemctl(t, "", c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "idemctl") || r.stdout != "" {
				t.Errorf("idemctl %q: exit %d, stdout %q, stderr %q; want exit %d and one line on stderr with %q", c.args, r.code, r.stdout, r.stderr, c.code, c.want)
			}
		})
	}
}
