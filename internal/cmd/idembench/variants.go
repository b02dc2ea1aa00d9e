package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/idemkit/idempotency"
)

// The variants, in the order they run in odd rounds (reversed in even ones).
const (
	doNew       = "do-new"       // (a) Manager.Do, a new key
	doReplay    = "do-replay"    // (b) Manager.Do, a completed key
	floorNew    = "floor-new"    // (c) claim INSERT + completion UPDATE, prepared
	floorReplay = "floor-replay" // (c) one prepared SELECT by primary key
	// The floor's read, then decoding the response with encoding/json:
	// what hand-written code that returns the value pays.
	floorDecode = "floor-decode"
	naiveNew    = "naive-new" // (d) SELECT, INSERT, UPDATE, unprepared

	// Traffic as it comes: one call in ten retries a completed key. The
	// floor knows which calls are retries; the store has to find out.
	doMix    = "do-mix"
	floorMix = "floor-mix"

	// Store.Claim and Store.Complete called directly, without the
	// Manager: what the store's SQL costs, apart from fingerprinting,
	// tokens, the codec and the heartbeat.
	storeNew    = "store-new"
	storeReplay = "store-replay"
)

// defaultVariants are the comparisons the cost budget names; allVariants
// adds the store-level ones that split the difference.
var (
	defaultVariants = []string{doNew, floorNew, naiveNew, doReplay, floorReplay, floorDecode, doMix, floorMix}
	allVariants     = []string{doNew, storeNew, floorNew, naiveNew, doReplay, storeReplay, floorReplay, floorDecode, doMix, floorMix, txNew, floorTxNew, doTxNew, txReplay,
		cachedNew, cachedReplay, doHot, cachedHot, floorHot}
)

func known(v string) bool {
	if v == pgDoNew || v == pgDoReplay {
		return true
	}
	for _, a := range allVariants {
		if a == v {
			return true
		}
	}
	return false
}

// op returns one operation of variant v; i numbers the operation within a
// measurement.
func (b *bench) op(v string) func(ctx context.Context, i int) error {
	if op := b.txOp(v); op != nil {
		return op
	}
	if op := b.redisOp(v); op != nil {
		return op
	}
	if op := b.cacheOp(v); op != nil {
		return op
	}
	switch v {
	case doNew:
		return func(ctx context.Context, _ int) error {
			r, err := b.mgr.DoResult(ctx, b.newKey(), theRequest, charge)
			if err == nil && r.Replayed {
				err = errors.New("a new key was replayed")
			}
			return err
		}
	case doReplay:
		return func(ctx context.Context, i int) error {
			r, err := b.mgr.DoResult(ctx, b.replayKeys[i%len(b.replayKeys)], theRequest, charge)
			if err == nil && !r.Replayed {
				err = errors.New("a completed key ran fn again")
			}
			return err
		}
	case storeNew:
		return func(ctx context.Context, _ int) error {
			key := b.newKey()
			cr, err := b.st.Claim(ctx, b.claimRequest(key))
			if err != nil {
				return err
			}
			if !cr.Claimed {
				return errors.New("a new key was not claimed")
			}
			_, _ = charge(ctx, theRequest)
			return b.st.Complete(ctx, idempotency.Lock{Namespace: namespace, Key: key, Token: b.token}, idempotency.StateCompleted, b.payload, idempotency.DefaultTTL)
		}
	case storeReplay:
		return func(ctx context.Context, i int) error {
			cr, err := b.st.Claim(ctx, b.claimRequest(b.replayKeys[i%len(b.replayKeys)]))
			if err == nil && (cr.Claimed || cr.Record.State != idempotency.StateCompleted) {
				err = fmt.Errorf("a completed key answered %+v", cr)
			}
			return err
		}
	case floorNew:
		return func(ctx context.Context, _ int) error {
			key := b.newKey()
			if err := one(b.floor.claim.ExecContext(ctx, b.sql.claimArgs(key, b.fp, b.token)...)); err != nil {
				return fmt.Errorf("claim: %w", err)
			}
			_, _ = charge(ctx, theRequest)
			if err := one(b.floor.complete.ExecContext(ctx, b.sql.completeArgs(b.payload, key, b.token)...)); err != nil {
				return fmt.Errorf("complete: %w", err)
			}
			return nil
		}
	case floorReplay:
		return func(ctx context.Context, i int) error {
			_, err := b.floorRead(ctx, i)
			return err
		}
	case floorDecode:
		return func(ctx context.Context, i int) error {
			payload, err := b.floorRead(ctx, i)
			if err != nil {
				return err
			}
			var r response
			return json.Unmarshal(payload, &r)
		}
	case doMix:
		return mix(b.op(doNew), b.op(doReplay))
	case floorMix:
		return mix(b.op(floorNew), b.op(floorReplay))
	case naiveNew:
		// Unprepared, as tutorials write it: on go-sql-driver/mysql
		// without interpolateParams each statement is a prepare, an
		// execute and a close.
		return func(ctx context.Context, _ int) error {
			key := b.newKey()
			var (
				state   int
				fp      string
				payload []byte
			)
			err := b.db.QueryRowContext(ctx, b.sql.read, b.sql.readArgs(key)...).Scan(&state, &fp, &payload)
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("check: want no row, got %v", err)
			}
			if err := one(b.db.ExecContext(ctx, b.sql.insert, b.sql.claimArgs(key, b.fp, b.token)...)); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
			_, _ = charge(ctx, theRequest)
			if err := one(b.db.ExecContext(ctx, b.sql.complete, b.sql.completeArgs(b.payload, key, b.token)...)); err != nil {
				return fmt.Errorf("complete: %w", err)
			}
			return nil
		}
	}
	panic("unknown variant " + v)
}

// floorRead is the floor's replay: one prepared read by primary key of the
// i-th completed key. It returns the recorded payload.
func (b *bench) floorRead(ctx context.Context, i int) ([]byte, error) {
	var (
		state   int
		fp      string
		payload []byte
	)
	err := b.floor.read.QueryRowContext(ctx, b.sql.readArgs(b.replayKeys[i%len(b.replayKeys)])...).Scan(&state, &fp, &payload)
	return payload, err
}

// retryEvery is how often a mixed variant retries a completed key.
const retryEvery = 10

// mix runs replayOp for one operation in retryEvery and newOp otherwise.
func mix(newOp, replayOp func(ctx context.Context, i int) error) func(ctx context.Context, i int) error {
	return func(ctx context.Context, i int) error {
		if i%retryEvery == retryEvery-1 {
			return replayOp(ctx, i/retryEvery)
		}
		return newOp(ctx, i)
	}
}

func (b *bench) claimRequest(key string) idempotency.ClaimRequest {
	return idempotency.ClaimRequest{Namespace: namespace, Key: key, Fingerprint: b.fp, Token: b.token,
		Lease: idempotency.DefaultLease, TTL: idempotency.DefaultTTL}
}
