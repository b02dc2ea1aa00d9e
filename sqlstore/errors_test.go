package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/idemkit/idempotency"
)

func TestRetryableDriverErrors(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40P01"}, true},
		{&pgconn.PgError{Code: "40001"}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{&pq.Error{Code: "40P01"}, true},
		{&pq.Error{Code: "42P01"}, false},
		{&mysql.MySQLError{Number: 1213}, true},
		{&mysql.MySQLError{Number: 1205}, true},
		{&mysql.MySQLError{Number: 1146}, false},
		{fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 1213}), true},
		{errors.Join(errors.New("x"), &pq.Error{Code: "40001"}), true},
		{errors.New("connection refused"), false},
	}
	for _, c := range cases {
		if got := isRetryable(c.err); got != c.want {
			t.Errorf("isRetryable(%#v) = %v; want %v", c.err, got, c.want)
		}
	}
}

// TestClaimRetriesDeadlock uses go-sqlmock because a real server cannot be
// made to deadlock on one statement on demand.
func TestClaimRetriesDeadlock(t *testing.T) {
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherRegexp))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(sqlx.NewDb(db, "mysql"), Config{Dialect: MySQL})
	if err != nil {
		t.Fatal(err)
	}
	// A new store writes first: the insert deadlocks, and the retry reads
	// the row a rival wrote.
	mock.ExpectPrepare(regexp.QuoteMeta("INSERT IGNORE")).
		ExpectExec().WillReturnError(&mysql.MySQLError{Number: 1213, Message: "Deadlock found"})
	sel := mock.ExpectPrepare(regexp.QuoteMeta("SELECT state, fingerprint"))
	sel.ExpectQuery().WillReturnError(&mysql.MySQLError{Number: 1213, Message: "Deadlock found"})
	sel.ExpectQuery().WillReturnRows(sqlmock.NewRows([]string{"state", "fingerprint", "payload", "expired", "lapsed", "left"}).
		AddRow(1, "fp", []byte("done"), false, false, int64(3600e6)))

	res, err := s.Claim(context.Background(), idempotency.ClaimRequest{
		Key: "k", Fingerprint: "fp", Token: "t", Lease: time.Second, TTL: time.Hour,
	})
	if err != nil {
		t.Fatalf("Claim after one deadlock: %v; want the retry to succeed", err)
	}
	if res.Claimed || string(res.Record.Payload) != "done" {
		t.Errorf("Claim = %+v; want the completed record", res)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
}

// TestConnectionErrorsNameTheOperation: a failure that is not a lost race
// is returned at once, wrapped with the operation and table.
func TestConnectionErrorsNameTheOperation(t *testing.T) {
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherRegexp))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(sqlx.NewDb(db, "postgres"), Config{Dialect: Postgres, Table: "keys"})
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("dial tcp: connection refused")
	mock.ExpectPrepare("UPDATE").ExpectExec().WillReturnError(down)
	err = s.Renew(context.Background(), idempotency.Lock{Key: "k", Token: "t"}, time.Second, time.Hour)
	if !errors.Is(err, down) || errors.Is(err, idempotency.ErrLeaseLost) {
		t.Fatalf("Renew = %v; want the connection error, not a lost lease", err)
	}
	if want := `sqlstore: renew lease on postgres table "keys"`; !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(err.Error()) {
		t.Errorf("error %q does not name the operation (%q)", err, want)
	}
}

// TestCleanupFallsBackWithoutReadCommitted: a MySQL server logging statements
// (binlog_format=STATEMENT) refuses writes under READ COMMITTED with error
// 1665; the cleanup batch then runs at the session's isolation. go-sqlmock,
// because the server here has no binary log to switch.
func TestCleanupFallsBackWithoutReadCommitted(t *testing.T) {
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherRegexp))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(sqlx.NewDb(db, "mysql"), Config{Dialect: MySQL})
	if err != nil {
		t.Fatal(err)
	}
	oldest := sqlmock.NewRows([]string{"min"}).AddRow("2026-01-01 00:00:00.000000")
	mock.ExpectBegin()
	mock.ExpectQuery("SELECT CAST\\(MIN").WillReturnRows(oldest)
	mock.ExpectExec("DELETE FROM").WillReturnError(&mysql.MySQLError{Number: 1665, Message: "binlog_format=STATEMENT"})
	mock.ExpectRollback()
	mock.ExpectBegin()
	mock.ExpectQuery("SELECT CAST\\(MIN").WillReturnRows(sqlmock.NewRows([]string{"min"}).AddRow("2026-01-01 00:00:00.000000"))
	mock.ExpectExec("DELETE FROM").WillReturnResult(sqlmock.NewResult(0, 7))
	mock.ExpectCommit()

	n, err := s.DeleteExpired(context.Background(), 10)
	if err != nil || n != 7 {
		t.Fatalf("DeleteExpired = %d, %v; want 7 deleted after the fallback", n, err)
	}
	if !s.noReadCommitted.Load() {
		t.Error("the fallback was not remembered")
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
}
