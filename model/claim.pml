/*
 * claim.pml: the claim protocol of github.com/idemkit/idempotency, for spin.
 * model/README.md says what is modelled and what is not; model/check runs it.
 *
 * Callers use one key (one row of sqlstore's table) while a cleaner deletes
 * expired records, the store's clock advances and faults happen: a caller
 * crashes at any step, a statement fails, or it takes effect and its answer
 * is lost, fn returns an ordinary error. Every statement of the store is one
 * atomic step, as each autocommit SQL statement is. The callers make the
 * decisions the Go code makes; the comment at each step names the Go
 * function and the statement.
 *
 * Configurations (spin -D...):
 *   (default)  Manager(A), Manager(A), Manager(B)
 *   -DTX       TxManager(A), Manager(A), TxManager(B)
 *   -DTXPAIR   TxManager(A), TxManager(B) (with -DNCALLERS=2)
 *   -DNCALLERS=2       only the first two callers
 *   -DMAXF=n           the fault budget (default 1); -DLEASE, -DTTL in ticks
 *   -DLIVE             for "live": fn and its completion end within FNMAX
 *                      ticks, faults may stop for good, and TxManager's
 *                      Permanent failures count as faults
 * Broken variants, each expected to fail:
 *   -DBROKEN_NO_TOKEN_CHECK      Store.Complete without "AND token = ?"
 *   -DBROKEN_CLEANER_NO_RECHECK  DeleteExpired's DELETE without its
 *                                re-check "AND expires_at <= now"
 * Also expected to fail:
 *   -DSTALLS   a process may pause (GC, a suspended VM) while the clock
 *              goes on: a lease cannot fence a paused process (P6)
 *   -DLIVE -DTX_PERM_UNBOUNDED  two TxManager calls whose fn keeps failing
 *              permanently keep each other from recording it ("live")
 *
 * Properties (assertions, and the LTL formula "live"):
 *   P1 at most one outcome is recorded per lifetime of a record (a lifetime
 *      begins when a claim is made on an absent or expired record);
 *   P2 an outcome is written only by the token that holds the claim;
 *   P3 the cleaner deletes only expired records: never one with a live lease;
 *   P4 a record belongs to one request (fingerprint) for its whole lifetime,
 *      a lapsed claim too; a replay is the outcome of a run of the caller's
 *      own request, and never an expired one;
 *   P5 Do returns fn's value as recorded only when its own completion was
 *      written;
 *   P6 (Manager) fn, while its context is not cancelled, acts only while its
 *      claim holds a live lease in the store: two runs of fn act at once only
 *      when one was cancelled (its lease lost) or its process died;
 *   P7 (TxManager) fn's writes commit at most once per lifetime, and only
 *      together with the outcome;
 *   live: once the faults (a bounded budget) are spent, every caller gets a
 *      final answer (fn's value, a replay, its Permanent error, or
 *      ErrRequestMismatch): the key is never stuck. Under weak fairness.
 */

#ifndef LEASE
#define LEASE 3 /* Config.Lease in ticks: renewed every tick (Lease/3), given up with one tick left */
#endif
#ifndef TTL
#define TTL 1   /* Config.TTL in ticks */
#endif
#ifndef MAXF
#define MAXF 1  /* faults in one run */
#endif
#ifndef NCALLERS
#define NCALLERS 3
#endif
#define FNMAX LEASE /* with -DLIVE, fn returns and its outcome is written within this
                     many ticks: fn may outlive a lease, but does not run for ever */
#define NC 3

/* idempotency.State, plus absent */
#define ABSENT 0
#define PROC 1   /* StateProcessing (state = 0 in SQL) */
#define DONE 2   /* StateCompleted */
#define FAILED 3 /* StateFailed */

#define FPA 1 /* two requests (fingerprints) that share the key */
#define FPB 2

#define TOK (id + 1) /* the caller's token in its current call (see ORPHAN) */
#define ORPHAN 9     /* a token whose call has ended: nobody presents it again */

