package sqlstore

// inspectQueries are the operator's statements: looking up one key,
// forgetting it, and counting records. None is on a hot path. Arguments as
// in [queries]: in the order of each comment, "+now" for SQLite's clock.
//
// Times are returned as integers in the dialect's unit (microseconds, or
// milliseconds on SQLite), never as the driver's time values, so that the
// DSN's parseTime and time zone settings do not matter.
type inspectQueries struct {
	// inspect(ns, key +now) -> state, fingerprint, created, expires,
	// locked_until, now, payload length (NULL while processing), expired.
	inspect string
	// forget(ns, key +now) deletes the live record, whatever its state.
	forget string
	// stats(+now) -> namespace, state, expired, records, lapsed, oldest
	// expiry, now; one row per namespace, state and expired-or-not.
	stats string
	// now(+now) -> the database clock.
	now string
}

func buildInspectQueries(d Dialect, t string) inspectQueries {
	var now, micros func(string) string
	var ns, key, nowArg string // placeholders
	switch d {
	case Postgres:
		now = func(string) string { return `statement_timestamp()` }
		micros = func(x string) string { return `(EXTRACT(EPOCH FROM ` + x + `) * 1000000)::bigint` }
		ns, key = `$1`, `$2`
	case MySQL:
		// UTC_TIMESTAMP(6): the columns hold UTC, so the difference from
		// the epoch is Unix time, whatever the session time zone.
		now = func(string) string { return `UTC_TIMESTAMP(6)` }
		micros = func(x string) string { return `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ` + x + `)` }
		ns, key = `?`, `?`
	default:
		// Integer milliseconds already; the clock is the "+now" argument,
		// whose position differs between statements.
		now = func(arg string) string { return arg }
		micros = func(x string) string { return x }
		ns, key, nowArg = `?1`, `?2`, `?3`
	}
	payloadLen := `octet_length(payload)`
	if d == SQLite {
		payloadLen = `length(CAST(payload AS BLOB))` // length() of text counts characters
	} else if d == MySQL {
		payloadLen = `LENGTH(payload)` // bytes
	}
	n := now(nowArg)
	q := inspectQueries{
		inspect: `SELECT state, fingerprint, ` + micros(`created_at`) + `, ` + micros(`expires_at`) + `, ` +
			micros(`locked_until`) + `, ` + micros(n) + `, ` + payloadLen + `, expires_at <= ` + n +
			` FROM ` + t + ` WHERE namespace = ` + ns + ` AND idem_key = ` + key,
		forget: `DELETE FROM ` + t + ` WHERE namespace = ` + ns + ` AND idem_key = ` + key + ` AND expires_at > ` + n,
	}
	if d == SQLite {
		n = now(`?1`)
	}
	// A full scan, grouped: counting cannot be cheaper than reading every
	// row once. MAX() around the clock keeps it an aggregate for MySQL's
	// ONLY_FULL_GROUP_BY.
	q.stats = `SELECT namespace, state, expires_at <= ` + n + `, COUNT(*),` +
		` SUM(CASE WHEN state = 0 AND locked_until <= ` + n + ` THEN 1 ELSE 0 END),` +
		` ` + micros(`MIN(expires_at)`) + `, MAX(` + micros(n) + `)` +
		` FROM ` + t + ` GROUP BY 1, 2, 3`
	q.now = `SELECT ` + micros(n)
	return q
}
