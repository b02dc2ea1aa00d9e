package main

import (
	"context"
	"fmt"

	"github.com/idemkit/idempotency/sqlstore"
)

func runSchema(_ context.Context, o *options, io stdio) error {
	if o.isRedis() {
		if o.json {
			return writeJSON(io.out, schemaJSON{Dialect: o.dialect})
		}
		fmt.Fprintln(io.out, "-- Redis needs no schema: each record is a hash under the key prefix, written as it is claimed.")
		return nil
	}
	ddl, err := sqlstore.Schema(sqlstore.Dialect(o.dialect), o.table)
	if err != nil {
		return usageError("%v", err)
	}
	if o.json {
		return writeJSON(io.out, schemaJSON{Dialect: o.dialect, Table: o.table, DDL: ddl})
	}
	fmt.Fprint(io.out, ddl)
	return nil
}

// schemaJSON is schema's -json output.
type schemaJSON struct {
	Dialect string `json:"dialect"`
	Table   string `json:"table,omitempty"`
	DDL     string `json:"ddl"`
}

func runMigrate(ctx context.Context, o *options, io stdio) error {
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	s, done, err := open(ctx, o, true, io.err)
	if err != nil {
		return err
	}
	defer done()
	msg := fmt.Sprintf("%s answers and its settings suit the store; Redis needs no migration", o.dialect)
	if ss, ok := s.(*sqlstore.Store); ok {
		if err := ss.Migrate(ctx); err != nil {
			return err
		}
		msg = fmt.Sprintf("table %s is ready (created if it did not exist)", ss.Table())
	}
	if o.json {
		return writeJSON(io.out, map[string]any{"dialect": o.dialect, "ready": true})
	}
	fmt.Fprintln(io.out, msg)
	return nil
}