/* fn's result */
#define R_OK 1   /* a value */
#define R_ERR 2  /* an ordinary error: the key is released */
#define R_PERM 3 /* Permanent(err): recorded as StateFailed */

/* how a Do call ends for its client */
#define FINAL 1 /* fn's value, a replay, the recorded failure, ErrRequestMismatch */
#define RETRY 2 /* ErrInProgress, ErrLeaseLost, ErrNotRecorded, a store error: call again */

/* ---- the row (namespace, idem_key) of sqlstore's table, as last committed ---- */
byte r_st;    /* state, or ABSENT */
byte r_fp;    /* fingerprint */
byte r_tok;   /* token */
byte r_lease; /* ticks until locked_until; 0: the lease has lapsed */
byte r_exp;   /* ticks until expires_at; 0: expired */
byte r_out;   /* ghost: the fingerprint of the run whose outcome is in payload */

/* ---- ghosts ---- */
byte life_out;    /* outcomes recorded in the record's current lifetime (P1) */
byte life_eff;    /* TxManager: fn's writes committed in this lifetime (P7) */
byte life_fp;     /* the request the record's lifetime belongs to (P4) */
bit recorded[NC]; /* the caller's current call wrote its outcome (P5) */
bit done[NC];     /* the caller got a final answer (live) */

/* ---- time, per caller ---- */
bit hb_on[NC];    /* Manager: the heartbeat holds the claim (not stopped, not given up) */
byte hb_left[NC]; /* the heartbeat's estimate of the lease left, leaseEnd() - now */
bit fn_on[NC];    /* -DLIVE: fn runs or its outcome is being written ... */
byte fn_age[NC];  /* ... for this many ticks */
bit stalled[NC];  /* -DSTALLS: the whole process is paused */

byte faults;      /* faults so far: at most MAXF */
bit crash_req[NC];

/* ---- TxManager on PostgreSQL: one transaction holds the key's advisory lock ---- */
byte tx_lock; /* id+1 of the transaction holding pg_try_advisory_xact_lock, 0 none */
bit tx_dirty; /* it wrote the row (uncommitted; row-locked) */
bit p_new;    /* its write starts a new lifetime (the row was absent or expired) */
byte p_fp;    /* the uncommitted claim's fingerprint */

#define CAN_FAULT (faults < MAXF)

#ifdef STALLS
#define PAUSABLE provided (!stalled[id]) /* a paused process takes no step */
#else
#define PAUSABLE
#endif

/* The clock does not pass a heartbeat that must renew or give up now
 * (timers fire on time), nor, with -DLIVE, a fn that has run its longest. A
 * paused process holds nothing up. */
#ifdef LIVE
#define FN_DUE(i) (fn_on[i] && fn_age[i] >= FNMAX)
#define FN_TICKS(i) if :: fn_on[i] && fn_age[i] < FNMAX -> fn_age[i]++ :: else -> skip fi
#else
#define FN_DUE(i) false
#define FN_TICKS(i) skip
#endif
#define BUSY(i) (!stalled[i] && ((hb_on[i] && hb_left[i] <= 1) || FN_DUE(i)))
#define TICK_OK (!BUSY(0) && !BUSY(1) && !BUSY(2))

/* ---------------------------------------------------------------------------
 * Statements: EFFECT is one atomic step of the store; POST is the caller's
 * bookkeeping in the same step (the heartbeat's estimate starts when the
 * statement is sent, so it is never later than the store's lease).
 */

/* An autocommit write (Store.exec): it may fail without effect, or take
 * effect and lose its answer. It waits while a transaction holds the row. */
#define TRY_WRITE(EFFECT, POST) \
	if \
	:: CAN_FAULT -> faults++; err = 1 \
	:: !tx_dirty -> EFFECT; \
		if \
		:: CAN_FAULT -> faults++; err = 1 \
		:: skip -> err = 0 \
		fi \
	fi; \
	POST

/* A plain read (Store.queryRow), or a statement in the caller's own
 * transaction (txClaim.exec), whose failure ends the transaction. */
