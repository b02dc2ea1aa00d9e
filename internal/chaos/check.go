package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/idemkit/idempotency"
)

// Report is what a fault run found.
type Report struct {
	Fault  string
	Faults int            // faults injected
	Ops    int            // calls that finished
	By     map[string]int // calls by result
	Keys   int

	// Duplicates counts keys whose fn ran to more than one committed
	// effect. For TxManager the target is zero. For Manager, Explained
	// counts those where a run's outcome was provably lost (its worker was
	// killed after fn's own commit, its caller got ErrNotRecorded or
	// ErrLeaseLost, or fn's write reported an error although it
	// committed): the window Manager documents and TxManager closes.
	Duplicates map[string]int
	Explained  int
	// Lost counts calls that were answered with a value other than the
	// key's recorded outcome.
	Lost int
	// Stuck counts keys still claimed once the faults stopped that a call
	// could not take over or replay within three leases.
	Stuck int
	// Unavailable is the longest a key left claimed by the faults took to
	// answer a call after they stopped.
	Unavailable time.Duration
	// Linearizable reports porcupine's verdict on the calls' histories
	// against a sequential model of one key.
	Linearizable bool
	Problems     []string
}

// OK reports whether the run met every target.
func (r *Report) OK() bool {
	return r.Duplicates["tx"] == 0 && r.Duplicates["do"] == r.Explained && r.Lost == 0 && r.Stuck == 0 && r.Linearizable
}

// Print writes the report as a table row and its problems.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d (%d explained) | %d | %d | %v | %v |\n",
		r.Fault, r.Ops, r.Faults, r.Keys, r.Duplicates["tx"], r.Duplicates["do"], r.Explained, r.Lost, r.Stuck,
		r.Unavailable.Round(time.Millisecond), r.Linearizable)
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  -", p)
	}
}

// ReportHeader is the header of Print's table.
const ReportHeader = "| fault | calls | faults | keys | TxManager duplicates | Manager duplicates | lost outcomes | stuck keys | longest unavailable | linearizable |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"

type keyID struct{ ns, key string }

type record struct {
	state idempotency.State
	value string
}

func (r *runner) check(ctx context.Context) (*Report, error) {
	rep := &Report{Fault: r.cfg.Fault, Faults: r.faults, By: map[string]int{}, Duplicates: map[string]int{}}
	records := map[keyID]record{}
	rows, err := r.db.QueryxContext(ctx, "SELECT namespace, idem_key, state, payload FROM "+r.table)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id      keyID
			state   idempotency.State
			payload []byte
		)
		if err := rows.Scan(&id.ns, &id.key, &state, &payload); err != nil {
			rows.Close()
			return nil, err
		}
		rec := record{state: state}
		if state == idempotency.StateCompleted {
			_ = json.Unmarshal(payload, &rec.value)
		}
		records[id] = rec
	}
	rows.Close()
	ledger := map[keyID][]string{}
	lrows, err := r.db.QueryxContext(ctx, "SELECT ns, k, run FROM "+r.ledger)
	if err != nil {
		return nil, err
	}
	for lrows.Next() {
		var id keyID
		var run string
		if err := lrows.Scan(&id.ns, &id.key, &run); err != nil {
			lrows.Close()
			return nil, err
		}
		ledger[id] = append(ledger[id], run)
	}
	lrows.Close()
	events := map[keyID][]Event{}
	for _, ev := range r.events {
		rep.By[ev.Result]++
		if ev.Result != ResultEffectUnknown {
			rep.Ops++
		}
		id := keyID{ev.NS, ev.Key}
		events[id] = append(events[id], ev)
	}

	keys := map[keyID]bool{}
	for id := range records {
		keys[id] = true
	}
	for id := range ledger {
		keys[id] = true
	}
	for id := range events {
		keys[id] = true
	}
	rep.Keys = len(keys)
	problem := func(format string, args ...any) {
		if len(rep.Problems) < 20 {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}
	for id := range keys {
		rec, recorded := records[id]
		runs := ledger[id]
		completed := recorded && rec.state == idempotency.StateCompleted
		switch id.ns {
		case "tx":
			// One commit: an outcome and exactly its one effect, or
			// neither.
			if completed && (len(runs) != 1 || runs[0] != rec.value) || !completed && len(runs) != 0 {
				rep.Duplicates["tx"]++
				problem("TxManager key %s: outcome %q (recorded %v), effects %q", id.key, rec.value, completed, runs)
			}
			// A TxManager call that says its outcome was not recorded
			// (ErrLeaseLost: rolled back) must not have committed it.
			for _, ev := range events[id] {
				if (ev.Result == ResultLeaseLost || ev.Result == ResultNotRecorded) && ev.Value != "" && slices.Contains(runs, ev.Value) {
					rep.Lost++
					problem("TxManager key %s: a caller was told %s, but its run %q committed", id.key, ev.Result, ev.Value)
				}
			}
		case "do":
			if completed && !slices.Contains(runs, rec.value) {
				rep.Lost++
				problem("Manager key %s: outcome %q recorded without its effect (effects %q)", id.key, rec.value, runs)
			}
			if len(runs) > 1 {
				rep.Duplicates["do"]++
				if r.explained(events[id], runs, rec.value) {
					rep.Explained++
				} else {
					problem("Manager key %s: outcome %q, effects %q, with no lost outcome to explain them", id.key, rec.value, runs)
				}
			}
		}
		for _, ev := range events[id] {
			if (ev.Result == ResultRan || ev.Result == ResultReplayed) && (!completed || ev.Value != rec.value) {
				rep.Lost++
				problem("%s key %s: a caller was answered %q (%s) but the recorded outcome is %q", id.ns, id.key, ev.Value, ev.Result, rec.value)
			}
		}
		if recorded && rec.state == idempotency.StateProcessing {
			took, err := r.recover(ctx, id.ns, id.key)
			rep.Unavailable = max(rep.Unavailable, took)
			if err != nil {
				rep.Stuck++
				problem("%s key %s still claimed after the faults: %v", id.ns, id.key, err)
			}
		}
	}
	rep.Linearizable = r.linearizable(ledger)
	if !rep.Linearizable {
		problem("the histories are not linearizable against the model of one key")
	}
	return rep, nil
}

