package sqlstore

import (
	"fmt"
	"reflect"
	"strconv"
)

// wrap names the operation that failed, keeping the driver's error for
// errors.As.
func (s *Store) wrap(op string, err error) error {
	return fmt.Errorf("sqlstore: %s on %s table %q: %w", op, s.dialect, s.table, err)
}

// isRetryable reports errors after which repeating the same statement is
// safe and likely to succeed: a deadlock, a serialization failure or a busy
// database file. Every statement is one autocommit
// transaction, so the failed one changed nothing.
func isRetryable(err error) bool {
	switch code := errorCode(err); code {
	case "40001", "40P01": // PostgreSQL serialization failure, deadlock
		return true
	case "mysql:1213", "mysql:1205": // MySQL deadlock, lock wait timeout
		return true
	case "sqlite:5", "sqlite:6": // SQLITE_BUSY, SQLITE_LOCKED
		return true
	}
	return false
}

// errorCode extracts a driver's error code without importing the driver (the
// user picks one): a SQLSTATE from pgx and lib/pq, "mysql:N" from
// go-sql-driver/mysql, "sqlite:N" (primary result code) from modernc.org/sqlite.
func errorCode(err error) string {
	for _, e := range chain(err) {
		if st, ok := e.(interface{ SQLState() string }); ok {
			return st.SQLState()
		}
		if c, ok := e.(interface{ Code() int }); ok { // modernc.org/sqlite
			return "sqlite:" + strconv.Itoa(c.Code()&0xff)
		}
		// go-sql-driver/mysql's *MySQLError has a Number field and no
		// method that exposes it.
		v := reflect.ValueOf(e)
		if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct &&
			v.Elem().Type().Name() == "MySQLError" {
			if n := v.Elem().FieldByName("Number"); n.IsValid() && n.CanUint() {
				return "mysql:" + strconv.FormatUint(n.Uint(), 10)
			}
		}
	}
	return ""
}

// chain lists err and every error it wraps, depth first.
func chain(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		out = append(out, e)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}