#define TRY(EFFECT) \
	if \
	:: CAN_FAULT -> faults++; err = 1 \
	:: EFFECT; err = 0 \
	fi

/* SELECT state, fingerprint, payload, expires_at <= now, locked_until <= now
 * FROM t WHERE namespace = $1 AND idem_key = $2              (Store.read) */
#define SQL_READ \
	found = (r_st != ABSENT); rs = r_st; rfp = r_fp; rout = r_out; \
	rexp = (r_exp == 0); rlap = (r_lease == 0)

/* isClaimable: expired, or the lapsed lease of a claim of the same request */
#define CLAIMABLE (rexp || (rs == PROC && rlap && rfp == fp))

#define CLEAR_READ found = 0; rs = 0; rfp = 0; rout = 0; rexp = 0; rlap = 0

#define NEW_LIFE life_out = 0; life_eff = 0; life_fp = fp

/* INSERT INTO t (...) VALUES ($1, $2, $3, 0, $4, now + lease, now + lease + ttl)
 * ON CONFLICT (namespace, idem_key) DO NOTHING               (Store.insert) */
#define SQL_INSERT \
	if \
	:: r_st == ABSENT -> \
		r_st = PROC; r_fp = fp; r_tok = TOK; r_lease = LEASE; r_exp = LEASE + TTL; r_out = 0; \
		NEW_LIFE; ok = 1 \
	:: else -> ok = 0 \
	fi

/* UPDATE t SET fingerprint = $1, state = 0, token = $2, payload = NULL,
 * locked_until = now + lease, expires_at = now + lease + ttl WHERE ... AND
 * (expires_at <= now OR (state = 0 AND locked_until <= now AND fingerprint = $7))
 *                                                            (Store.takeOver) */
#define TAKE assert(fp == life_fp); /* P4 */ r_st = PROC; r_fp = fp; r_tok = TOK; r_lease = LEASE; r_exp = LEASE + TTL; r_out = 0; ok = 1
#define SQL_TAKEOVER \
	if \
	:: r_st != ABSENT && r_exp == 0 -> NEW_LIFE; TAKE \
	:: r_st == PROC && r_exp > 0 && r_lease == 0 && r_fp == fp -> TAKE \
	:: else -> ok = 0 \
	fi

/* UPDATE t SET locked_until = now + lease, expires_at = now + lease + ttl
 * WHERE ... AND token = $5 AND state = 0                     (Store.Renew) */
#define SQL_RENEW \
	if \
	:: r_st == PROC && r_tok == TOK -> r_lease = LEASE; r_exp = LEASE + TTL; ok = 1 \
	:: else -> ok = 0 \
	fi

/* UPDATE t SET state = $1, payload = $2, locked_until = now, expires_at = now + ttl
 * WHERE ... AND token = $6 AND state = 0                     (Store.Complete) */
#ifdef BROKEN_NO_TOKEN_CHECK
#define TOKEN_HOLDS true
#else
#define TOKEN_HOLDS (r_tok == TOK)
#endif
#define SQL_COMPLETE \
	if \
	:: r_st == PROC && TOKEN_HOLDS -> \
		assert(r_tok == TOK); /* P2 */ \
		r_st = want; r_out = fp; r_lease = 0; r_exp = TTL; \
		life_out++; assert(life_out <= 1); /* P1 */ \
		recorded[id] = 1; ok = 1 \
	:: else -> ok = 0 \
	fi

/* SELECT state FROM t WHERE ... AND token = $3               (Store.confirmOwner) */
#define SQL_OWNER ok = (r_st == want && r_tok == TOK)

/* DELETE FROM t WHERE ... AND token = $3 AND state = 0       (Store.Release) */
#define CLEAR_ROW r_st = ABSENT; r_fp = 0; r_tok = 0; r_lease = 0; r_exp = 0; r_out = 0; life_fp = 0
#define SQL_RELEASE \
	if \
	:: r_st == PROC && r_tok == TOK -> CLEAR_ROW; ok = 1 \
	:: else -> ok = 0 \
	fi

