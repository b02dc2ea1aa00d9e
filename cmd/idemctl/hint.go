package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// hint returns advice for an error whose cause the user can fix, or "".
func hint(err error) string {
	if missingTable(err) {
		return "is -table right? (idemctl migrate creates the table)"
	}
	return ""
}

// missingTable reports a statement that failed because the table does not
// exist, on each driver idemctl uses.
func missingTable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "42P01" // undefined_table
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1146 // ER_NO_SUCH_TABLE
	}
	return strings.Contains(err.Error(), "no such table") // SQLite names no code of its own for it
}

// plural returns "1 batch" or "2 batches".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
