package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemcache"
	"github.com/idemkit/idempotency/internal/benchdb"
	"github.com/idemkit/idempotency/internal/countdriver"
	"github.com/idemkit/idempotency/sqlstore"
)

// namespace is the Manager's namespace; the floor writes the same column.
const namespace = "bench"

// request and response are a typical payment call: about 200 and 100 bytes
// of JSON.
type request struct {
	Account     string            `json:"account"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

type response struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Created  int64  `json:"created"`
}

var theRequest = request{
	Account:     "acct_1N2b3C4d5E6f7G8h",
	Amount:      12999,
	Currency:    "eur",
	Description: "Order #100234: 3 items, express shipping",
	Metadata:    map[string]string{"order_id": "100234", "customer": "cus_9f8e7d6c", "channel": "web"},
}

var theResponse = response{ID: "ch_3N4c5D6e7F8g9H0i", Status: "succeeded", Amount: 12999, Currency: "eur", Created: 1718000000}

func charge(context.Context, request) (response, error) { return theResponse, nil }

// bench holds one run's pool, store, Manager and hand-written statements.
type bench struct {
	dialect sqlstore.Dialect
	driver  string
	db      *sqlx.DB
	maxIdle int
	table   string
	target  *benchdb.Target
	store   *sqlstore.Store
	st      idempotency.Store // store, or the Redis store with -dialect redis
	mgr     *idempotency.Manager[request, response]
	// With the cache's variants (cachevariants.go): a Manager with
	// Config.Cache, and how many replay keys are the hot set.
	cmgr    *idempotency.Manager[request, response]
	cache   *idemcache.Cache
	hotKeys int
	txm     *idempotency.TxManager[request, response, *sqlx.Tx]
	sql     handSQL
	floor   floorStmts
	// orderInsert is the tx variants' business write (txvariants.go).
	orderInsert *sql.Stmt
	counter     *countdriver.Counter // nil unless -count

	// With -dialect redis or redis-cluster (redis.go).
	rdb         redis.UniversalClient
	redisPrefix string
	pg          *bench // Do on PostgreSQL beside it, with -pg-dsn

	runID      string
	seq        atomic.Int64
	replayKeys []string
	payload    []byte // theResponse encoded, as the floor stores it
	fp         string // a fingerprint-sized constant for the floor
	token      string // a token-sized constant for the floor
}

func setup(ctx context.Context, o options) (*bench, error) {
	for _, v := range o.variants {
		if v == pgDoNew || v == pgDoReplay {
			return nil, fmt.Errorf("variant %s runs with -dialect redis or redis-cluster and -pg-dsn", v)
		}
	}
	t, err := benchdb.Resolve(o.dialect, o.driver, o.dsn, "idembench")
	if err != nil {
		return nil, err
	}
	b := &bench{dialect: t.Dialect, driver: t.Driver, target: t, runID: benchdb.RandomHex(4)}
	dsn := t.DSN
	var db *sqlx.DB
	if o.count {
		raw, counter, err := countdriver.OpenDB(b.driver, dsn)
		if err != nil {
			b.target.Cleanup()
			return nil, err
		}
		db, b.counter = sqlx.NewDb(raw, b.driver), counter
	} else {
		db, err = sqlx.Open(b.driver, dsn)
		if err != nil {
			b.target.Cleanup()
			return nil, fmt.Errorf("open %s: %w", b.driver, err)
		}
	}
	b.db = db
	maxC := slices.Max(o.conc)
	db.SetMaxOpenConns(maxC)
	b.maxIdle = o.maxIdle
	if b.maxIdle < 0 {
		b.maxIdle = maxC
	}
	db.SetMaxIdleConns(b.maxIdle)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		b.target.Cleanup()
		return nil, fmt.Errorf("%s does not answer: %w", b.dialect, err)
	}

	b.table = "idembench_" + b.runID
	b.store, err = sqlstore.New(db, sqlstore.Config{Dialect: b.dialect, Table: b.table, ClaimOrder: o.order})
	if err == nil {
		err = b.store.Migrate(ctx)
	}
	if err == nil {
		b.st = b.store
		b.mgr, err = idempotency.New[request, response](b.store, idempotency.Config{Namespace: namespace})
	}
	if err == nil {
		err = b.setupCache(o)
	}
	if err == nil {
		b.sql = handWritten(b.dialect, benchdb.Quote(b.dialect, b.table))
		b.floor, err = b.sql.prepare(ctx, db)
	}
	if err == nil {
		err = b.setupTx(ctx)
	}
	if err != nil {
		b.close(context.WithoutCancel(ctx), false, io.Discard) //nolint:errcheck // reporting the first error
		return nil, err
	}
	b.payload, _ = json.Marshal(theResponse)
	fp, err := idempotency.Fingerprint(theRequest)
	if err != nil {
		return nil, err
	}
	b.fp = idempotency.FingerprintVersion + ":" + fp
	b.token = benchdb.RandomHex(16)
	return b, nil
}

func (b *bench) close(ctx context.Context, keep bool, log io.Writer) error {
	var first error
	if b.cache != nil {
		b.cache.Close()
	}
	b.floor.close()
	if b.orderInsert != nil {
		b.orderInsert.Close()
	}
	if b.store != nil {
		b.store.Close()
	}
	if !keep && b.table != "" {
		dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		for _, t := range []string{b.table, b.ordersTable()} {
			if _, err := b.db.ExecContext(dctx, "DROP TABLE IF EXISTS "+benchdb.Quote(b.dialect, t)); err != nil && first == nil {
				first = fmt.Errorf("drop table %s: %w", t, err)
			}
		}
	} else if keep {
		fmt.Fprintf(log, "idembench: kept table %s\n", b.table)
	}
	if err := b.db.Close(); err != nil && first == nil {
		first = err
	}
	b.target.Cleanup()
	return first
}

// newKey returns a key never used before in this table.
func (b *bench) newKey() string {
	return fmt.Sprintf("%s-%d", b.runID, b.seq.Add(1))
}

// prepareReplayKeys records k outcomes through Do for the replay variants.
func (b *bench) prepareReplayKeys(ctx context.Context, k int) error {
	b.replayKeys = make([]string, k)
	for i := range b.replayKeys {
		b.replayKeys[i] = fmt.Sprintf("replay-%s-%d", b.runID, i)
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	errc := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= k {
					return
				}
				if _, err := b.mgr.Do(ctx, b.replayKeys[i], theRequest, charge); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}