/* Claim returned Claimed: execute starts the heartbeat from claimedAt
 * (taken before the claim was sent) and runs fn. */
#ifdef LIVE
#define FN_START fn_on[id] = 1; fn_age[id] = 0
#define FN_END fn_on[id] = 0; fn_age[id] = 0
#else
#define FN_START skip
#define FN_END skip
#endif
#define HB_START \
	if \
	:: ok && !err -> hb_on[id] = 1; hb_left[id] = LEASE; FN_START \
	:: else -> skip \
	fi

#define HB_STOP hb_on[id] = 0; hb_left[id] = 0

/* heartbeat.beat (startHeartbeat): the timer fires (an interval after the
 * last renewal, or a retry after a failure); Store.Renew; and then */
#define BEAT \
	atomic { \
		hb_on[id] && hb_left[id] < LEASE; \
		TRY_WRITE(SQL_RENEW, skip); \
		if \
		:: !err && ok -> hb_left[id] = LEASE /* hb.renewed(sent); hb.rearm(interval) */ \
		:: !err && !ok -> HB_STOP; cancelled = 1 /* ErrLeaseLost: hb.lost; cancel(ErrLeaseLost) */ \
		:: err && hb_left[id] <= 1 -> HB_STOP; cancelled = 1 /* !now.Before(giveUp()): cancel(ErrLeaseLost) */ \
		:: err && hb_left[id] > 1 -> skip /* hb.rearm(retry) */ \
		fi; \
		ok = 0; err = 0 \
	}

/* execute, once fn has returned */
#define RETURNED \
	if \
	:: cancelled && res != R_OK -> HB_STOP; goto release /* hb.isLost() && fnErr != nil: release, ErrLeaseLost */ \
	:: res == R_ERR -> HB_STOP; goto release /* fnErr not Permanent: hb.stop(); m.release */ \
	:: else -> want = (res == R_OK -> DONE : FAILED); goto complete /* m.complete */ \
	fi

/* The call has ended: its token is never presented again. */
#define FORGET_TOKEN \
	if \
	:: r_tok == TOK -> r_tok = ORPHAN \
	:: else -> skip \
	fi

/* ---------------------------------------------------------------------------
 * Manager.DoResult with Config.Wait 0: call.attempt, call.execute and
 * Manager.complete over sqlstore.Store. A client that gets ErrInProgress
 * calls again, as Wait > 0 polls the store (poller.wait) and claims again.
 */
