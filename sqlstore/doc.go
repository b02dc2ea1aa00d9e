// Package sqlstore is the [idempotency.Store] for SQL databases: PostgreSQL,
// MySQL/MariaDB and SQLite, through any database/sql driver wrapped in
// [github.com/jmoiron/sqlx]. It imports no driver: the application picks one.
//
//	db, err := sql.Open("pgx", dsn) // or "postgres" (lib/pq), "mysql", "sqlite"
//	store, err := sqlstore.New(sqlx.NewDb(db, "pgx"), sqlstore.Config{Dialect: sqlstore.Postgres})
//	err = store.Migrate(ctx) // or apply sqlstore.Schema(...) with a migration tool
//
// # Schema
//
// One table (Config.Table, default "idempotency_keys") keyed by (namespace,
// idem_key), with an index on expires_at for the cleaner. [Store.Migrate]
// creates both if missing and is safe to run from many instances at once;
// [Schema] returns the same DDL for goose, golang-migrate or atlas. Keys are
// compared as exact bytes on every backend: binary columns on MySQL, the "C"
// collation on PostgreSQL, SQLite's default BINARY collation.
//
// # Statements
//
// No explicit transaction on the hot path: every statement there is
// autocommit. (A MySQL cleanup batch runs its DELETE in a short READ
// COMMITTED transaction, which takes no gap locks.)
//
//	operation       every dialect
//	new key         1 INSERT + 1 UPDATE
//	replay          1 SELECT by primary key
//	expired key     as a replay, then 2 UPDATE
//	lease renewal   1 UPDATE
//	release         1 DELETE
//	cleanup batch   1 DELETE
//
// Off the hot path, for operators ([idempotency.Inspector],
// [idempotency.StatsReader]): Inspect is one SELECT by primary key, Forget
// one DELETE by primary key, and Stats one grouped scan of the whole table.
//
// The table shows each case where the store expects it. A claim cannot know
// whether its key is new before it asks, so the store keeps a moving estimate
// of how many recent claims found their key already recorded and orders its
// statements for the common case:
//
//   - While most claims are new keys (the usual traffic), it writes first:
//     a new key costs what a hand-written claim costs. A retry in between
//     costs one statement more, the insert that finds the key before the
//     SELECT that reads it. On PostgreSQL that insert writes and locks
//     nothing; InnoDB holds a shared lock on the row for the statement,
//     SQLite its write lock.
//   - Once most claims find their key (a retry storm, a queue redelivering
//     a backlog), it reads first: a replay is one plain SELECT that never
//     writes or locks, and a new key pays that SELECT before its insert.
//
// It switches after about a dozen claims that went the other way;
// Config.ClaimOrder can pin either order instead (see [ClaimOrder], and
// BENCHMARKS.md for what each costs). Both orders are complete claim
// protocols, tested alike; only their cost differs.
//
// The claim is one atomic statement on the primary key (INSERT … ON CONFLICT
// DO NOTHING, INSERT IGNORE), never check-then-insert; taking over an
// expired record or a lapsed lease is a separate conditional UPDATE. Every
// write after the claim carries the owner's token, so a late owner changes
// nothing; a write that changed no row is followed by a SELECT that tells
// "already done by me" (a retried completion, or MySQL's changed-rows count)
// from "lease lost". Statements are prepared once per connection
// (go-sql-driver/mysql would otherwise prepare, execute and close each one:
// two round trips).
//
// # Transactions
//
// *Store is also an [idempotency.TxStore] of *sqlx.Tx, for
// [idempotency.TxManager]: the claim, the function's writes and the outcome
// in one transaction.
//
//	operation              statements
//	new key                BEGIN, INSERT (claim), fn's own, UPDATE (outcome), COMMIT
//	replay, reading first  1 SELECT by primary key, no transaction
//	DoIn, new key          SELECT, SAVEPOINT, as a new key, RELEASE SAVEPOINT
//	DoIn, replay           1 SELECT by primary key in the caller's transaction
//
// An uncommitted claim would make a rival's insert of the same key wait for
// as long as the function runs. The claim's INSERT takes a lock on the key
// that answers at once instead, and a rival that cannot take it gets
// [idempotency.ErrInProgress]: pg_try_advisory_xact_lock on PostgreSQL
// (released with the transaction), GET_LOCK(name, 0) on MySQL (released by
// the outcome's UPDATE, or after the rollback on the transaction's own
// connection). When the insert finds the key, MySQL reads it with SELECT …
// FOR UPDATE NOWAIT, which sees the latest commit even in an older
// REPEATABLE READ snapshot and fails at once on a row in flight. SQLite has
// one writer at a time: a rival waits for it, up to the busy timeout.
//
// A transaction the store opens uses the database's default isolation
// level and lives at most the claim's lease: the store rolls it back when
// the lease runs out, and on PostgreSQL sets idle_in_transaction_session_timeout
// to the lease for it, so that the server ends a transaction whose client
// hung. The statements it needs are prepared on the pool before it takes a
// connection.
//
// # Clocks
//
// Leases and expiry are compared with the database clock:
// statement_timestamp() with timestamptz on PostgreSQL (now() would be the
// start of the caller's transaction inside TxManager.DoIn); UTC_TIMESTAMP(6) with DATETIME(6) on MySQL, so
// neither parseTime nor the session time_zone matters. On SQLite, which runs
// inside the calling process and (in WAL mode) on one host only, the
// database clock is that host's clock: the store passes it, in integer Unix
// milliseconds, as a statement argument, which is cheaper than computing it
// in SQL on every statement.
//
// # Errors
//
// Deadlocks, serialization failures and busy SQLite files are retried inside
// the store, where that is safe (each retried statement or batch is its own
// transaction, so a failed one changed nothing).
// Other errors are returned wrapped with the operation and table that failed;
// the driver's error stays reachable with errors.As.
//
// # SQLite
//
// Open SQLite with [SQLiteDSN], which sets a busy timeout and WAL: several
// pools and processes can then share one file, because every write is one
// autocommit statement.
//
// # Pool settings
//
// Statements are prepared per connection, so keep connections: set
// db.SetMaxIdleConns to the pool's working concurrency. With database/sql's
// default of 2 idle connections a busy pool reconnects and prepares again
// constantly.
//
// A Store is safe for concurrent use by many goroutines, pools and
// processes.
package sqlstore
