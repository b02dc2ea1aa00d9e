// Command idemctl is the operator's tool for the records of
// github.com/idemkit/idempotency: it prints and applies the schema, looks
// up one key and forgets it, runs one cleanup pass and counts records, on
// PostgreSQL, MySQL/MariaDB, SQLite, Redis and Redis Cluster.
//
//	idemctl schema  -dialect postgres [-table T]
//	idemctl migrate -dialect postgres -dsn 'postgres://app@db/app' [-table T]
//	idemctl inspect -dialect mysql -dsn 'app@tcp(db:3306)/app' -namespace charges order-1
//	idemctl forget  -dialect sqlite -dsn /var/lib/app/idem.db -namespace charges [-yes] order-1
//	idemctl inspect -dialect redis -dsn 127.0.0.1:6379 -scope acct_42 8e03978e-40d5
//	idemctl cleanup -dialect postgres -dsn "$DATABASE_URL" [-batch 1000]
//	idemctl stats   -dialect redis-cluster -dsn 10.0.0.1:6379,10.0.0.2:6379 [-json]
//
// -dsn is a database/sql data source name (PostgreSQL through pgx, MySQL
// through go-sql-driver/mysql), a SQLite file's path (or a file: URI), or
// for Redis comma-separated addresses or a redis:// URL. -table (SQL) and
// -prefix (Redis) name the store's table or key prefix when not the
// default. The key is the last argument, exactly as stored (put -- before
// a key that starts with '-'); -scope S derives the key idemhttp stored
// for a client that sent it with scope S (idemhttp.StoredKey), in the
// namespace "http" unless -namespace says otherwise.
//
// Output is for people, unless -json asks for one JSON object on stdout.
// Times are the store's clock, in UTC. forget asks for confirmation when
// stdin is a terminal, unless -yes; without a terminal it needs -yes.
// cleanup shows its progress on a terminal; Redis expires records itself
// and needs no cleanup. stats reads every record (a table scan, or a SCAN
// of every Redis primary): bound it with -timeout.
//
// Exit codes:
//
//	0  done
//	1  the store failed or could not be reached
//	2  bad command line or input: unknown command, flag or dialect, missing
//	   -dsn, invalid key, or forget without -yes off a terminal
//	3  inspect, forget: no live record for the key (never claimed, released,
//	   forgotten or expired)
//	4  forget: not confirmed at the prompt; nothing was changed
//
// Errors are one line on stderr.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/mattn/go-isatty"
	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	redis.SetLogger(quietRedis{}) // dial errors reach the user once, as the error
	code := run(ctx, os.Args[1:], stdio{
		in:          os.Stdin,
		out:         os.Stdout,
		err:         os.Stderr,
		inTerminal:  isTerminal(os.Stdin),
		errTerminal: isTerminal(os.Stderr),
	})
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