proctype Manager(byte id; byte fp) PAUSABLE
{
	byte rs, rfp, rout;    /* what Store.read returned */
	bit found, rexp, rlap;
	bit ok, err;           /* one affected row; the call returned an error */
	bit acted;             /* fn's side effect happened */
	bit cancelled;         /* fn's context cancelled with ErrLeaseLost (hb.isLost) */
	byte res;              /* fn's result */
	byte want;             /* the state to record */
	byte end;              /* FINAL or RETRY */

	do
	:: done[id] -> break
	:: else ->
		{
			/* call.attempt: Lock{Token: newToken()}; Store.Claim, which
			 * writes or reads first (AdaptiveOrder may choose either) */
			if
			:: atomic {
				/* Store.writeFirst: s.insert */
				TRY_WRITE(SQL_INSERT, HB_START);
				if
				:: err -> goto claim_failed
				:: !err && ok -> goto claimed
				:: else -> skip
				fi
			   }
			:: skip
			fi;
read:
			atomic {
				/* Store.read */
				TRY(SQL_READ);
				if
				:: err -> goto claim_failed
				:: !err && found && !CLAIMABLE -> goto settle
				:: else -> skip
				fi
			};
			atomic {
				if
				:: !found -> TRY_WRITE(SQL_INSERT, HB_START)     /* claimStep not found: s.insert */
				:: found -> TRY_WRITE(SQL_TAKEOVER, HB_START)    /* found && claimable: s.takeOver */
				fi;
				CLEAR_READ;
				if
				:: err -> goto claim_failed
				:: !err && ok -> goto claimed
				:: else -> goto read /* a rival changed the row in between: read again */
				fi
			};
claim_failed:
			/* call.attempt: Claim returned an error, and the claim may have
			 * been written with its answer lost: m.releaseLostClaim(ctx, lock) */
			atomic { CLEAR_READ; TRY_WRITE(SQL_RELEASE, skip); end = RETRY; goto finish };
settle:
			/* core.settle(c.fp, cr.Record) */
			atomic {
				if
				:: rfp != fp -> end = FINAL /* ErrRequestMismatch */
				:: rfp == fp && rs != PROC ->
					/* a replay of the recorded outcome */
					assert(rout == fp); /* P4: of a run of this request */
					assert(!rexp);      /* P4: never expired */
					end = FINAL
				:: rfp == fp && rs == PROC -> end = RETRY /* ErrInProgress */
				fi;
				CLEAR_READ;
				goto finish
			};
claimed:
			/* call.execute: resp, fnErr := c.fn(fnCtx, c.req), the heartbeat beating */
			do
			:: atomic {
				!acted && !cancelled ->
				/* fn's side effect (a charge, a message): fn honours its
				 * context, so it acts only while it is not cancelled */
				assert(r_st == PROC && r_tok == TOK && r_lease > 0); /* P6 */
				acted = 1
			   }
			:: atomic { acted || cancelled -> res = R_OK; RETURNED }
			:: atomic { res = R_PERM; RETURNED }
			:: atomic { CAN_FAULT -> faults++; res = R_ERR; RETURNED }
			:: BEAT
			od;
complete:
			/* Manager.complete: the heartbeat goes on; failures other than
			 * ErrLeaseLost are retried while the lease may hold (and at
			 * least completeAttempts times), then ErrNotRecorded */
			do
			:: BEAT
			:: atomic {
				TRY_WRITE(SQL_COMPLETE, skip);
				if
				:: !err && ok ->
					HB_STOP; /* defer hb.stop() */
					assert(recorded[id]); /* P5 */
					end = FINAL; goto finish
				:: !err && !ok -> goto confirm
				:: err -> skip /* retry */
				:: err -> HB_STOP; end = RETRY; goto finish /* ErrNotRecorded */
				fi
			   }
			od;
confirm:
			/* Store.Complete, n != 1: Store.confirmOwner (an earlier attempt's answer lost?) */
			atomic {
				TRY(SQL_OWNER);
				if
				:: !err && ok -> HB_STOP; assert(recorded[id]); end = FINAL; goto finish /* P5 */
				:: !err && !ok -> HB_STOP; end = RETRY; goto finish /* ErrLeaseLost */
				:: err -> goto complete /* a store error: retry */
				:: err -> HB_STOP; end = RETRY; goto finish /* ErrNotRecorded */
				fi
			};
release:
			/* m.release(ctx, lock, ...): fn failed, or failed after its lease was given up */
			atomic { TRY_WRITE(SQL_RELEASE, skip); end = RETRY; goto finish }
		} unless {
			crash_req[id] ->
			/* the process dies, its heartbeat and fn with it */
			atomic { crash_req[id] = 0; HB_STOP; FN_END; end = RETRY }
		};
finish:
		atomic {
			if
			:: end == FINAL -> done[id] = 1
			:: else -> skip
			fi;
			recorded[id] = 0; FORGET_TOKEN; FN_END;
			CLEAR_READ; ok = 0; err = 0; acted = 0; cancelled = 0; res = 0; want = 0; end = 0
		}
	od
}

/* ---------------------------------------------------------------------------
 * TxManager.DoResult: txCall.attempt, once, execute and recordFailure, over
 * sqlstore's claimTx and txClaim on PostgreSQL (READ COMMITTED).
 */

/* The transaction ends without committing (a rollback, or the server
 * noticing a dead connection); the advisory lock goes with it. */
#define TX_ROLLBACK \
	if \
	:: tx_lock == id + 1 -> tx_lock = 0; tx_dirty = 0; p_new = 0; p_fp = 0 \
	:: else -> skip \
	fi