// explained reports whether every effect of a Manager key beyond its
// recorded outcome's comes from a run whose outcome was provably lost: its
// caller got ErrNotRecorded or ErrLeaseLost with that run's value, fn's own
// write reported an error although it may have committed, or its worker
// was killed before the run answered anyone.
func (r *runner) explained(evs []Event, runs []string, recorded string) bool {
	lost, answered := map[string]bool{}, map[string]bool{}
	for _, ev := range evs {
		switch ev.Result {
		case ResultNotRecorded, ResultLeaseLost, ResultEffectUnknown:
			lost[ev.Value] = true
		case ResultRan, ResultReplayed:
			answered[ev.Value] = true
		}
	}
	for _, run := range runs {
		if run == recorded || lost[run] {
			continue
		}
		var worker int
		if _, err := fmt.Sscanf(run, "w%d-", &worker); err == nil && r.killed[worker] && !answered[run] {
			continue
		}
		return false
	}
	return true
}

// answer is a call's output as the model sees it.
type answer struct {
	kind  string // ResultRan, ResultReplayed, or "" for an answer without a recorded value
	value string
}

// keyModel is one key as callers see it: no outcome yet, or one value. A
// call that ran fn records its value, and only on a key without one; a
// replay returns the key's value. A run whose caller did not learn its fate
// (maybe: ErrNotRecorded, ErrLeaseLost, a lost reply, a killed worker) may
// have recorded its value all the same, so a replay may be the first to
// show it. Answers without a value say nothing.
func keyModel(maybe map[string]bool) porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			by := map[string][]porcupine.Operation{}
			var ids []string
			for _, op := range history {
				k := op.Input.(string)
				if _, ok := by[k]; !ok {
					ids = append(ids, k)
				}
				by[k] = append(by[k], op)
			}
			sort.Strings(ids)
			out := make([][]porcupine.Operation, len(ids))
			for i, k := range ids {
				out[i] = by[k]
			}
			return out
		},
		Init: func() any { return "" },
		Step: func(state, _, output any) (bool, any) {
			s, a := state.(string), output.(answer)
			switch a.kind {
			case ResultRan:
				return s == "", a.value
			case ResultReplayed:
				if s == "" && maybe[a.value] {
					return true, a.value
				}
				return s == a.value, s
			}
			return true, s
		},
		Equal: func(a, b any) bool { return a == b },
	}
}

func (r *runner) linearizable(ledger map[keyID][]string) bool {
	maybe := map[string]bool{}
	for _, ev := range r.events {
		switch ev.Result {
		case ResultNotRecorded, ResultLeaseLost, ResultEffectUnknown, ResultError:
			// TxManager's "not recorded" is a rollback: its run cannot
			// surface later (the check above reports one that does).
			if ev.Value != "" && ev.NS != "tx" {
				maybe[ev.Value] = true
			}
		}
	}
	answered := map[string]bool{}
	for _, ev := range r.events {
		if ev.Result == ResultRan {
			answered[ev.Value] = true
		}
	}
	for _, runs := range ledger {
		for _, run := range runs {
			if !answered[run] { // committed, and its caller never heard it ran
				maybe[run] = true
			}
		}
	}
	ops := make([]porcupine.Operation, 0, len(r.events))
	for _, ev := range r.events {
		if ev.Result == ResultEffectUnknown {
			continue // fn's note, not a call
		}
		out := answer{}
		if ev.Result == ResultRan || ev.Result == ResultReplayed {
			out = answer{ev.Result, ev.Value}
		}
		ops = append(ops, porcupine.Operation{
			ClientId: ev.Worker*1000 + ev.Goroutine,
			Input:    ev.NS + "/" + ev.Key,
			Call:     ev.Start,
			Output:   out,
			Return:   ev.End,
		})
	}
	return porcupine.CheckOperations(keyModel(maybe), ops)
}
