package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/redisstore"
	"github.com/idemkit/idempotency/sqlstore"
)

// flagSet chooses the flags a command takes.
type flagSet uint

const (
	dsnFlag       flagSet = 1 << iota // -dsn, -prefix, -timeout: the command talks to the store
	keyFlag                           // KEY, -namespace, -scope
	namespaceFlag                     // -namespace alone: stats
	yesFlag                           // -yes
	batchFlag                         // -batch

	schemaFlags flagSet = 0 // -dialect, -table and -json: every command has them
	storeFlags          = dsnFlag
	keyFlags            = dsnFlag | keyFlag
)

// options are a command's flags and arguments, checked.
type options struct {
	dialect, dsn, table, prefix string
	namespace, scope, key       string
	clientKey                   string // with -scope: the key as the client sent it
	json, yes                   bool
	timeout                     time.Duration
	batch                       int
	set                         map[string]bool // the flags given
}

func (o *options) isRedis() bool { return o.dialect == "redis" || o.dialect == "redis-cluster" }

func define(c command, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("idemctl "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line, by main
	fs.StringVar(&o.dialect, "dialect", "", "the store: postgres, mysql, sqlite, redis or redis-cluster (required)")
	fs.StringVar(&o.table, "table", sqlstore.DefaultTable, "SQL: the table")
	fs.BoolVar(&o.json, "json", false, "print one JSON object, for scripts")
	if c.flags&dsnFlag != 0 {
		fs.StringVar(&o.dsn, "dsn", "", "the database/sql DSN, the SQLite file, or Redis addresses (comma-separated) or a redis:// URL (required)")
		fs.StringVar(&o.prefix, "prefix", redisstore.DefaultPrefix, "Redis: the key prefix")
		fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "bound on the command (cleanup: on each batch); 0 for none")
	}
	switch {
	case c.flags&keyFlag != 0:
		fs.StringVar(&o.namespace, "namespace", "", `the key's namespace (Config.Namespace); with -scope, defaults to idemhttp's "http"`)
	case c.flags&namespaceFlag != 0:
		fs.StringVar(&o.namespace, "namespace", "", "count only this namespace")
	}
	if c.flags&keyFlag != 0 {
		fs.StringVar(&o.scope, "scope", "", "idemhttp: the scope the client's requests had; KEY is then the client's Idempotency-Key")
	}
	if c.flags&yesFlag != 0 {
		fs.BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
	}
	if c.flags&batchFlag != 0 {
		fs.IntVar(&o.batch, "batch", idempotency.DefaultBatchSize, "records deleted per batch")
	}
	return fs
}

// parse reads a command's flags and arguments. Flags may follow the key;
// "--" ends the flags.
func parse(c command, args []string) (*options, error) {
	o := &options{set: map[string]bool{}}
	fs := define(c, o)
	rest, after := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		rest, after = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError("%v (idemctl %s -h lists its flags)", err, c.name)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	pos = append(pos, after...)
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	want := 0
	if c.flags&keyFlag != 0 {
		want = 1
	}
	switch {
	case len(pos) == want && want == 1:
		o.key = pos[0]
	case len(pos) != want && want == 1:
		return nil, usageError("want one KEY argument, got %d (put -- before a key that starts with '-')", len(pos))
	case len(pos) != want:
		return nil, usageError("takes no arguments, got %q", strings.Join(pos, " "))
	}
	return o, nil
}

// check validates the options of command c before anything is opened.
func (o *options) check(c command) error {
	switch o.dialect {
	case "postgres", "mysql", "sqlite", "redis", "redis-cluster":
	case "":
		return usageError("-dialect is required: postgres, mysql, sqlite, redis or redis-cluster")
	default:
		return usageError("unknown -dialect %q: want postgres, mysql, sqlite, redis or redis-cluster", o.dialect)
	}
	if o.isRedis() {
		if o.set["table"] {
			return usageError("-table is for SQL stores; a Redis store has -prefix")
		}
		if err := checkPrefix(o.prefix); err != nil {
			return err
		}
	} else {
		if o.set["prefix"] {
			return usageError("-prefix is for Redis stores; a SQL store has -table")
		}
		if _, err := sqlstore.Schema(sqlstore.Dialect(o.dialect), o.table); err != nil {
			return usageError("%v", err)
		}
	}
	if c.flags&dsnFlag != 0 {
		if o.dsn == "" {
			return usageError("-dsn is required: %s", dsnHelp(o.dialect))
		}
		if o.timeout < 0 {
			return usageError("-timeout %v is negative", o.timeout)
		}
	}
	if c.flags&batchFlag != 0 && o.batch <= 0 {
		return usageError("-batch %d: want a positive number of records", o.batch)
	}
	if o.namespace != "" {
		if err := idempotency.CheckKey(o.namespace); err != nil {
			return fmt.Errorf("-namespace: %w", err)
		}
	}
	if c.flags&keyFlag != 0 {
		return o.checkKey()
	}
	return nil
}

// checkKey validates KEY and, with -scope, derives the stored key.
func (o *options) checkKey() error {
	if err := idempotency.CheckKey(o.key); err != nil {
		return fmt.Errorf("KEY: %w", err)
	}
	if !o.set["scope"] {
		return nil
	}
	if len(o.key) > idemhttp.MaxKeyLen {
		return fmt.Errorf("KEY: %w: %d bytes, over idemhttp's limit of %d: the middleware never stored it", idempotency.ErrInvalidKey, len(o.key), idemhttp.MaxKeyLen)
	}
	o.clientKey, o.key = o.key, idemhttp.StoredKey(o.scope, o.key)
	if !o.set["namespace"] {
		o.namespace = idemhttp.DefaultNamespace
	}
	return nil
}

// checkPrefix applies redisstore's rules for Config.Prefix before anything
// connects, so that a typo is a usage error; redisstore.New checks them too.
func checkPrefix(p string) error {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`{}*?[]\`, c) >= 0 {
			return usageError("-prefix %q: want printable ASCII without spaces, braces or glob characters", p)
		}
	}
	return nil
}

func dsnHelp(dialect string) string {
	switch dialect {
	case "postgres":
		return "for example 'postgres://user@host:5432/db?sslmode=disable'"
	case "mysql":
		return "for example 'user:password@tcp(host:3306)/db'"
	case "sqlite":
		return "the database file's path"
	case "redis":
		return "the server's address, for example 127.0.0.1:6379, or a redis:// URL"
	default:
		return "the cluster's seed addresses, comma-separated"
	}
}

// usage prints the command's synopsis and flags.
func (c command) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: idemctl %s [flags] %s\n\n%s.\n\nflags:\n", c.name, c.args, c.help)
	fs := define(c, &options{})
	fs.SetOutput(w)
	fs.PrintDefaults()
}