/* c.begin(), then txQueries.insertBegin: INSERT INTO t (...) SELECT ...
 * WHERE pg_try_advisory_xact_lock($7) ON CONFLICT (namespace, idem_key) DO NOTHING */
#define TX_INSERT \
	if \
	:: tx_lock == 0 || tx_lock == id + 1 -> \
		tx_lock = id + 1; \
		if \
		:: r_st == ABSENT -> tx_dirty = 1; p_new = 1; p_fp = fp; ok = 1 \
		:: else -> ok = 0 \
		fi \
	:: else -> ok = 0 \
	fi

/* txQueries.inspect: SELECT r.state, ..., pg_try_advisory_xact_lock($1)
 * FROM (SELECT 1) AS one LEFT JOIN t AS r ON ...  (the last committed row) */
#define TX_INSPECT \
	held = (tx_lock == 0 || tx_lock == id + 1); \
	if \
	:: held -> tx_lock = id + 1 \
	:: else -> skip \
	fi; \
	SQL_READ

/* s.q.takeover in the transaction: the row stays locked until it ends */
#define TX_TAKEOVER \
	if \
	:: r_st != ABSENT && r_exp == 0 -> tx_dirty = 1; p_new = 1; p_fp = fp; ok = 1 \
	:: r_st == PROC && r_exp > 0 && r_lease == 0 && r_fp == fp -> \
		tx_dirty = 1; p_new = 0; p_fp = fp; ok = 1 \
	:: else -> ok = 0 \
	fi

/* A Permanent error from fn. With -DLIVE it counts against the fault budget:
 * two TxManager calls whose fn keeps failing permanently can keep each other
 * from recording the failure (recordFailure claims again in a new
 * transaction, and a rival's claim in between gets there first, and then
 * fails the same way): -DTX_PERM_UNBOUNDED shows that livelock. */
#if defined(LIVE) && !defined(TX_PERM_UNBOUNDED)
#define TX_PERM_GUARD CAN_FAULT -> faults++
#else
#define TX_PERM_GUARD skip
#endif

/* claim.Commit after claim.Complete: the outcome and fn's writes become
 * visible together, and the lock goes */
#define TX_COMMIT \
	if \
	:: p_new -> NEW_LIFE \
	:: else -> assert(p_fp == life_fp) /* P4 */ \
	fi; \
	r_st = (failing -> FAILED : DONE); r_fp = p_fp; r_tok = TOK; r_lease = 0; r_exp = TTL; r_out = fp; \
	life_out++; assert(life_out <= 1); /* P1 */ \
	if \
	:: acted -> life_eff++; assert(life_eff <= 1) /* P7 */ \
	:: else -> skip \
	fi; \
	recorded[id] = 1; \
	tx_lock = 0; tx_dirty = 0; p_new = 0; p_fp = 0

