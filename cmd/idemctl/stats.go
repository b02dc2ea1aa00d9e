package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/idemkit/idempotency"
)

func runStats(ctx context.Context, o *options, io stdio) error {
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	s, done, err := open(ctx, o, false, io.err)
	if err != nil {
		return err
	}
	defer done()
	sr, ok := s.(idempotency.StatsReader)
	if !ok {
		return fmt.Errorf("the %s store cannot count its records", o.dialect)
	}
	st, err := sr.Stats(ctx)
	if err != nil && !st.Partial {
		return err
	}
	if o.set["namespace"] {
		var kept []idempotency.StatsGroup
		for _, g := range st.Groups {
			if g.Namespace == o.namespace {
				kept = append(kept, g)
			}
		}
		st.Groups = kept
	}
	e, expiring := s.(idempotency.ExpiringStore)
	expiring = expiring && e.ExpiresRecords()
	if o.json {
		if werr := writeJSON(io.out, newStatsJSON(st, expiring)); werr != nil {
			return werr
		}
	} else {
		printStats(io.out, o, st, expiring)
	}
	if err != nil {
		return fmt.Errorf("the counts are partial (-timeout %v): %w", o.timeout, err)
	}
	return nil
}

func printStats(w io.Writer, o *options, st idempotency.Stats, expiring bool) {
	fmt.Fprintf(w, "store clock  %s\n", stamp(st.Now))
	if st.Partial {
		fmt.Fprintln(w, "PARTIAL: counting stopped early; the numbers below cover part of the records")
	}
	if len(st.Groups) == 0 {
		fmt.Fprintln(w, "no live records")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMESPACE\tSTATE\tRECORDS\tLEASE RAN OUT")
		for _, g := range st.Groups {
			lapsed := "-"
			if g.State == idempotency.StateProcessing {
				lapsed = fmt.Sprint(g.Lapsed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", show(g.Namespace), g.State, g.Records, lapsed)
		}
		fmt.Fprintf(tw, "total\t\t%d\n", st.Total())
		tw.Flush()
	}
	all := ""
	if o.set["namespace"] {
		all = " (all namespaces)"
	}
	switch {
	case expiring:
		fmt.Fprintf(w, "expired: none left: %s deletes expired records itself\n", o.dialect)
	case st.Expired == 0:
		fmt.Fprintf(w, "expired, not yet deleted%s: none\n", all)
	default:
		fmt.Fprintf(w, "expired, not yet deleted%s: %d, the oldest expired at %s (%s): how far behind the cleaner is\n",
			all, st.Expired, stamp(st.OldestExpired), ago(st.OldestExpired, st.Now))
	}
}

// statsJSON is stats' -json output.
type statsJSON struct {
	Now     string      `json:"now"`
	Groups  []groupJSON `json:"groups"`
	Total   int64       `json:"total"`
	Expired int64       `json:"expired"`
	// OldestExpired and CleanerBehind are absent when nothing is expired.
	OldestExpired string  `json:"oldest_expired,omitempty"`
	CleanerBehind float64 `json:"cleaner_behind_seconds,omitempty"`
	ExpiresItself bool    `json:"expires_itself"`
	Partial       bool    `json:"partial"`
}

type groupJSON struct {
	Namespace string `json:"namespace"`
	State     string `json:"state"`
	Records   int64  `json:"records"`
	Lapsed    int64  `json:"lapsed"`
}

func newStatsJSON(st idempotency.Stats, expiring bool) statsJSON {
	j := statsJSON{Now: stampJSON(st.Now), Groups: []groupJSON{}, Total: st.Total(), Expired: st.Expired,
		OldestExpired: stampJSON(st.OldestExpired), ExpiresItself: expiring, Partial: st.Partial}
	if !st.OldestExpired.IsZero() {
		j.CleanerBehind = st.Now.Sub(st.OldestExpired).Seconds()
	}
	for _, g := range st.Groups {
		j.Groups = append(j.Groups, groupJSON{Namespace: g.Namespace, State: g.State.String(), Records: g.Records, Lapsed: g.Lapsed})
	}
	return j
}
