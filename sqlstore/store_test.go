package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idempotencytest"
	"github.com/idemkit/idempotency/internal/testdb"
	"github.com/idemkit/idempotency/sqlstore"
)

func TestNewValidatesConfig(t *testing.T) {
	db := sqlx.NewDb(&sql.DB{}, "sqlite")
	bad := []sqlstore.Config{
		{},
		{Dialect: "oracle"},
		{Dialect: sqlstore.Postgres, Table: "x; DROP TABLE y"},
		{Dialect: sqlstore.Postgres, Table: `x"y`},
		{Dialect: sqlstore.MySQL, Table: "x`y"},
		{Dialect: sqlstore.Postgres, Table: "1abc"},
		{Dialect: sqlstore.Postgres, Table: strings.Repeat("t", 64)},
		{Dialect: sqlstore.Postgres, Table: "a.b.c"},
		{Dialect: sqlstore.SQLite, Table: "main.keys"},
		{Dialect: sqlstore.Postgres, Table: "tablé"},
		{Dialect: sqlstore.Postgres, ClaimOrder: sqlstore.ReadFirst + 1},
		{Dialect: sqlstore.Postgres, ClaimOrder: -1},
	}
	for _, cfg := range bad {
		if _, err := sqlstore.New(db, cfg); err == nil {
			t.Errorf("New(%+v): nil error", cfg)
		}
	}
	if _, err := sqlstore.New(nil, sqlstore.Config{Dialect: sqlstore.SQLite}); err == nil {
		t.Error("New(nil db): nil error")
	}
	for _, cfg := range []sqlstore.Config{
		{Dialect: sqlstore.SQLite},
		{Dialect: sqlstore.Postgres, Table: "public.idem_keys"},
		{Dialect: sqlstore.MySQL, Table: "app.Idem_Keys_2"},
		{Dialect: sqlstore.MySQL, Table: "order"}, // reserved words are quoted
		{Dialect: sqlstore.SQLite, ClaimOrder: sqlstore.ReadFirst},
		{Dialect: sqlstore.SQLite, ClaimOrder: sqlstore.WriteFirst},
	} {
		s, err := sqlstore.New(db, cfg)
		if err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
			continue
		}
		if cfg.Table == "" && s.Table() != sqlstore.DefaultTable {
			t.Errorf("default table = %q", s.Table())
		}
	}
}

func TestSchemaIndexNamesNeverCollide(t *testing.T) {
	long1 := strings.Repeat("a", 60) + "_one"[:3]
	long2 := strings.Repeat("a", 60) + "_tw"
	seen := map[string]string{}
	for _, table := range []string{"idempotency_keys", long1, long2, "s1.keys", strings.Repeat("b", 63)} {
		ddl, err := sqlstore.Schema(sqlstore.Postgres, table)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(ddl, "CREATE INDEX IF NOT EXISTS ")
		name := strings.Fields(ddl[i+len("CREATE INDEX IF NOT EXISTS "):])[0]
		if len(strings.Trim(name, `"`)) > 63 {
			t.Errorf("index name %s is over 63 bytes", name)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("tables %q and %q share index name %s", prev, table, name)
		}
		seen[name] = table
	}
	if _, err := sqlstore.Schema("db2", "t"); err == nil {
		t.Error("Schema of an unknown dialect: nil error")
	}
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		t.Parallel()
		f := testdb.NewFixture(t, b)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			s, err := sqlstore.New(f.Open(t), sqlstore.Config{Dialect: b.Dialect, Table: f.Table})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Migrate(context.Background())
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
		}
		s := f.Store(t) // migrates once more
		if err := s.Migrate(context.Background()); err != nil {
			t.Errorf("repeated Migrate: %v", err)
		}
	})
}

// TestMySQLSessionSettingsDoNotMatter runs the conformance suite with DSNs
// that change how the driver reads times and the session's time zone: the
// store reads no timestamps and compares with UTC_TIMESTAMP(6).
func TestMySQLSessionSettingsDoNotMatter(t *testing.T) {
	testdb.RequireAll(t)
	var base *testdb.Backend
	for _, b := range testdb.Backends() {
		if b.Dialect == sqlstore.MySQL {
			base = &b
		}
	}
	if base == nil {
		t.Skip("no MySQL DSN")
	}
	sep := "?"
	if strings.Contains(base.DSN, "?") {
		sep = "&"
	}
	variants := map[string]string{
		"parseTime":       "parseTime=true",
		"noParseTime":     "parseTime=false",
		"timeZone+05:30":  "time_zone=" + url.QueryEscape("'+05:30'") + "&parseTime=true",
		"timeZone-11:00":  "time_zone=" + url.QueryEscape("'-11:00'") + "&loc=Local",
		"clientFoundRows": "clientFoundRows=true",
	}
	for name, opts := range variants {
		b := *base
		b.DSN += sep + opts
		t.Run(name, func(t *testing.T) {
			idempotencytest.Run(t, func(t *testing.T) idempotency.Store { return testdb.NewStore(t, b) })
		})
	}
}

// TestPostgresSessionTimeZoneDoesNotMatter: timestamptz and now() compare
// instants, whatever the session's TimeZone.
func TestPostgresSessionTimeZoneDoesNotMatter(t *testing.T) {
	testdb.RequireAll(t)
	for _, b := range testdb.Backends() {
		if b.Dialect != sqlstore.Postgres {
			continue
		}
		sep := "?"
		if strings.Contains(b.DSN, "?") {
			sep = "&"
		}
		b.DSN += sep + "timezone=Pacific%2FKiritimati"
		t.Run(b.Name, func(t *testing.T) {
			idempotencytest.Run(t, func(t *testing.T) idempotency.Store { return testdb.NewStore(t, b) })
		})
	}
}

// TestPostgresInfiniteExpiry: a row someone made immortal by hand
// (expires_at = 'infinity') is replayed, and the store does not claim to
// know how long it has left, so no cache keeps it.
func TestPostgresInfiniteExpiry(t *testing.T) {
	testdb.RequireAll(t)
	for _, b := range testdb.Backends() {
		if b.Dialect != sqlstore.Postgres {
			continue // only PostgreSQL has an infinite timestamp
		}
		t.Run(b.Name, func(t *testing.T) { testPostgresInfiniteExpiry(t, b) })
	}
}

func testPostgresInfiniteExpiry(t *testing.T, b testdb.Backend) {
	t.Parallel()
	f := testdb.NewFixture(t, b)
	s := f.Store(t)
	ctx := context.Background()
	req := idempotency.ClaimRequest{Namespace: "ns", Key: "k", Fingerprint: "v1:fp", Token: "tok", Lease: time.Minute, TTL: time.Hour}
	if _, err := s.Claim(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, idempotency.Lock{Namespace: "ns", Key: "k", Token: "tok"}, idempotency.StateCompleted, []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	f.Open(t).MustExecContext(ctx, "UPDATE "+f.Table+" SET expires_at = 'infinity'")
	for _, order := range sqlstore.ClaimOrders {
		sqlstore.ForceClaimOrder(s, order)
		req.Token = fmt.Sprint("other-", order)
		res, err := s.Claim(ctx, req)
		if err != nil || res.Claimed || string(res.Record.Payload) != "v" || res.Record.ExpiresIn != 0 {
			t.Errorf("%s: Claim = %+v, %v; want the replay, with ExpiresIn 0", order, res, err)
		}
	}
}