proctype TxCaller(byte id; byte fp) PAUSABLE
{
	byte rs, rfp, rout;
	bit found, rexp, rlap;
	bit ok, err, held;
	bit acted;   /* fn wrote through tx (uncommitted) */
	bit failing; /* recordFailure: claiming again to record a Permanent error */
	byte res;
	byte end;

	do
	:: done[id] -> break
	:: else ->
claim:		{
			/* txCall.once: req.Token = newToken(); Store.claimTx, which
			 * reads first, outside any transaction, when the planner says so */
			if
			:: atomic {
				TRY(SQL_READ);
				if
				:: err -> CLEAR_READ; end = RETRY; goto finish /* "claim key": an error */
				:: !err && found && !CLAIMABLE -> goto settle
				:: else -> CLEAR_READ
				fi
			   }
			:: skip
			fi;
insert:
			atomic {
				/* txClaim.claim: the insert */
				TRY(TX_INSERT);
				if
				:: err -> goto rollback
				:: !err && ok -> goto claimed
				:: else -> skip
				fi
			};
			atomic {
				/* txClaim.inspect */
				TRY(TX_INSPECT);
				if
				:: err -> goto rollback
				:: !err && !found && held -> goto insert /* deleted in between: insert again */
				:: !err && !found && !held -> goto in_progress /* a rival's insert in flight */
				:: !err && found && !CLAIMABLE -> TX_ROLLBACK; goto settle /* finishClaim: the record */
				:: !err && found && CLAIMABLE && !held -> goto in_progress /* a rival is taking it over */
				:: !err && found && CLAIMABLE && held -> skip
				fi
			};
			atomic {
				CLEAR_READ;
				TRY(TX_TAKEOVER); /* s.q.takeover in the transaction */
				if
				:: err -> goto rollback
				:: !err && ok -> goto claimed
				:: else -> goto insert /* a rival changed the row: insert again */
				fi
			};
claimed:
			atomic {
				if
				:: failing -> goto complete /* recordFailure: Complete(StateFailed), Commit */
				:: else -> FN_START; acted = 0
				fi
			};
			/* txCall.execute: fn(claim.Context(), claim.Tx(), req) */
			do
			:: atomic { !acted -> acted = 1 } /* fn's writes through tx */
			:: atomic { res = R_OK; break }
			:: atomic { TX_PERM_GUARD; res = R_PERM; break }
			:: atomic { CAN_FAULT -> faults++; res = R_ERR; break }
			od;
			atomic {
				if
				:: CAN_FAULT -> faults++; goto rollback /* leaseRanOut(txCtx): fn outlived Config.Lease; rollback, ErrLeaseLost */
				:: res == R_ERR -> goto rollback /* rollback, fn's error */
				:: res == R_PERM ->
					/* rollback; recordFailure: a new claim, a new transaction */
					TX_ROLLBACK; FORGET_TOKEN; acted = 0; failing = 1; goto claim
				:: res == R_OK -> skip
				fi
			};
complete:
			/* claim.Complete in the transaction, then claim.Commit */
			atomic {
				if
				:: CAN_FAULT -> faults++; TX_ROLLBACK; end = RETRY /* a failed statement or COMMIT, or the lease ran out: nothing committed */
				:: TX_COMMIT;
					if
					:: CAN_FAULT -> faults++; end = RETRY /* committed, the answer lost: "retry to find out" */
					:: skip -> assert(recorded[id]); end = FINAL /* P5 */
					fi
				fi;
				goto finish
			};
settle:
			/* core.settle; in recordFailure any record (err == nil &&
			 * !cr.Claimed) means "another call got there first: its outcome
			 * stands", and the call returns fnErr */
			atomic {
				if
				:: failing -> end = FINAL /* a record, finished or not: recordFailure returns nil, Do fnErr */
				:: !failing && rfp != fp -> end = FINAL /* ErrRequestMismatch */
				:: !failing && rfp == fp && rs != PROC ->
					assert(rout == fp); /* P4 */
					assert(!rexp);      /* P4 */
					end = FINAL
				:: !failing && rfp == fp && rs == PROC -> end = RETRY /* waitThenRetry: ErrInProgress */
				fi;
				CLEAR_READ;
				goto finish
			};
in_progress:
			/* ErrInProgress; in recordFailure, another call claimed the key
			 * after the rollback: its outcome stands, and Do returns fnErr
			 * (this ended the livelock the model found, tx-perm-livelock) */
			atomic {
				TX_ROLLBACK; CLEAR_READ;
				if
				:: failing -> end = FINAL
				:: else -> end = RETRY
				fi;
				goto finish
			};
rollback:
			atomic { TX_ROLLBACK; CLEAR_READ; end = RETRY; goto finish } /* c.rollback; fn's error, ErrLeaseLost, a store error */
		} unless {
			crash_req[id] ->
			/* the process dies: the server rolls its transaction back */
			atomic { crash_req[id] = 0; TX_ROLLBACK; FN_END; end = RETRY }
		};
finish:
		atomic {
			if
			:: end == FINAL -> done[id] = 1
			:: else -> skip
			fi;
			recorded[id] = 0; FORGET_TOKEN; FN_END;
			CLEAR_READ; ok = 0; err = 0; held = 0; acted = 0; failing = 0; res = 0; end = 0
		}
	od
}

