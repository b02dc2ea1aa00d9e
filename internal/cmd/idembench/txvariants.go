package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/internal/benchdb"
)

// The TxManager variants: fn writes one order row in the database that
// holds the keys (DESIGN.md §9.8).
const (
	// TxManager.Do, a new key: claim, fn's order, outcome, one commit.
	txNew = "tx-new"
	// The floor of that: BEGIN; claim INSERT; order INSERT; outcome
	// UPDATE; COMMIT, hand-written and prepared.
	floorTxNew = "floor-tx-new"
	// Manager.Do whose fn writes its order in a transaction of its own:
	// three commits, and a crash between them runs fn twice.
	doTxNew = "do-tx-new"
	// TxManager.Do, a completed key.
	txReplay = "tx-replay"
)

// txVariants are the comparisons of "-variants tx".
var txVariants = []string{txNew, floorTxNew, doTxNew, txReplay, floorReplay}

// ordersTable is the business table of the tx variants.
func (b *bench) ordersTable() string { return b.table + "_orders" }

// setupTx creates the orders table, prepares its insert and the TxManager.
func (b *bench) setupTx(ctx context.Context) error {
	t := benchdb.Quote(b.dialect, b.ordersTable())
	if _, err := b.db.ExecContext(ctx, "CREATE TABLE "+t+" (k VARCHAR(255) NOT NULL, amount BIGINT NOT NULL)"); err != nil {
		return fmt.Errorf("create orders table: %w", err)
	}
	var err error
	if b.orderInsert, err = b.db.PrepareContext(ctx, rebind(b.dialect, "INSERT INTO "+t+" (k, amount) VALUES (?, ?)")); err != nil {
		return err
	}
	b.txm, err = idempotency.NewTx[request, response](b.store, idempotency.Config{Namespace: namespace})
	return err
}

// order is fn's business write: one prepared INSERT in tx.
func (b *bench) order(ctx context.Context, tx *sql.Tx, key string) error {
	return one(tx.StmtContext(ctx, b.orderInsert).ExecContext(ctx, key, theRequest.Amount))
}

// txOp returns one operation of a tx variant, or nil for another variant.
func (b *bench) txOp(v string) func(ctx context.Context, i int) error {
	switch v {
	case txNew:
		return func(ctx context.Context, _ int) error {
			key := b.newKey()
			r, err := b.txm.DoResult(ctx, key, theRequest, func(ctx context.Context, tx *sqlx.Tx, _ request) (response, error) {
				return theResponse, b.order(ctx, tx.Tx, key)
			})
			if err == nil && r.Replayed {
				err = errors.New("a new key was replayed")
			}
			return err
		}
	case txReplay:
		return func(ctx context.Context, i int) error {
			r, err := b.txm.DoResult(ctx, b.replayKeys[i%len(b.replayKeys)], theRequest, func(context.Context, *sqlx.Tx, request) (response, error) {
				return response{}, errors.New("a completed key ran fn again")
			})
			if err == nil && !r.Replayed {
				err = errors.New("a completed key was not replayed")
			}
			return err
		}
	case doTxNew:
		return func(ctx context.Context, _ int) error {
			key := b.newKey()
			_, err := b.mgr.Do(ctx, key, theRequest, func(ctx context.Context, _ request) (response, error) {
				tx, err := b.db.BeginTx(ctx, nil)
				if err != nil {
					return response{}, err
				}
				defer tx.Rollback() //nolint:errcheck // after Commit it only reports ErrTxDone
				if err := b.order(ctx, tx, key); err != nil {
					return response{}, err
				}
				return theResponse, tx.Commit()
			})
			return err
		}
	case floorTxNew:
		return func(ctx context.Context, _ int) error {
			key := b.newKey()
			tx, err := b.db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck // after Commit it only reports ErrTxDone
			if err := one(tx.StmtContext(ctx, b.floor.claim).ExecContext(ctx, b.sql.claimArgs(key, b.fp, b.token)...)); err != nil {
				return fmt.Errorf("claim: %w", err)
			}
			if err := b.order(ctx, tx, key); err != nil {
				return err
			}
			if err := one(tx.StmtContext(ctx, b.floor.complete).ExecContext(ctx, b.sql.completeArgs(b.payload, key, b.token)...)); err != nil {
				return fmt.Errorf("complete: %w", err)
			}
			return tx.Commit()
		}
	}
	return nil
}
