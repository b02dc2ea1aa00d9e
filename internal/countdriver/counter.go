// Package countdriver wraps a database/sql driver and counts what it sends
// to the database: statements by kind, prepares, transactions and
// connections. Tests use it to pin the number of round trips and commits an
// operation costs, so that a regression fails CI instead of showing up as a
// slower benchmark.
//
// The wrapper forwards every optional interface database/sql takes a fast
// path for (ExecerContext, QueryerContext, ConnPrepareContext,
// ConnBeginTx, NamedValueChecker, SessionResetter, Validator, Pinger,
// DriverContext) and falls back exactly as database/sql would when the
// wrapped driver lacks one, so wrapping does not change which calls reach the
// server. Code that unwraps driver connections with sql.Conn.Raw sees the
// wrapper, not the driver's own type.
package countdriver

import (
	"database/sql/driver"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Kind is the first keyword of a statement, upper-cased: SELECT, INSERT,
// UPDATE, DELETE, WITH, BEGIN... The zero value "" is the kind of an empty
// statement. A Kind is a plain string, safe to share.
type Kind string

// KindOf returns the first keyword of query, skipping leading white space,
// SQL comments and opening parentheses.
func KindOf(query string) Kind {
	q := query
	for {
		q = strings.TrimLeft(q, " \t\r\n(")
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
			continue
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q, "*/")
			if i < 0 {
				return ""
			}
			q = q[i+2:]
			continue
		}
		break
	}
	end := strings.IndexFunc(q, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
	})
	if end < 0 {
		end = len(q)
	}
	return Kind(strings.ToUpper(q[:end]))
}

// Event is one statement the wrapper saw executed, kept while tracing is on.
// Its zero value describes no statement. An Event is not changed after
// [Counter.Events] returns it; share it read-only.
type Event struct {
	// Op is "exec" or "query".
	Op string
	// Kind is the statement's first keyword.
	Kind Kind
	// Query is the statement text as sent to the driver.
	Query string
	// Args are the statement's arguments after database/sql's conversion.
	Args []any
	// Prepared reports that the statement ran through a prepared
	// statement rather than directly on the connection.
	Prepared bool
}

// Counts is a snapshot of a [Counter]. Its zero value counts nothing (nil
// maps read as zero). A snapshot is not changed by later counting; share it
// read-only.
type Counts struct {
	// Statements counts executed statements (exec and query, direct or
	// through a prepared statement) by kind.
	Statements map[Kind]int
	// Prepares counts statements prepared on a connection, by kind.
	Prepares map[Kind]int
	// Reprepares counts prepares of a statement text that was already
	// prepared, and not yet closed, on the same connection: wasted round
	// trips.
	Reprepares int
	// Begins, Commits and Rollbacks count explicit transactions.
	Begins, Commits, Rollbacks int
	// Connects counts connections opened.
	Connects int
}

// Total returns the number of executed statements of every kind.
func (c Counts) Total() int {
	n := 0
	for _, v := range c.Statements {
		n += v
	}
	return n
}

// TotalPrepares returns the number of prepares of every kind.
func (c Counts) TotalPrepares() int {
	n := 0
	for _, v := range c.Prepares {
		n += v
	}
	return n
}

// Sub returns c minus prev: what happened between two snapshots.
func (c Counts) Sub(prev Counts) Counts {
	d := Counts{
		Statements: subMap(c.Statements, prev.Statements),
		Prepares:   subMap(c.Prepares, prev.Prepares),
		Reprepares: c.Reprepares - prev.Reprepares,
		Begins:     c.Begins - prev.Begins,
		Commits:    c.Commits - prev.Commits,
		Rollbacks:  c.Rollbacks - prev.Rollbacks,
		Connects:   c.Connects - prev.Connects,
	}
	return d
}

// String lists the non-zero counts, kinds sorted, for test failure messages.
func (c Counts) String() string {
	var b strings.Builder
	b.WriteString("statements{")
	writeMap(&b, c.Statements)
	b.WriteString("} prepares{")
	writeMap(&b, c.Prepares)
	b.WriteString("}")
	for _, f := range []struct {
		name string
		n    int
	}{{"reprepares", c.Reprepares}, {"begins", c.Begins}, {"commits", c.Commits}, {"rollbacks", c.Rollbacks}, {"connects", c.Connects}} {
		if f.n != 0 {
			b.WriteString(" " + f.name + "=")
			b.WriteString(strconv.Itoa(f.n))
		}
	}
	return b.String()
}

func subMap(a, b map[Kind]int) map[Kind]int {
	out := make(map[Kind]int)
	for k, v := range a {
		if d := v - b[k]; d != 0 {
			out[k] = d
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok && v != 0 {
			out[k] = -v
		}
	}
	return out
}

func writeMap(b *strings.Builder, m map[Kind]int) {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != 0 {
			keys = append(keys, string(k))
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(k + "=" + strconv.Itoa(m[Kind(k)]))
	}
}

// Counter accumulates what the connections of one wrapped driver did. It is
// safe for concurrent use. Its zero value is ready to use, counting from
// zero with tracing off.
type Counter struct {
	mu     sync.Mutex
	c      Counts
	trace  bool
	events []Event
}

// Snapshot returns a copy of the counts so far.
func (c *Counter) Snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.c
	s.Statements = copyMap(c.c.Statements)
	s.Prepares = copyMap(c.c.Prepares)
	return s
}

// Reset sets every count to zero and drops the trace.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c = Counts{}
	c.events = nil
}

// Trace turns recording of executed statements (with their arguments) on or
// off. Recording is off by default, so a long benchmark does not grow
// memory; turning it on or off keeps what was recorded.
func (c *Counter) Trace(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trace = on
}

// Events returns the statements recorded while tracing was on, oldest
// first, and forgets them.
func (c *Counter) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	ev := c.events
	c.events = nil
	return ev
}

func copyMap(m map[Kind]int) map[Kind]int {
	out := make(map[Kind]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *Counter) statement(op, query string, args []driver.NamedValue, prepared bool) {
	k := KindOf(query)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c.Statements == nil {
		c.c.Statements = make(map[Kind]int)
	}
	c.c.Statements[k]++
	if c.trace {
		vals := make([]any, len(args))
		for i, a := range args {
			vals[i] = a.Value
		}
		c.events = append(c.events, Event{Op: op, Kind: k, Query: query, Args: vals, Prepared: prepared})
	}
}

func (c *Counter) prepare(query string, reprepare bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c.Prepares == nil {
		c.c.Prepares = make(map[Kind]int)
	}
	c.c.Prepares[KindOf(query)]++
	if reprepare {
		c.c.Reprepares++
	}
}

func (c *Counter) add(field *int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*field++
}