/* ---------------------------------------------------------------------------
 * Cleaner.pass -> Store.DeleteExpired, for this row. On MySQL a plain read
 * (oldestExpiry), then the DELETE; on PostgreSQL the DELETE's inner SELECT
 * ... FOR UPDATE SKIP LOCKED, then its outer re-check.
 */
#ifdef BROKEN_CLEANER_NO_RECHECK
#define STILL_EXPIRED (r_st != ABSENT)
#else
#define STILL_EXPIRED (r_st != ABSENT && r_exp == 0)
#endif

active proctype Cleaner()
{
	bit cand;
end_clean:
	do
	:: atomic { r_st != ABSENT && r_exp == 0 && !tx_dirty -> cand = 1 } /* the batch finds the expired row */
		atomic {
			if
			:: cand && !tx_dirty && STILL_EXPIRED ->
				/* DELETE ... WHERE ... AND expires_at <= now */
				assert(r_exp == 0);                     /* P3: never an unexpired record */
				assert(!(r_st == PROC && r_lease > 0)); /* P3: never a live lease */
				CLEAR_ROW
			:: else -> skip /* claimed again in between, or SKIP LOCKED */
			fi;
			cand = 0
		}
	od
}

/* The store's clock: a tick moves every deadline one step closer. */
active proctype Clock()
{
end_clock:
	do
	:: atomic {
		TICK_OK && (r_lease > 0 || r_exp > 0 || hb_on[0] || hb_on[1] || hb_on[2] ||
			fn_on[0] || fn_on[1] || fn_on[2]) ->
		if :: r_lease > 0 -> r_lease-- :: else -> skip fi;
		if :: r_exp > 0 -> r_exp-- :: else -> skip fi;
		if :: hb_on[0] && hb_left[0] > 0 -> hb_left[0]-- :: else -> skip fi;
		if :: hb_on[1] && hb_left[1] > 0 -> hb_left[1]-- :: else -> skip fi;
		if :: hb_on[2] && hb_left[2] > 0 -> hb_left[2]-- :: else -> skip fi;
		FN_TICKS(0); FN_TICKS(1); FN_TICKS(2)
	   }
	od
}

/* Crashes (and with -DSTALLS pauses), within the fault budget. */
active proctype Faults()
{
end_faults:
	do
	:: atomic { CAN_FAULT && !done[0] && !crash_req[0] -> faults++; crash_req[0] = 1 }
	:: atomic { CAN_FAULT && !done[1] && !crash_req[1] -> faults++; crash_req[1] = 1 }
#if NCALLERS > 2
	:: atomic { CAN_FAULT && !done[2] && !crash_req[2] -> faults++; crash_req[2] = 1 }
#endif
#ifdef LIVE
	/* Faults stop: weak fairness must not force the budget to be spent,
	 * or a run without faults could not go on for ever */
	:: atomic { CAN_FAULT -> faults = MAXF }
#endif
#ifdef STALLS
	:: atomic { CAN_FAULT && !done[0] && !stalled[0] -> faults++; stalled[0] = 1 }
	:: atomic { CAN_FAULT && !done[1] && !stalled[1] -> faults++; stalled[1] = 1 }
	:: atomic { stalled[0] -> stalled[0] = 0 }
	:: atomic { stalled[1] -> stalled[1] = 0 }
#endif
	od
}

init
{
	atomic {
#if NCALLERS < 3
		done[2] = 1;
#endif
#if defined(TXPAIR)
		run TxCaller(0, FPA);
		run TxCaller(1, FPB);
#elif defined(TX)
		run TxCaller(0, FPA);
		run Manager(1, FPA);
#if NCALLERS > 2
		run TxCaller(2, FPB)
#endif
#else
		run Manager(0, FPA);
		run Manager(1, FPA);
#if NCALLERS > 2
		run Manager(2, FPB)
#endif
#endif
	}
}

ltl live { <> (done[0] && done[1] && done[2]) }
