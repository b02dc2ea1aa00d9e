package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/idemkit/idempotency"
)

// txLease is the lease of the transactional scenario: long, to show that
// the retry after a crash does not wait it out.
const txLease = 30 * time.Second

// ledgerRow is the transactional charge's receipt.
type ledgerRow struct {
	Key    string `json:"key"`
	Amount int64  `json:"amount"`
}

// ledgerTable holds the transactional charges, in the database that holds
// the keys.
func (d *database) ledgerTable() string { return d.table + "_ledger" }

// newCharges returns a TxManager on a new pool of d whose charges write a
// ledger row in the claim's transaction, and closes both with the returned
// function.
func (d *database) newCharges(ctx context.Context) (*idempotency.TxManager[chargeRequest, ledgerRow, *sqlx.Tx], func(context.Context, *sqlx.Tx, chargeRequest) (ledgerRow, error), func(), error) {
	store, closeStore, err := d.openSQL(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := idempotency.NewTx[chargeRequest, ledgerRow](store, idempotency.Config{Namespace: "ledger", Lease: txLease, Wait: 10 * time.Second})
	if err != nil {
		closeStore()
		return nil, nil, nil, err
	}
	insert := "INSERT INTO " + d.ledgerTable() + " (k, amount) VALUES (?, ?)"
	charge := func(ctx context.Context, tx *sqlx.Tx, req chargeRequest) (ledgerRow, error) {
		_, err := tx.ExecContext(ctx, tx.Rebind(insert), "order-1004", req.Amount)
		return ledgerRow{Key: "order-1004", Amount: req.Amount}, err
	}
	return m, charge, closeStore, nil
}

// txCrashRecovery charges with TxManager: the ledger row and the recorded
// outcome commit in one transaction. A worker process dies after writing
// the row, before the commit. Its transaction dies with it, and the retry
// runs at once, with no lease to wait out; the ledger holds one row.
func txCrashRecovery(ctx context.Context, d *database) (*tally, error) {
	t := &tally{name: "worker crashed in a transaction"}
	db, err := sqlx.Open(d.driver, d.dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+d.ledgerTable()+" (k VARCHAR(255) NOT NULL, amount BIGINT NOT NULL)"); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-crash-child", d.table, "-crash-mode", "tx", "-dialect", d.dialect, "-dsn", d.dsn)
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != crashExit {
		return nil, fmt.Errorf("transactional crash worker: %v, want exit code %d", err, crashExit)
	}
	t.sent++
	t.transport++ // the charge died with its worker
	crashed := time.Now()

	charges, charge, closeCharges, err := d.newCharges(ctx)
	if err != nil {
		return nil, err
	}
	defer closeCharges()
	r, err := charges.DoResult(ctx, "order-1004", chargeRequest{Amount: 4200}, charge)
	if err != nil || r.Replayed {
		return nil, fmt.Errorf("retry after the crash: %+v, %v; want the charge to run", r, err)
	}
	after := time.Since(crashed)
	t.sent++
	t.firstRuns++
	t.recovered = 1
	if err := db.GetContext(ctx, &t.executed, db.Rebind("SELECT COUNT(*) FROM "+d.ledgerTable()+" WHERE k = ?"), "order-1004"); err != nil {
		return nil, err
	}
	fmt.Printf("transactional charge: the worker died mid-transaction; the retry ran %v later (lease %v) and the ledger holds %d row(s)\n\n",
		after.Round(time.Millisecond), txLease, t.executed)
	return t, nil
}

// runTxCrashChild is the worker that dies inside its charge's transaction,
// after writing the ledger row. It returns only when it failed to.
func runTxCrashChild(ctx context.Context, d *database) error {
	charges, charge, _, err := d.newCharges(ctx)
	if err != nil {
		return err
	}
	_, err = charges.Do(ctx, "order-1004", chargeRequest{Amount: 4200}, func(ctx context.Context, tx *sqlx.Tx, req chargeRequest) (ledgerRow, error) {
		if _, err := charge(ctx, tx, req); err != nil {
			return ledgerRow{}, err
		}
		os.Exit(crashExit) // the process dies before the commit
		return ledgerRow{}, nil
	})
	return errors.Join(errors.New("the charge returned instead of crashing"), err)
}
